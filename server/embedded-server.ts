/**
 * The embedded Temporal dev server (`temporal server start-dev` with a SQLite file in the arlo home),
 * and `connectTemporal`, which every CLI command uses to get a connection: to `TEMPORAL_ADDRESS`
 * when set, else to the local server, started in the background on first use.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import {
  closeSync,
  createWriteStream,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { connect as netConnect } from 'node:net';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection, type ConnectionOptions } from '@temporalio/client';
import { arloHome } from './arlo-home.ts';
import { ensureSearchAttributes, searchAttributeCliArgs } from './search-attributes.ts';
import { findTemporalBinary } from './temporal-binary.ts';
import { UserError } from './user-error.ts';

export const DEFAULT_TEMPORAL_PORT = 7233;
export const EMBEDDED_HOST = '127.0.0.1';
export const DEFAULT_NAMESPACE = 'default';
const DEFAULT_START_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 10_000;

// ---------------------------------------------------------------------------------------------
// Paths and small helpers
// ---------------------------------------------------------------------------------------------

export interface EmbeddedServerPaths {
  dbPath: string;
  logPath: string;
  pidPath: string;
  lockPath: string;
}

export function embeddedServerPaths(home: string): EmbeddedServerPaths {
  const h = resolve(home);
  return {
    dbPath: join(h, 'temporal.db'),
    logPath: join(h, 'temporal.log'),
    pidPath: join(h, 'temporal.pid'),
    lockPath: join(h, 'temporal.start.lock'),
  };
}

/** Ports of the local server: `ARLO_TEMPORAL_PORT` (7233) and `ARLO_TEMPORAL_UI_PORT` (gRPC port + 1000). */
export function embeddedPorts(env: NodeJS.ProcessEnv = process.env): { port: number; uiPort: number } {
  const port = parsePort(env.ARLO_TEMPORAL_PORT, 'ARLO_TEMPORAL_PORT') ?? DEFAULT_TEMPORAL_PORT;
  const uiPort = parsePort(env.ARLO_TEMPORAL_UI_PORT, 'ARLO_TEMPORAL_UI_PORT') ?? port + 1000;
  return { port, uiPort };
}

function parsePort(value: string | undefined, name: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) {
    throw new UserError(`${name}=${value} is not a valid TCP port.`, { hint: `Set ${name} to a number from 1 to 65535.` });
  }
  return n;
}

/** A path for messages: relative to the current directory when inside it. */
function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

function splitAddress(address: string): { host: string; port: number } {
  const m = /^\[?([^\]]*?)\]?:(\d+)$/.exec(address);
  if (!m) throw new UserError(`"${address}" is not a host:port address.`);
  return { host: m[1] || '127.0.0.1', port: Number(m[2]) };
}

/** True when something accepts TCP connections at `host:port`. */
export function isListening(address: string, timeoutMs = 1000): Promise<boolean> {
  const { host, port } = splitAddress(address);
  return new Promise((done) => {
    const socket = netConnect({ host, port });
    const finish = (ok: boolean) => {
      socket.removeAllListeners();
      socket.on('error', () => undefined);
      socket.destroy();
      done(ok);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
  });
}

function readPid(pidPath: string): number | undefined {
  try {
    const pid = Number(readFileSync(pidPath, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  if (process.platform === 'linux') {
    try {
      // A zombie (exited, not yet reaped) counts as dead.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      if (state === 'Z' || state === 'X') return false;
    } catch {
      return false;
    }
  }
  return true;
}

/** True when `pid` is alive and (where we can tell) is a `temporal server start-dev` process. */
function isTemporalServerProcess(pid: number): boolean {
  if (!isAlive(pid)) return false;
  if (process.platform !== 'linux') return true;
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return argv.includes('start-dev') && argv.some((a) => a.includes('temporal'));
  } catch {
    return false;
  }
}

function tailOfFile(path: string, lines = 15): string {
  try {
    const text = readFileSync(path, 'utf8');
    return text.trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

// ---------------------------------------------------------------------------------------------
// Starting, waiting, stopping
// ---------------------------------------------------------------------------------------------

export interface StartEmbeddedServerOptions {
  /** The arlo home; the db, log and pid files go here. */
  home: string;
  /** gRPC port (default 7233). The server binds 127.0.0.1 only. */
  port?: number;
  /** Web UI port (default port + 1000), or false for no UI (`--headless`). */
  uiPort?: number | false;
  /**
   * false (default): detached background process, output to `<home>/temporal.log`, unref'd so the
   * caller can exit while the server keeps running. true: child of this process, output to the log
   * file and its log lines (until `stop()` is called) to this process's stderr.
   */
  foreground?: boolean;
  /** The `temporal` binary; default `findTemporalBinary()`. */
  binary?: string;
  /** How long to wait for the server to answer gRPC (default 30 s). */
  startTimeoutMs?: number;
  /** Aborting while waiting for the server stops it and rejects. */
  abortSignal?: AbortSignal;
}

export interface EmbeddedServer extends EmbeddedServerPaths {
  pid: number;
  /** `127.0.0.1:<port>` */
  address: string;
  port: number;
  uiPort?: number;
  uiUrl?: string;
  /** Foreground mode only: the child process. */
  child?: ChildProcess;
  /** Foreground mode only: resolves with the exit code (or signal name) when the server exits. */
  exited?: Promise<number | NodeJS.Signals | null>;
  /** Foreground mode only: stop forwarding output, SIGTERM, SIGKILL after a grace period; resolves on exit. */
  stop?: () => Promise<void>;
}

/** Arguments for `temporal` (exported for tests and `--dry-run`-style messages). */
export function embeddedServerArgs(opts: { dbPath: string; port: number; uiPort: number | false }): string[] {
  return [
    'server',
    'start-dev',
    '--db-filename',
    opts.dbPath,
    '--port',
    String(opts.port),
    ...(opts.uiPort === false ? ['--headless'] : ['--ui-port', String(opts.uiPort)]),
    '--ip',
    EMBEDDED_HOST,
    '--namespace',
    DEFAULT_NAMESPACE,
    ...searchAttributeCliArgs(),
    '--log-level',
    'warn',
  ];
}

/**
 * Starts `temporal server start-dev` on 127.0.0.1 with its db in `home`, writes `<home>/temporal.pid`
 * and waits until the server answers gRPC. Throws a UserError if the port is taken or the server
 * does not come up (the message points at the log file).
 */
export async function startEmbeddedServer(options: StartEmbeddedServerOptions): Promise<EmbeddedServer> {
  const home = resolve(options.home);
  const paths = embeddedServerPaths(home);
  const port = options.port ?? DEFAULT_TEMPORAL_PORT;
  const uiPort = options.uiPort === undefined ? port + 1000 : options.uiPort;
  const address = `${EMBEDDED_HOST}:${port}`;
  const foreground = options.foreground ?? false;
  const binary = options.binary ?? findTemporalBinary();

  if (await isListening(address)) {
    throw new UserError(`Cannot start the embedded Temporal server: something already listens on ${address}.`, {
      hint: 'Use that server (arlo connects to it automatically), stop it, or pick another port with ARLO_TEMPORAL_PORT.',
    });
  }
  const oldPid = readPid(paths.pidPath);
  if (oldPid !== undefined && isTemporalServerProcess(oldPid)) {
    throw new UserError(
      `An embedded Temporal server (pid ${oldPid}) is already running for ${displayPath(home)} but does not answer at ${address}.`,
      { hint: `Stop it with \`arlo server stop\` (or kill ${oldPid}); it may be using another port.` },
    );
  }

  // Keep old logs unless the file got big.
  let logFlags = 'a';
  try {
    if (statSync(paths.logPath).size > 10 * 1024 * 1024) logFlags = 'w';
  } catch {
    /* no log yet */
  }
  const logFd = openSync(paths.logPath, logFlags);
  writeSync(logFd, `--- arlo: ${new Date().toISOString()} starting ${binary} (${foreground ? 'foreground' : 'background'}) on ${address}\n`);

  const args = embeddedServerArgs({ dbPath: paths.dbPath, port, uiPort });
  let child: ChildProcess;
  try {
    child = foreground
      ? spawn(binary, args, { cwd: home, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
      : spawn(binary, args, { cwd: home, stdio: ['ignore', logFd, logFd], detached: true });
  } finally {
    if (!foreground) closeSync(logFd);
  }

  let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let spawnError: Error | undefined;
  const exited = new Promise<number | NodeJS.Signals | null>((done) => {
    child.once('error', (err) => {
      spawnError = err;
      exitInfo ??= { code: null, signal: null };
      done(null);
    });
    child.once('exit', (code, signal) => {
      exitInfo = { code, signal };
      done(code ?? signal);
    });
  });

  let forwarding = foreground;
  if (foreground) {
    // Both streams go to the log; the server's own log lines (stderr) also to our stderr. Its stdout
    // is only the start-up banner, which runServerForeground replaces with accurate addresses.
    const log = createWriteStream('', { fd: logFd });
    child.stdout!.on('data', (chunk: Buffer) => log.write(chunk));
    child.stderr!.on('data', (chunk: Buffer) => {
      log.write(chunk);
      if (forwarding) process.stderr.write(chunk);
    });
    void exited.then(() => log.end());
  }

  if (child.pid === undefined) {
    await exited;
    throw new UserError(`Could not run the Temporal CLI at ${binary}: ${spawnError?.message ?? 'spawn failed'}.`, {
      hint: 'Run `npm run setup`, or set TEMPORAL_CLI_PATH to a working `temporal` binary.',
    });
  }
  const pid = child.pid;
  writeFileSync(paths.pidPath, `${pid}\n`);
  if (!foreground) child.unref();

  const stop = async () => {
    forwarding = false;
    if (exitInfo) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
    if (readPid(paths.pidPath) === pid) rmSync(paths.pidPath, { force: true });
  };

  try {
    await waitForTemporal(address, {
      timeoutMs: options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS,
      hasExited: () => exitInfo !== undefined || options.abortSignal?.aborted === true,
    });
  } catch (err) {
    if (!exitInfo) await stop();
    if (readPid(paths.pidPath) === pid) rmSync(paths.pidPath, { force: true });
    if (options.abortSignal?.aborted) {
      throw new UserError('Interrupted while the Temporal server was starting; it was stopped.', { cause: err });
    }
    const why = exitInfo
      ? `it exited (${exitInfo.signal ? `signal ${exitInfo.signal}` : `code ${exitInfo.code}`})`
      : `it did not answer within ${Math.round((options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS) / 1000)} s`;
    const tail = tailOfFile(paths.logPath);
    throw new UserError(
      `The embedded Temporal server failed to start on ${address}: ${why}. See ${paths.logPath}` +
        (tail ? `; its last lines:\n${tail}` : '.'),
      { hint: 'Check the log; if a port is taken, set ARLO_TEMPORAL_PORT / ARLO_TEMPORAL_UI_PORT.', cause: err },
    );
  }

  const server: EmbeddedServer = {
    ...paths,
    pid,
    address,
    port,
    uiPort: uiPort === false ? undefined : uiPort,
    uiUrl: uiPort === false ? undefined : `http://${EMBEDDED_HOST}:${uiPort}`,
  };
  if (foreground) Object.assign(server, { child, exited, stop });
  return server;
}

/**
 * Polls until a Temporal server at `address` answers gRPC and its namespace exists. The server
 * accepts TCP a moment before it serves requests, so a TCP check alone is not enough.
 */
export async function waitForTemporal(
  address: string,
  options: { timeoutMs?: number; namespace?: string; hasExited?: () => boolean } = {},
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? DEFAULT_START_TIMEOUT_MS);
  const namespace = options.namespace ?? DEFAULT_NAMESPACE;
  let lastError: unknown = new Error('not listening');
  while (Date.now() < deadline) {
    if (options.hasExited?.()) throw new Error('the server process exited');
    if (await isListening(address, 500)) {
      let connection: Connection | undefined;
      try {
        connection = await Connection.connect({ address, connectTimeout: Math.max(200, Math.min(2000, deadline - Date.now())) });
        await connection.workflowService.describeNamespace({ namespace });
        return;
      } catch (err) {
        lastError = err;
      } finally {
        await connection?.close().catch(() => undefined);
      }
    }
    await sleep(200);
  }
  throw lastError;
}

/**
 * Stops the background server recorded in `<home>/temporal.pid`: SIGTERM, wait, SIGKILL fallback.
 * Returns true if a server was running. A stale pid file is removed.
 */
export async function stopEmbeddedServer(home: string, options: { timeoutMs?: number } = {}): Promise<boolean> {
  const { pidPath } = embeddedServerPaths(home);
  const pid = readPid(pidPath);
  if (pid === undefined) return false;
  if (!isTemporalServerProcess(pid)) {
    rmSync(pidPath, { force: true });
    return false;
  }
  const waitDead = async (ms: number) => {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      if (!isAlive(pid)) return true;
      await sleep(100);
    }
    return !isAlive(pid);
  };
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    /* already gone */
  }
  if (!(await waitDead(options.timeoutMs ?? STOP_GRACE_MS))) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
    await waitDead(5000);
  }
  if (readPid(pidPath) === pid) rmSync(pidPath, { force: true });
  return true;
}

export interface EmbeddedServerStatus {
  address: string;
  listening: boolean;
  /** pid of the server arlo started for this home, if it is running. */
  pid?: number;
  dbPath: string;
  logPath: string;
  uiUrl: string;
}

/** What is running for `home` (for `arlo server status`). */
export async function embeddedServerStatus(
  home: string = arloHome(),
  ports: { port: number; uiPort: number } = embeddedPorts(),
): Promise<EmbeddedServerStatus> {
  const paths = embeddedServerPaths(home);
  const address = `${EMBEDDED_HOST}:${ports.port}`;
  const pid = readPid(paths.pidPath);
  return {
    address,
    listening: await isListening(address),
    pid: pid !== undefined && isTemporalServerProcess(pid) ? pid : undefined,
    dbPath: paths.dbPath,
    logPath: paths.logPath,
    uiUrl: `http://${EMBEDDED_HOST}:${ports.uiPort}`,
  };
}

// ---------------------------------------------------------------------------------------------
// Concurrent starters (e.g. `arlo worker` and `arlo run` launched together)
// ---------------------------------------------------------------------------------------------

/** Runs `fn` holding `<home>/temporal.start.lock`; returns undefined if another live process holds it. */
async function withStartLock<T>(lockPath: string, fn: () => Promise<T>): Promise<T | undefined> {
  let fd: number;
  try {
    fd = openSync(lockPath, 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const holder = readPid(lockPath);
    let age = 0;
    try {
      age = Date.now() - statSync(lockPath).mtimeMs;
    } catch {
      /* vanished */
    }
    if (holder !== undefined && isAlive(holder) && age < 2 * DEFAULT_START_TIMEOUT_MS) return undefined;
    rmSync(lockPath, { force: true });
    return withStartLock(lockPath, fn);
  }
  try {
    writeSync(fd, `${process.pid}\n`);
    closeSync(fd);
    return await fn();
  } finally {
    rmSync(lockPath, { force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// connectTemporal
// ---------------------------------------------------------------------------------------------

export interface ConnectTemporalOptions {
  /** Start the embedded server when nothing listens (default true). Ignored with TEMPORAL_ADDRESS. */
  start?: boolean;
  env?: NodeJS.ProcessEnv;
  /** gRPC connect timeout (default 10 s). */
  connectTimeoutMs?: number;
  /** Do not print the "started embedded Temporal" line. */
  quiet?: boolean;
  /**
   * How long to wait for a local server that accepts TCP to answer gRPC (default 30 s when a server
   * is being started, by this or another process; 10 s when one was already listening).
   */
  waitMs?: number;
}

export interface TemporalConnection {
  connection: Connection;
  address: string;
  namespace: string;
  /** True when this is the local server (not TEMPORAL_ADDRESS). */
  embedded: boolean;
  /** True when this call started the embedded server. */
  started: boolean;
  uiUrl?: string;
}

/** TLS / API-key options from the Temporal CLI's environment variables (also usable for a NativeConnection). */
export function remoteConnectionOptions(env: NodeJS.ProcessEnv): Partial<ConnectionOptions> {
  const opts: Partial<ConnectionOptions> = {};
  const read = (name: string) => {
    const path = env[name];
    if (!path) return undefined;
    try {
      return readFileSync(path);
    } catch (err) {
      throw new UserError(`${name}=${path} cannot be read: ${(err as Error).message}.`);
    }
  };
  const crt = read('TEMPORAL_TLS_CLIENT_CERT_PATH');
  const key = read('TEMPORAL_TLS_CLIENT_KEY_PATH');
  const ca = read('TEMPORAL_TLS_SERVER_CA_CERT_PATH');
  const serverNameOverride = env.TEMPORAL_TLS_SERVER_NAME || undefined;
  if (crt || key || ca || serverNameOverride) {
    if (!!crt !== !!key) {
      throw new UserError('Set both TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH, or neither.');
    }
    opts.tls = {
      ...(crt && key ? { clientCertPair: { crt, key } } : {}),
      ...(ca ? { serverRootCACertificate: ca } : {}),
      ...(serverNameOverride ? { serverNameOverride } : {}),
    };
  } else if (env.TEMPORAL_API_KEY || /^(1|true)$/i.test(env.TEMPORAL_TLS ?? '')) {
    opts.tls = true;
  }
  if (env.TEMPORAL_API_KEY) opts.apiKey = env.TEMPORAL_API_KEY;
  return opts;
}

/**
 * A connection to the Temporal server arlo should use.
 * - `TEMPORAL_ADDRESS` set: that server (namespace `TEMPORAL_NAMESPACE` ?? default; TLS/API key from
 *   TEMPORAL_API_KEY, TEMPORAL_TLS*, like the Temporal CLI); nothing is started.
 * - Otherwise 127.0.0.1:`ARLO_TEMPORAL_PORT` (7233); when nothing listens there and `start` is not
 *   false, the embedded server is started in the background with its db in the arlo home.
 * Then makes sure arlo's search attributes exist. The caller owns `connection` (close it).
 */
export async function connectTemporal(options: ConnectTemporalOptions = {}): Promise<TemporalConnection> {
  const env = options.env ?? process.env;
  const connectTimeout = options.connectTimeoutMs ?? 10_000;

  if (env.TEMPORAL_ADDRESS) {
    const address = env.TEMPORAL_ADDRESS;
    const namespace = env.TEMPORAL_NAMESPACE || DEFAULT_NAMESPACE;
    let connection: Connection;
    try {
      connection = await Connection.connect({ address, connectTimeout, ...remoteConnectionOptions(env) });
    } catch (err) {
      if (err instanceof UserError) throw err;
      throw new UserError(`Cannot reach the Temporal server at ${address} (TEMPORAL_ADDRESS): ${(err as Error).message}`, {
        hint: 'Check the address and credentials (TEMPORAL_API_KEY, TEMPORAL_TLS_*), or unset TEMPORAL_ADDRESS to use the embedded server.',
        cause: err,
      });
    }
    await ensureSearchAttributes(connection, namespace);
    return { connection, address, namespace, embedded: false, started: false };
  }

  const { port, uiPort } = embeddedPorts(env);
  const address = `${EMBEDDED_HOST}:${port}`;
  const namespace = DEFAULT_NAMESPACE;
  const uiUrl = `http://${EMBEDDED_HOST}:${uiPort}`;
  let started = false;
  let waitMs = options.waitMs ?? 10_000;

  if (!(await isListening(address))) {
    waitMs = options.waitMs ?? DEFAULT_START_TIMEOUT_MS;
    if (options.start === false) {
      throw new UserError(`No Temporal server is running at ${address}.`, {
        hint: 'Start one with `arlo server`, or set TEMPORAL_ADDRESS to use another server.',
      });
    }
    const home = arloHome(env);
    const paths = embeddedServerPaths(home);
    const server = await withStartLock(paths.lockPath, async () => {
      if (await isListening(address)) return undefined; // someone else was faster
      return startEmbeddedServer({ home, port, uiPort, foreground: false, binary: findTemporalBinary({ env }) });
    });
    if (server) {
      started = true;
      if (!options.quiet) {
        process.stderr.write(
          `arlo: started embedded Temporal at ${address} (UI ${uiUrl}, db ${displayPath(paths.dbPath)})\n`,
        );
      }
    }
  }

  // Listening, but possibly still starting (another process just launched it).
  try {
    await waitForTemporal(address, { timeoutMs: waitMs });
  } catch (err) {
    throw new UserError(`Something listens on ${address}, but it does not answer as a Temporal server: ${(err as Error).message}`, {
      hint: 'Stop whatever uses that port, pick another one with ARLO_TEMPORAL_PORT, or set TEMPORAL_ADDRESS.',
      cause: err,
    });
  }
  const connection = await Connection.connect({ address, connectTimeout });
  await ensureSearchAttributes(connection, namespace);
  return { connection, address, namespace, embedded: true, started, uiUrl };
}

// ---------------------------------------------------------------------------------------------
// `arlo server` (foreground)
// ---------------------------------------------------------------------------------------------

export interface RunServerForegroundOptions {
  home?: string;
  port?: number;
  uiPort?: number | false;
  binary?: string;
  /** Where the banner goes (default stdout). */
  out?: NodeJS.WritableStream;
}

/**
 * Runs the embedded server in the foreground until SIGINT/SIGTERM (or until it dies). Prints the
 * gRPC address, Web UI URL and db path. Resolves with the exit code for the CLI:
 * 0 after a requested stop or when a Temporal server already listens on the port, 1 otherwise.
 */
export async function runServerForeground(options: RunServerForegroundOptions = {}): Promise<number> {
  const out = options.out ?? process.stdout;
  const print = (line: string) => out.write(`${line}\n`);
  const home = resolve(options.home ?? arloHome());
  const envPorts = embeddedPorts();
  const port = options.port ?? envPorts.port;
  const uiPort = options.uiPort ?? (options.port !== undefined ? options.port + 1000 : envPorts.uiPort);
  const address = `${EMBEDDED_HOST}:${port}`;
  const paths = embeddedServerPaths(home);

  if (await isListening(address)) {
    const pid = readPid(paths.pidPath);
    if (pid !== undefined && isTemporalServerProcess(pid)) {
      print(`arlo: the embedded Temporal server is already running in the background at ${address} (pid ${pid}, db ${displayPath(paths.dbPath)}).`);
      print('arlo: stop it with `arlo server stop` to run it in the foreground instead.');
      return 0;
    }
    try {
      await waitForTemporal(address, { timeoutMs: 3000 });
      print(`arlo: a Temporal server is already listening at ${address}; arlo will use it.`);
      return 0;
    } catch {
      process.stderr.write(
        `arlo: ${address} is in use by something that is not a Temporal server. Stop it or choose another port with ARLO_TEMPORAL_PORT.\n`,
      );
      return 1;
    }
  }

  // Handlers first: Ctrl-C while the server starts must not orphan it.
  const interrupted = new AbortController();
  let server: EmbeddedServer | undefined;
  let stopRequested = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopRequested) {
      server?.child?.kill('SIGKILL'); // second Ctrl-C: do not wait
      return;
    }
    stopRequested = true;
    process.stderr.write(`arlo: ${signal}: stopping the Temporal server...\n`);
    interrupted.abort();
    void server?.stop?.();
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signals) process.on(s, onSignal);
  try {
    try {
      server = await startEmbeddedServer({
        home,
        port,
        uiPort,
        foreground: true,
        binary: options.binary,
        abortSignal: interrupted.signal,
      });
    } catch (err) {
      if (stopRequested) return 130;
      throw err;
    }
    if (stopRequested) void server.stop!(); // the signal came as the server became ready
    print('arlo: Temporal dev server running');
    print(`  gRPC    ${server.address}`);
    if (server.uiUrl) print(`  Web UI  ${server.uiUrl}`);
    print(`  db      ${server.dbPath}`);
    print(`  log     ${server.logPath}`);
    print('Press Ctrl-C to stop.');

    const result = await server.exited!;
    if (readPid(paths.pidPath) === server.pid) rmSync(paths.pidPath, { force: true });
    if (stopRequested) {
      print('arlo: Temporal server stopped.');
      return 0;
    }
    process.stderr.write(`arlo: the Temporal server exited unexpectedly (${result}). See ${server.logPath}.\n`);
    return 1;
  } finally {
    for (const s of signals) process.off(s, onSignal);
  }
}

