// The embedded Temporal server, against the real `temporal` binary (no skipping: a missing binary
// fails these tests; run `npm run setup`).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Client } from '@temporalio/client';
import { defineSearchAttributeKey } from '@temporalio/common';
import { encodeSearchAttributeIndexedValueType } from '@temporalio/common/lib/search-attributes.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  connectTemporal,
  embeddedServerPaths,
  embeddedServerStatus,
  isListening,
  runServerForeground,
  startEmbeddedServer,
  stopEmbeddedServer,
} from '../server/embedded-server.ts';
import { ARLO_SEARCH_ATTRIBUTES, ensureSearchAttributes } from '../server/search-attributes.ts';
import { findTemporalBinary } from '../server/temporal-binary.ts';
import { UserError } from '../server/user-error.ts';
import { freePort } from './helpers/temporal-env.ts';

const ROOT = resolve(fileURLToPath(import.meta.url), '..', '..');
const EMBEDDED_MODULE = join(ROOT, 'server', 'embedded-server.ts');


/** A clean environment for one test server: no TEMPORAL_ADDRESS, our home and ports. */
function envFor(home: string, port: number, uiPort: number): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ARLO_HOME: home, ARLO_TEMPORAL_PORT: String(port), ARLO_TEMPORAL_UI_PORT: String(uiPort) };
  delete env.TEMPORAL_ADDRESS;
  delete env.TEMPORAL_NAMESPACE;
  return env;
}

/** Runs a .mts script (with tsx) in a child process; resolves with its exit code and output. */
function runScript(
  code: string,
  env: NodeJS.ProcessEnv,
  opts: { onStdout?: (text: string, child: ReturnType<typeof spawn>) => void; timeoutMs?: number } = {},
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; ms: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'arlo-script-'));
  const file = join(dir, 'script.mts');
  writeFileSync(file, code);
  const started = Date.now();
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', 'tsx', file], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d;
      opts.onStdout?.(stdout, child);
    });
    child.stderr!.on('data', (d: Buffer) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new Error(`script timed out after ${opts.timeoutMs ?? 30_000} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, opts.timeoutMs ?? 30_000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
      done({ code, signal, stdout, stderr, ms: Date.now() - started });
    });
  });
}

async function expectUserError(promise: Promise<unknown>): Promise<UserError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UserError);
  return err as UserError;
}

const CAMPAIGN_ID = defineSearchAttributeKey('CampaignId', 'KEYWORD');

describe('embedded Temporal server (background)', () => {
  let home: string;
  let port: number;
  let uiPort: number;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    findTemporalBinary(); // throws (fails the suite) when the CLI is missing
    home = mkdtempSync(join(tmpdir(), 'arlo-home-'));
    port = await freePort();
    uiPort = await freePort();
    env = envFor(home, port, uiPort);
  });

  afterAll(async () => {
    await stopEmbeddedServer(home);
    rmSync(home, { recursive: true, force: true });
  });

  it('connectTemporal starts it in the background once (two CLIs at the same time); the CLIs exit, the server keeps running', async () => {
    expect(await isListening(`127.0.0.1:${port}`)).toBe(false);
    const script = `import { connectTemporal } from ${JSON.stringify(EMBEDDED_MODULE)};
       const t = await connectTemporal();
       console.log(JSON.stringify({ address: t.address, embedded: t.embedded, started: t.started, uiUrl: t.uiUrl }));
       await t.connection.close();`;
    const runs = await Promise.all([runScript(script, env), runScript(script, env)]);
    for (const r of runs) {
      expect(r.code, r.stderr).toBe(0);
      expect(r.ms).toBeLessThan(20_000);
    }
    const results = runs.map((r) => JSON.parse(r.stdout));
    expect(results.map((r) => r.started).sort()).toEqual([false, true]);
    const starter = runs[results.findIndex((r) => r.started)];
    expect(results[0]).toMatchObject({ address: `127.0.0.1:${port}`, embedded: true, uiUrl: `http://127.0.0.1:${uiPort}` });
    expect(starter.stderr).toContain(
      `arlo: started embedded Temporal at 127.0.0.1:${port} (UI http://127.0.0.1:${uiPort}, db ${join(home, 'temporal.db')})`,
    );
    expect(runs.map((r) => r.stderr).join('')).not.toMatch(/warning|error/i);

    const paths = embeddedServerPaths(home);
    expect(await isListening(`127.0.0.1:${port}`)).toBe(true);
    expect(existsSync(paths.dbPath)).toBe(true);
    expect(readFileSync(paths.logPath, 'utf8')).toContain('starting');
    const status = await embeddedServerStatus(home, { port, uiPort });
    expect(status.listening).toBe(true);
    expect(status.pid).toBe(Number(readFileSync(paths.pidPath, 'utf8')));
  });

  it('registers arlo search attributes with the right types', async () => {
    const t = await connectTemporal({ env });
    try {
      const res = await t.connection.operatorService.listSearchAttributes({ namespace: 'default' });
      for (const [name, type] of Object.entries(ARLO_SEARCH_ATTRIBUTES)) {
        expect(res.customAttributes?.[name], name).toBe(
          encodeSearchAttributeIndexedValueType(type.toUpperCase() as 'KEYWORD' | 'DOUBLE' | 'INT'),
        );
      }
      // Idempotent: nothing to add, nothing to warn about.
      const again = await ensureSearchAttributes(t.connection, 'default', { warn: () => undefined });
      expect(again).toEqual({ added: [], present: Object.keys(ARLO_SEARCH_ATTRIBUTES), warnings: [] });
    } finally {
      await t.connection.close();
    }
  });

  it('connectTemporal reuses the running server instead of starting a second one', async () => {
    const pidBefore = readFileSync(embeddedServerPaths(home).pidPath, 'utf8');
    const t = await connectTemporal({ env });
    try {
      expect(t).toMatchObject({ embedded: true, started: false, namespace: 'default', address: `127.0.0.1:${port}` });
      expect(readFileSync(embeddedServerPaths(home).pidPath, 'utf8')).toBe(pidBefore);

      // A workflow (no worker needed) with a search attribute, to check persistence later.
      const client = new Client({ connection: t.connection, namespace: t.namespace });
      await client.workflow.start('arloServerTestWorkflow', {
        taskQueue: 'arlo-server-test',
        workflowId: 'persist-me',
        typedSearchAttributes: [{ key: CAMPAIGN_ID, value: 'server-test' }],
      });
    } finally {
      await t.connection.close();
    }
    await expectUserError(startEmbeddedServer({ home, port, uiPort }));
  });

  it('`arlo server` (foreground) says the background server is already running and exits 0', async () => {
    const out = new PassThrough();
    let printed = '';
    out.on('data', (d: Buffer) => (printed += d));
    const code = await runServerForeground({ home, port, uiPort, out });
    expect(code).toBe(0);
    expect(printed).toMatch(/already running in the background at 127\.0\.0\.1:\d+ \(pid \d+/);
  });

  it('stops, then restarts on the same db file with its data intact', async () => {
    const paths = embeddedServerPaths(home);
    expect(await stopEmbeddedServer(home)).toBe(true);
    expect(await isListening(`127.0.0.1:${port}`)).toBe(false);
    expect(existsSync(paths.pidPath)).toBe(false);
    expect(existsSync(paths.dbPath)).toBe(true);
    expect(await stopEmbeddedServer(home)).toBe(false); // nothing left to stop

    const err = await expectUserError(connectTemporal({ env, start: false }));
    expect(err.message).toContain('No Temporal server');
    expect(err.hint).toContain('arlo server');

    const server = await startEmbeddedServer({ home, port, uiPort });
    expect(server.address).toBe(`127.0.0.1:${port}`);
    expect(readFileSync(paths.pidPath, 'utf8').trim()).toBe(String(server.pid));
    const t = await connectTemporal({ env, start: false });
    try {
      const client = new Client({ connection: t.connection, namespace: t.namespace });
      const description = await client.workflow.getHandle('persist-me').describe();
      expect(description.status.name).toBe('RUNNING');
      expect(description.typedSearchAttributes.get(CAMPAIGN_ID)).toBe('server-test');
      // Visibility (and the custom search attribute) survived too.
      let found: string[] = [];
      for (let i = 0; i < 50 && found.length === 0; i++) {
        found = [];
        for await (const wf of client.workflow.list({ query: `CampaignId = "server-test"` })) found.push(wf.workflowId);
        if (found.length === 0) await new Promise((r) => setTimeout(r, 100));
      }
      expect(found).toEqual(['persist-me']);
      await client.workflow.getHandle('persist-me').terminate('test done');
    } finally {
      await t.connection.close();
    }
    expect(await stopEmbeddedServer(home)).toBe(true);
  });
});

describe('embedded Temporal server (foreground: `arlo server`)', () => {
  it('runs until SIGINT, prints address, UI and db, then stops the server and exits 0', async () => {
    const home = mkdtempSync(join(tmpdir(), 'arlo-home-fg-'));
    const port = await freePort();
    const uiPort = await freePort();
    let sentSigint = false;
    const r = await runScript(
      `import { runServerForeground } from ${JSON.stringify(EMBEDDED_MODULE)};
       process.exitCode = await runServerForeground();`,
      envFor(home, port, uiPort),
      {
        onStdout: (text, child) => {
          if (!sentSigint && text.includes('Press Ctrl-C')) {
            sentSigint = true;
            void isListening(`127.0.0.1:${port}`).then((up) => {
              expect(up).toBe(true);
              child.kill('SIGINT');
            });
          }
        },
      },
    );
    try {
      expect(sentSigint, r.stderr).toBe(true);
      expect(r.code, `signal ${r.signal}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(0);
      expect(r.stdout).toContain(`gRPC    127.0.0.1:${port}`);
      expect(r.stdout).toContain(`Web UI  http://127.0.0.1:${uiPort}`);
      expect(r.stdout).toContain(`db      ${join(home, 'temporal.db')}`);
      expect(r.stdout).toContain('Temporal server stopped');
      expect(await isListening(`127.0.0.1:${port}`)).toBe(false);
      expect(existsSync(embeddedServerPaths(home).pidPath)).toBe(false);
      expect(existsSync(join(home, 'temporal.db'))).toBe(true);
    } finally {
      await stopEmbeddedServer(home);
      rmSync(home, { recursive: true, force: true });
    }
  });
});

describe('errors users can hit', () => {
  let home: string;
  beforeAll(() => {
    home = mkdtempSync(join(tmpdir(), 'arlo-home-err-'));
  });
  afterAll(async () => {
    await stopEmbeddedServer(home);
    rmSync(home, { recursive: true, force: true });
  });

  it('a missing Temporal CLI is a UserError that says how to get one, and nothing is started', async () => {
    const port = await freePort();
    const env = { ...envFor(home, port, await freePort()), TEMPORAL_CLI_PATH: join(home, 'no-such-temporal') };
    const err = await expectUserError(connectTemporal({ env }));
    expect(err.message).toContain('TEMPORAL_CLI_PATH');
    expect(err.hint).toContain('npm run setup');
    expect(existsSync(embeddedServerPaths(home).pidPath)).toBe(false);
  });

  it('a server that dies at start is reported with its log file', async () => {
    const port = await freePort();
    const err = await expectUserError(startEmbeddedServer({ home, port, binary: '/bin/false', startTimeoutMs: 10_000 }));
    expect(err.message).toContain('exited (code 1)');
    expect(err.message).toContain(embeddedServerPaths(home).logPath);
    expect(existsSync(embeddedServerPaths(home).pidPath)).toBe(false);
  });

  it('TEMPORAL_ADDRESS that does not answer is a UserError, and no embedded server is started', async () => {
    const port = await freePort();
    const env = { ...envFor(home, await freePort(), await freePort()), TEMPORAL_ADDRESS: `127.0.0.1:${port}` };
    const err = await expectUserError(connectTemporal({ env, connectTimeoutMs: 1000 }));
    expect(err.message).toContain(`127.0.0.1:${port}`);
    expect(err.message).toContain('TEMPORAL_ADDRESS');
    expect(existsSync(embeddedServerPaths(home).pidPath)).toBe(false);
  });

  it('a port held by something that is not Temporal is a UserError', async () => {
    const squatter = createServer((socket) => {
      socket.on('error', () => undefined); // clients reset the connection
      socket.end('not grpc\n');
    });
    await new Promise<void>((done) => squatter.listen(0, '127.0.0.1', done));
    const port = (squatter.address() as AddressInfo).port;
    try {
      const err = await expectUserError(connectTemporal({ env: envFor(home, port, port + 1), waitMs: 1500, connectTimeoutMs: 1000 }));
      expect(err.message).toContain('does not answer as a Temporal server');
      expect(err.hint).toContain('ARLO_TEMPORAL_PORT');
      const fg = await runServerForeground({ home, port, out: new PassThrough() });
      expect(fg).toBe(1);
    } finally {
      squatter.close();
    }
  });
});
