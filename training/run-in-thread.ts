// Runs one training in a worker thread so the caller's event loop stays free (a Temporal
// activity must keep heartbeating while TF.js computes synchronously for seconds).

import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Spec } from '../arch/spec.ts';
import { getTemplate } from '../experiments/index.ts';
import type { ExperimentTemplate } from '../experiments/template.ts';
import type { BackendName } from './backend.ts';
import { DATA_DIR_ENV } from './datasets.ts';
import type { ThreadInput, ThreadMessage } from './thread.ts';
import { TrainingCancelled, type EpochReport, type TrainResult } from './train.ts';

export { TrainingCancelled } from './train.ts';
export type { EpochReport, TrainResult } from './train.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
// Compiled by `npm run build`, this file is dist/training/run-in-thread.js: one folder deeper, and
// the thread module is thread.js (the build copies thread-bootstrap.mjs next to it).
const COMPILED = import.meta.url.endsWith('.js');
const REPO_ROOT = path.resolve(HERE, COMPILED ? '../..' : '..');
const BOOTSTRAP = path.join(HERE, 'thread-bootstrap.mjs');
const THREAD_MODULE = pathToFileURL(path.join(HERE, COMPILED ? 'thread.js' : 'thread.ts')).href;

/** Data directory used when neither `dataDir` nor $ARLO_DATA_DIR is given. */
export const DEFAULT_DATA_DIR = path.join(REPO_ROOT, 'data');

export interface RunTrainingOptions {
  /** A template object, or the name of one in experiments/index.ts. */
  template?: ExperimentTemplate;
  templateName?: string;
  spec: Spec;
  seed: number;
  /** Directory of csv data files; default $ARLO_DATA_DIR, else DEFAULT_DATA_DIR. */
  dataDir?: string;
  onEpoch?: (e: EpochReport) => void;
  /** Aborting terminates the worker at once and rejects with a TrainingCancelled error. */
  signal?: AbortSignal;
  /** Force a backend in the worker (default: tensorflow > wasm > cpu). */
  backend?: BackendName;
  /** Optional time budget passed to trainSpec (stops between batches, result.stoppedEarly). */
  maxSeconds?: number;
  /** Also report holdout_accuracy / holdout_loss (promotions only). */
  evaluateHoldout?: boolean;
  /** Train on a fixed fraction of the training rows (a cheap fidelity rung). */
  trainFraction?: number;
}

/**
 * Trains `spec` on the template's data in a fresh worker thread and resolves with its TrainResult.
 * Rejects with: TrainingCancelled (name 'TrainingCancelled') on abort; the worker's own error
 * (same name and message, e.g. DatasetError, CompileError) if training fails; an Error naming the
 * exit code if the thread dies without reporting.
 */
export function runTrainingInThread(opts: RunTrainingOptions): Promise<TrainResult> {
  let template: ExperimentTemplate | undefined;
  try {
    template = opts.template ?? (opts.templateName !== undefined ? getTemplate(opts.templateName) : undefined);
  } catch (err) {
    return Promise.reject(err);
  }
  if (!template) return Promise.reject(new Error('runTrainingInThread: give template or templateName'));
  if (opts.signal?.aborted) return Promise.reject(new TrainingCancelled('training cancelled before it started'));
  const dataDir = path.resolve(opts.dataDir ?? process.env[DATA_DIR_ENV] ?? DEFAULT_DATA_DIR);
  const input: ThreadInput = {
    threadModule: THREAD_MODULE,
    template,
    spec: opts.spec,
    seed: opts.seed,
    dataDir,
    backend: opts.backend,
    maxSeconds: opts.maxSeconds,
    evaluateHoldout: opts.evaluateHoldout,
    trainFraction: opts.trainFraction,
  };

  return new Promise<TrainResult>((resolve, reject) => {
    let settled = false;
    const worker = new Worker(BOOTSTRAP, {
      workerData: input,
      execArgv: workerExecArgv(),
      // The worker's stdout/stderr go to the parent's.
      stdout: false,
      stderr: false,
    });
    const finish = (err: Error | null, result?: TrainResult): void => {
      if (settled) return;
      settled = true;
      opts.signal?.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve(result!);
    };
    // On abort the promise settles once the thread is really gone (terminate() interrupts even
    // running wasm within ~20 ms), so a caller that frees a training slot frees a real core.
    let aborting = false;
    const onAbort = (): void => {
      if (settled || aborting) return;
      aborting = true;
      const cap = setTimeout(() => finish(new TrainingCancelled()), 5000);
      cap.unref();
      void worker.terminate().finally(() => {
        clearTimeout(cap);
        finish(new TrainingCancelled());
      });
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });

    worker.on('message', (m: ThreadMessage) => {
      if (settled || aborting) return;
      switch (m.type) {
        case 'epoch':
          try {
            opts.onEpoch?.(m.report);
          } catch (err) {
            // A failing callback must not leave the worker running.
            finish(err as Error);
            void worker.terminate();
          }
          break;
        case 'result':
          finish(null, m.result);
          void worker.terminate(); // free the thread's wasm memory now
          break;
        case 'error': {
          const err = new Error(m.message);
          err.name = m.name;
          if (m.stack) err.stack = m.stack;
          finish(err);
          void worker.terminate();
          break;
        }
        default:
          break;
      }
    });
    worker.on('error', (err) => {
      if (aborting) return;
      finish(err instanceof Error ? err : new Error(String(err)));
    });
    worker.on('exit', (code) => {
      if (aborting) finish(new TrainingCancelled());
      else finish(new Error(`training worker exited with code ${code} before reporting a result`));
    });
  });
}

/**
 * The parent's execArgv without tsx's own loader flags (the bootstrap registers tsx itself, once),
 * so the worker behaves the same under `node --import tsx`, the `tsx` CLI and vitest.
 */
function workerExecArgv(): string[] {
  const out: string[] = [];
  const argv = process.execArgv;
  const isTsx = (v: string): boolean => v === 'tsx' || v.startsWith('tsx/') || /[\\/]tsx[\\/]/.test(v);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const m = /^(--import|--require|-r|--loader|--experimental-loader)(?:=(.*))?$/.exec(a);
    if (m) {
      const value = m[2] ?? argv[i + 1];
      if (m[2] === undefined) i++;
      if (value !== undefined && !isTsx(value)) out.push(m[2] === undefined ? `${m[1]}` : a, ...(m[2] === undefined ? [value] : []));
      continue;
    }
    out.push(a);
  }
  return out;
}
