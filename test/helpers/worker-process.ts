import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { workflowBundle } from '../../worker.ts';
import type { FaultWorkerOptions } from './fault-worker.ts';
import { waitFor } from './temporal-env.ts';

// The test side of test/helpers/fault-worker.ts: real arlo workers in child processes that a test
// can SIGKILL at a chosen moment, whose output it captures.

const ENTRY = join(import.meta.dirname, 'fault-worker.ts');
const ROOT = join(import.meta.dirname, '..', '..');

export interface WorkerProcess {
  child: ChildProcess;
  pid: number;
  /** Everything the process printed so far (stdout and stderr). */
  output(): string;
  /** Resolves when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL (kill -9), and wait until it is gone. */
  kill9(): Promise<void>;
  /** SIGTERM (graceful shutdown), SIGKILL after 10 s; resolves when gone. */
  stop(): Promise<void>;
}

/** Bundles the workflows once and writes the code where fault workers read it. */
export async function writeWorkflowBundle(dir: string): Promise<string> {
  const path = join(dir, 'workflow-bundle.js');
  if (!existsSync(path)) writeFileSync(path, (await workflowBundle()).code);
  return path;
}

/** Starts a fault worker and waits until it polls. `env` is its whole environment. */
export async function spawnFaultWorker(opts: FaultWorkerOptions, env: NodeJS.ProcessEnv = process.env): Promise<WorkerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY], {
    cwd: ROOT,
    env: { ...env, ARLO_FAULT_WORKER: JSON.stringify(opts) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString('utf8')));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let gone = false;
  void exited.then(() => (gone = true));
  const proc: WorkerProcess = {
    child,
    pid: child.pid!,
    output: () => out,
    exited,
    async kill9() {
      if (!gone) child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (gone) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
  try {
    await waitFor(async () => {
      if (gone) throw new Error('exited');
      return out.includes('fault-worker ready');
    }, 'the fault worker to poll', 120_000, 50);
  } catch (err) {
    await proc.kill9();
    throw new Error(`fault worker did not start: ${(err as Error).message}\n${out}`);
  }
  return proc;
}

/** The marker file's lines (enter/done/failed ...). */
export function markerLines(file: string): string[] {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

/** Waits until the marker file has `line` (exact) and returns how many lines it had then. */
export async function waitForMarker(file: string, line: string, timeoutMs = 90_000, everyMs = 20): Promise<number> {
  return waitFor(
    async () => {
      const lines = markerLines(file);
      const i = lines.indexOf(line);
      return i >= 0 ? i + 1 : undefined;
    },
    `"${line}" in ${file}`,
    timeoutMs,
    everyMs,
  );
}
