// Runs inside a worker thread started by runTrainingInThread(): initialises TF.js, loads the
// dataset, trains, and posts epoch reports and the result (or the error) to the parent.

import { parentPort, workerData } from 'node:worker_threads';
import type { Spec } from '../arch/spec.ts';
import type { ExperimentTemplate } from '../experiments/template.ts';
import { initBackend, type BackendName } from './backend.ts';
import { loadDataset } from './datasets.ts';
import { trainSpec, type EpochReport, type TrainResult } from './train.ts';

export interface ThreadInput {
  threadModule: string;
  template: ExperimentTemplate;
  spec: Spec;
  seed: number;
  dataDir: string;
  backend?: BackendName;
  maxSeconds?: number;
  evaluateHoldout?: boolean;
  trainFraction?: number;
}

export type ThreadMessage =
  | { type: 'ready'; backend: string; setupSeconds: number }
  | { type: 'epoch'; report: EpochReport }
  | { type: 'result'; result: TrainResult }
  | { type: 'error'; name: string; message: string; stack?: string };

export async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('training/thread.ts must run in a worker thread');
  const input = workerData as ThreadInput;
  const post = (m: ThreadMessage): void => port.postMessage(m);
  let stop = false;
  port.on('message', (m: { type?: string }) => {
    if (m?.type === 'stop') stop = true;
  });
  try {
    const t0 = performance.now();
    const backend = await initBackend(input.backend);
    const data = loadDataset(input.template, input.dataDir);
    post({ type: 'ready', backend, setupSeconds: (performance.now() - t0) / 1000 });
    const result = await trainSpec({
      spec: input.spec,
      data,
      seed: input.seed,
      maxSeconds: input.maxSeconds,
      evaluateHoldout: input.evaluateHoldout,
      trainFraction: input.trainFraction,
      onEpoch: (report) => post({ type: 'epoch', report }),
      shouldStop: () => stop,
    });
    post({ type: 'result', result });
  } catch (err) {
    const e = err as Error;
    post({ type: 'error', name: e?.name ?? 'Error', message: e?.message ?? String(err), stack: e?.stack });
  } finally {
    // Let the port close so the thread can exit on its own.
    port.removeAllListeners('message');
    port.unref();
  }
}
