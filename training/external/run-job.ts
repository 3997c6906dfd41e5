// Runs one external training job: a fresh work folder, an allow-listed environment, an argv
// (never a shell), its own process group (so the whole tree can be killed), a time limit, capped
// output, and the JSON-lines protocol. Free of Temporal: the train activity adapts it.

import fs from 'node:fs';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import type { Spec } from '../../arch/spec.ts';
import type { ExperimentTemplate, ExternalJob } from '../../experiments/template.ts';
import { externalProblems, resolveJobFolder, substitute } from './config.ts';
import { jobEnv } from './env.ts';
import { ExternalJobError, JobCancelled } from './failures.ts';
import { OutputCollector, parseProtocolLine, type ProgressEvent } from './output.ts';
import { planRun, runnerSettings, writePlanFiles, type RunnerPlan } from './runners.ts';
import { prepareWorkdir, type Workdir } from './workdir.ts';

export interface ExternalJobOptions {
  template: ExperimentTemplate;
  spec: Spec;
  seed: number;
  dataDir: string;
  /** The work folder to (re)create, e.g. runFolder(home, campaign, n, attempt). */
  workdir: string;
  /** Slurm job / pod name (see runners.jobName). */
  jobName: string;
  campaignId?: string | null;
  n?: number | null;
  attempt?: number;
  /** Aborting kills the job's whole process tree; the promise then rejects with JobCancelled. */
  signal?: AbortSignal;
  onProgress?: (event: ProgressEvent) => void;
  /** The worker's environment, from which the allow-listed variables are taken (default process.env). */
  sourceEnv?: NodeJS.ProcessEnv;
  /** Bytes of output kept for the record (default 8 KB). */
  tailBytes?: number;
}

export interface ExternalJobResult {
  metrics: Record<string, number | boolean | null>;
  curve: Array<Record<string, number>>;
  params: number;
  backend: string;
  /** Header (command, folder), the last output, and how the job ended: log.txt in git. */
  logTail: string;
  seconds: number;
  workdir: string;
  outputBytes: number;
}

/** Progress rows kept as the curve; beyond this, every other row is dropped (the curve thins). */
const MAX_CURVE_ROWS = 500;
/** How often a cluster job's output file is read. */
const FILE_POLL_MS = 300;
/** After the main process ends, how long its output streams may take to close. */
const STREAM_DRAIN_MS = 3000;
/** A cluster-side cancel (scancel, kubectl delete) gets this long. */
const CANCEL_TIMEOUT_MS = 30_000;
/** After the final SIGKILL, how long to wait for the group's processes to be gone. */
const GROUP_EXIT_WAIT_MS = 3000;

const SIGNAL_NUMBERS: Record<number, string> = { 6: 'SIGABRT', 7: 'SIGBUS', 9: 'SIGKILL', 11: 'SIGSEGV', 15: 'SIGTERM' };

// Process groups of running jobs: if the worker exits, they are killed with it.
const liveGroups = new Set<number>();
let exitHookInstalled = false;
function trackGroup(pid: number): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const g of liveGroups) killGroup(g, 'SIGKILL');
    });
  }
  liveGroups.add(pid);
}

/** Sends `signal` to every process in the group led by `pid`. False if none is left. */
export function killGroup(pid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false; // ESRCH: the group is gone
  }
}

export async function runExternalJob(opts: ExternalJobOptions): Promise<ExternalJobResult> {
  const { template } = opts;
  const ext = template.external;
  if (!ext) throw new ExternalJobError('ExternalConfigError', `template ${template.name} has no external block`);
  const problems = externalProblems(ext);
  if (problems.length > 0) throw new ExternalJobError('ExternalConfigError', `template ${template.name}: ${problems.join('; ')}`);
  if (opts.signal?.aborted) throw new JobCancelled();

  const dataDir = path.resolve(opts.dataDir);
  let work: Workdir;
  let plan: RunnerPlan;
  try {
    work = prepareWorkdir(resolveJobFolder(ext), opts.workdir, {
      spec: opts.spec,
      seed: opts.seed,
      fidelity: null,
      dataDir,
      metric: template.metric,
      numClasses: template.numClasses,
      template: template.name,
      campaignId: opts.campaignId ?? null,
      n: opts.n ?? null,
      attempt: opts.attempt ?? 1,
    });
    const argv = substitute(ext.command, { '{spec}': work.spec, '{out}': work.out, '{workdir}': work.dir, '{data}': dataDir });
    const env = jobEnv(ext.env, opts.sourceEnv ?? process.env, {
      ARLO_JOB_SPEC: work.spec,
      ARLO_JOB_OUT: work.out,
      ARLO_JOB_WORKDIR: work.dir,
      ARLO_DATA_DIR: dataDir,
    });
    plan = planRun({ settings: runnerSettings(ext, opts.sourceEnv ?? process.env), argv, workdir: work.dir, jobName: opts.jobName, env, timeoutSeconds: ext.timeoutSeconds });
    writePlanFiles(plan);
  } catch (err) {
    if (err instanceof ExternalJobError) throw err;
    throw new ExternalJobError('ExternalConfigError', `template ${template.name}: ${(err as Error).message}`);
  }

  const curve: Array<Record<string, number>> = [];
  let curveStride = 1;
  let progressCount = 0;
  const collector = new OutputCollector({
    logFile: work.log,
    maxOutputBytes: ext.maxOutputBytes,
    tailBytes: opts.tailBytes,
    onProgress: (event) => {
      progressCount++;
      if (progressCount % curveStride === 0) {
        const row: Record<string, number> = {};
        for (const [k, v] of Object.entries(event)) if (typeof v === 'number' && Number.isFinite(v)) row[k] = v;
        if (Object.keys(row).length > 0) curve.push(row);
        if (curve.length >= 2 * MAX_CURVE_ROWS) {
          for (let i = curve.length - 1; i >= 0; i--) if (i % 2 === 1) curve.splice(i, 1);
          curveStride *= 2;
        }
      }
      opts.onProgress?.(event);
    },
  });

  const header =
    `[arlo] $ ${plan.argv.map(quoteForLog).join(' ')}\n` +
    `[arlo] runner ${plan.kind}, work folder ${work.dir}, timeout ${ext.timeoutSeconds} s\n`;
  const started = Date.now();
  const outcome = await spawnAndWait(plan, work, ext, collector, opts.signal);
  const seconds = (Date.now() - started) / 1000;
  collector.finish();

  const logTail = (footer: string): string => `${header}${collector.tailText()}${collector.tailText().endsWith('\n') ? '' : '\n'}[arlo] ${footer}\n`;
  const ended = describeEnd(outcome, seconds);

  if (outcome.cancelled) throw new JobCancelled(logTail(`cancelled after ${seconds.toFixed(1)} s; the process tree was killed`));
  if (outcome.startError) {
    throw new ExternalJobError(
      'JobStartFailed',
      `could not start ${JSON.stringify(plan.argv[0])}: ${outcome.startError}; check external.command (and PATH) in template ${template.name}`,
      logTail(`could not start: ${outcome.startError}`),
    );
  }
  if (outcome.timedOut) {
    throw new ExternalJobError(
      'JobTimeout',
      `the job ran longer than its ${ext.timeoutSeconds} s limit (external.timeoutSeconds) and was killed with its child processes; ` +
        'if it was still making progress (see its log tail), raise external.timeoutSeconds in the template or train less per experiment (fewer epochs, a smaller model); if it hung, fix the job',
      logTail(ended),
    );
  }
  if (outcome.signal) {
    throw new ExternalJobError(
      'JobKilled',
      `the job was killed by ${outcome.signal}${outcome.signal === 'SIGKILL' ? ' (often: out of memory)' : ''}`,
      logTail(ended),
    );
  }
  const code = outcome.exitCode ?? -1;
  if (code > 128 && SIGNAL_NUMBERS[code - 128]) {
    const sig = SIGNAL_NUMBERS[code - 128]!;
    throw new ExternalJobError(
      'JobKilled',
      `the job ended with exit code ${code} (128 + ${sig}: a process was killed by ${sig}${sig === 'SIGKILL' ? ', often: out of memory' : ''})`,
      logTail(ended),
    );
  }
  if (code !== 0) {
    throw new ExternalJobError(
      'JobExitNonZero',
      `the job exited with code ${code}; its log tail (log.txt in the experiment's record) shows why: fix the job's script in external.folder or its external.command`,
      logTail(ended),
    );
  }

  const reported = collector.result ?? readMetricsFile(work.out);
  if (!reported) {
    throw new ExternalJobError(
      'JobNoResult',
      `the job exited 0 without a result: print {"event":"result","metrics":{...}} on stdout or write out/metrics.json`,
      logTail(ended),
    );
  }
  const metricName = template.metric.name;
  const raw = reported.metrics;
  if (!(metricName in raw) || raw[metricName] === null || raw[metricName] === undefined) {
    throw new ExternalJobError(
      'JobNoResult',
      `the job's result has no ${metricName} (the template's metric); it reported ${Object.keys(raw).slice(0, 20).join(', ') || 'nothing'}: ` +
        `add "${metricName}" to the metrics of its result line`,
      logTail(ended),
    );
  }
  const metrics: Record<string, number | boolean | null> = {};
  const nonFinite: string[] = [];
  for (const [k, v] of Object.entries(raw)) {
    const value = asMetricValue(v);
    if (value === undefined) continue; // strings, objects: not metrics
    if (typeof value === 'number' && !Number.isFinite(value)) {
      nonFinite.push(`${k}=${String(value)}`);
      metrics[k] = null; // NaN and Infinity do not survive JSON payloads
    } else {
      metrics[k] = value;
    }
  }
  if (nonFinite.length > 0) {
    throw new ExternalJobError(
      'JobNonFiniteMetric',
      `the job reported non-finite metrics: ${nonFinite.slice(0, 20).join(', ')}; the training probably diverged ` +
        '(a learning rate too high for this model) or the job computed a metric from no data (0 / 0); see its log tail',
      logTail(ended),
    );
  }
  if (typeof metrics[metricName] !== 'number') {
    const shown = JSON.stringify(raw[metricName]) ?? String(raw[metricName]);
    throw new ExternalJobError(
      'JobNoResult',
      `the job reported ${metricName} as ${shown.length > 80 ? `${shown.slice(0, 80)}…` : shown}, not a number; write it as a JSON number, e.g. "${metricName}": 0.93`,
      logTail(ended),
    );
  }
  const params = typeof reported.params === 'number' && Number.isFinite(reported.params) ? reported.params : 0;
  const backend = `${typeof reported.backend === 'string' ? `${reported.backend.slice(0, 80)} ` : ''}(external, ${plan.kind})`;
  return {
    metrics,
    curve,
    params,
    backend,
    logTail: logTail(ended),
    seconds,
    workdir: work.dir,
    outputBytes: collector.outputBytes,
  };
}

interface SpawnOutcome {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  cancelled: boolean;
  startError: string | null;
}

async function spawnAndWait(
  plan: RunnerPlan,
  work: Workdir,
  ext: ExternalJob,
  collector: OutputCollector,
  signal: AbortSignal | undefined,
): Promise<SpawnOutcome> {
  const outcome: SpawnOutcome = { exitCode: null, signal: null, timedOut: false, cancelled: false, startError: null };
  const options = {
    cwd: work.dir,
    env: plan.env,
    extendEnv: false,
    // Its own process group (setsid): killing -pid reaches every process the job started.
    detached: true,
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
    // Stream, never buffer: output is consumed chunk by chunk below.
    buffer: false,
    reject: false,
    // arlo kills the whole group itself (execa would kill the main process only).
    cleanup: false,
    forceKillAfterDelay: false,
  } as const;
  let sub: ResultPromise<typeof options>;
  try {
    sub = execa(plan.argv[0]!, plan.argv.slice(1), options);
  } catch (err) {
    outcome.startError = (err as Error).message;
    return outcome;
  }
  void sub.catch(() => undefined);
  const pid = sub.pid;
  if (pid !== undefined) trackGroup(pid);

  const parseStdout = plan.outputFile === null;
  sub.stdout?.on('data', (chunk: Buffer) => collector.push(chunk, 'stdout', parseStdout));
  sub.stderr?.on('data', (chunk: Buffer) => collector.push(chunk, 'stderr', false));
  const follower = plan.outputFile ? new FileFollower(plan.outputFile, collector) : null;

  let graceTimer: NodeJS.Timeout | undefined;
  let cancelRun: Promise<void> | null = null;
  const stop = (why: 'timeout' | 'cancel'): void => {
    if (outcome.timedOut || outcome.cancelled) return;
    if (why === 'timeout') outcome.timedOut = true;
    else outcome.cancelled = true;
    collector.note(
      why === 'timeout' ? `time limit of ${ext.timeoutSeconds} s reached: stopping the job` : 'cancelled: stopping the job',
    );
    if (pid !== undefined) {
      killGroup(pid, 'SIGTERM');
      graceTimer = setTimeout(() => killGroup(pid, 'SIGKILL'), (ext.killGraceSeconds ?? 5) * 1000);
    }
    if (plan.cancel) cancelRun = runCancel(plan, collector);
  };
  const timer = setTimeout(() => stop('timeout'), ext.timeoutSeconds * 1000);
  const onAbort = (): void => stop('cancel');
  signal?.addEventListener('abort', onAbort, { once: true });
  if (signal?.aborted) onAbort();

  const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null } | { error: string }>((resolve) => {
    sub.once('exit', (code, sig) => resolve({ code, signal: sig }));
    sub.once('error', (error) => resolve({ error: error.message }));
    // If execa could not spawn at all, its promise settles without events.
    sub.then(
      (r) => {
        if (r.exitCode === undefined && r.signal === undefined) resolve({ error: r.originalMessage || r.shortMessage || 'spawn failed' });
        else resolve({ code: r.exitCode ?? null, signal: (r.signal as NodeJS.Signals | undefined) ?? null });
      },
      (err: Error) => resolve({ error: err.message }),
    );
  });
  clearTimeout(timer);
  signal?.removeEventListener('abort', onAbort);

  if ('error' in exit) {
    outcome.startError = exit.error;
  } else {
    outcome.exitCode = exit.code;
    outcome.signal = exit.signal;
  }
  // Whatever the job left running in its group dies with it: no orphans. SIGKILL is delivered
  // asynchronously; wait (briefly) until no member of the group is still running.
  if (pid !== undefined) {
    killGroup(pid, 'SIGKILL');
    await groupGone(pid, GROUP_EXIT_WAIT_MS);
    liveGroups.delete(pid);
  }
  if (graceTimer) clearTimeout(graceTimer);
  // Let the pipes drain (they close once every holder is gone), then stop reading.
  await Promise.race([sub.then(() => undefined, () => undefined), sleep(STREAM_DRAIN_MS)]);
  sub.stdout?.destroy();
  sub.stderr?.destroy();
  if (follower) await follower.close();
  if (cancelRun) await cancelRun;
  return outcome;
}

/** Running (non-zombie) processes of process group `pgid`, from /proc (Linux); null elsewhere. */
export function groupMembers(pgid: number): number[] | null {
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return null;
  }
  const members: number[] = [];
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // "<pid> (<comm>) <state> <ppid> <pgrp> ..." (comm may contain spaces and parentheses)
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid && fields[0] !== 'Z' && fields[0] !== 'X') members.push(Number(name));
  }
  return members;
}

/** Waits until every process of the group has died (zombies count as dead), at most `ms`. */
async function groupGone(pgid: number, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (!killGroup(pgid, 0)) return; // no process (not even a zombie) left
    const members = groupMembers(pgid);
    if (members === null || members.length === 0 || Date.now() > deadline) return;
    await sleep(20);
  }
}

/** Stops the job on the cluster (scancel / kubectl delete), bounded in time; output goes to the log. */
async function runCancel(plan: RunnerPlan, collector: OutputCollector): Promise<void> {
  const [cmd, ...args] = plan.cancel!;
  collector.note(`$ ${plan.cancel!.map(quoteForLog).join(' ')}`);
  try {
    const r = await execa(cmd!, args, {
      env: plan.env,
      extendEnv: false,
      stdin: 'ignore',
      reject: false,
      timeout: CANCEL_TIMEOUT_MS,
      maxBuffer: 64 * 1024,
    });
    const out = `${String(r.stdout ?? '')}${String(r.stderr ?? '')}`.trim();
    collector.note(`cancel command ended with ${r.exitCode ?? r.signal ?? 'an error'}${out ? `: ${out.slice(0, 500)}` : ''}`);
  } catch (err) {
    collector.note(`cancel command failed: ${(err as Error).message}`);
  }
}

/** Follows a file a cluster writes (job.log) like `tail -f`, feeding the collector. */
class FileFollower {
  private offset = 0;
  private fd: number | null = null;
  private readonly timer: NodeJS.Timeout;
  private readonly buf = Buffer.allocUnsafe(1 << 20);

  constructor(
    private readonly file: string,
    private readonly collector: OutputCollector,
  ) {
    this.timer = setInterval(() => this.poll(), FILE_POLL_MS);
  }

  private poll(maxBytes = 16 << 20): void {
    if (this.fd === null) {
      try {
        this.fd = fs.openSync(this.file, 'r');
      } catch {
        return; // not there yet
      }
    }
    let read = 0;
    while (read < maxBytes) {
      const n = fs.readSync(this.fd, this.buf, 0, this.buf.length, this.offset);
      if (n <= 0) break;
      this.offset += n;
      read += n;
      this.collector.push(Buffer.from(this.buf.subarray(0, n)), 'file', true);
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.poll(Number.MAX_SAFE_INTEGER);
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }
}

function readMetricsFile(outDir: string): { metrics: Record<string, unknown>; params?: unknown; backend?: unknown } | null {
  const file = path.join(outDir, 'metrics.json');
  let obj: Record<string, unknown> | null;
  try {
    const text = fs.readFileSync(file, 'utf8');
    if (text.length > 1 << 20) return null;
    obj = parseProtocolLine(text.trim());
  } catch {
    return null;
  }
  if (!obj) return null;
  // Either {"metrics": {...}, "params": n} or the metrics object itself.
  if (obj.metrics && typeof obj.metrics === 'object' && !Array.isArray(obj.metrics)) {
    return { metrics: obj.metrics as Record<string, unknown>, params: obj.params, backend: obj.backend };
  }
  return { metrics: obj };
}

/** A metric value: numbers (possibly non-finite), booleans, null; undefined for anything else. */
function asMetricValue(v: unknown): number | boolean | null | undefined {
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return v;
  if (typeof v === 'string' && /^[+-]?(nan|inf|infinity)$/i.test(v.trim())) {
    return /nan/i.test(v) ? Number.NaN : v.trim().startsWith('-') ? -Infinity : Infinity;
  }
  return undefined;
}

function describeEnd(o: SpawnOutcome, seconds: number): string {
  const t = `after ${seconds.toFixed(1)} s`;
  if (o.startError) return `could not start: ${o.startError}`;
  if (o.timedOut) return `killed at the time limit ${t}`;
  if (o.signal) return `killed by ${o.signal} ${t}`;
  return `exit code ${o.exitCode} ${t}`;
}

/** Shows an argv element readably in the log (display only; nothing is ever run through a shell). */
function quoteForLog(arg: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(arg) ? arg : JSON.stringify(arg);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}
