import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Spec } from '../arch/spec.ts';
import { forEachBlob } from '../history/read.ts';
import type { HistoryRepo } from '../history/types.ts';
import { specCost, type SpecCost } from './cost.ts';
import type { CostReply, CostRequest } from './cost-thread.ts';

// Model sizes of many specs, straight from git: one `cat-file --batch` streams the spec.json
// blobs; this thread and one worker thread parse them and run the cost model (parsing big
// pretty-printed specs is most of the work). The worker takes a blob whenever it has fewer than
// a few batches waiting, so the split adapts to how fast each side is.

const HERE = import.meta.dirname;
/** Below this many specs a second thread costs more to start than it saves. */
const PARALLEL_FROM = 400;
const BATCH = 32;
const MAX_IN_FLIGHT = 4 * BATCH;

function costHere(text: string): SpecCost | null {
  try {
    return specCost(JSON.parse(text) as Spec);
  } catch {
    return null;
  }
}

/**
 * Calls `onCost` once per blob id in `shas` that exists (null when the spec cannot be costed).
 * Returns how many specs each thread costed.
 */
export async function costSpecBlobs(
  repo: HistoryRepo,
  shas: readonly string[],
  onCost: (sha: string, cost: SpecCost | null) => void,
  opts: { parallelFrom?: number } = {},
): Promise<{ here: number; worker: number }> {
  const counts = { here: 0, worker: 0 };
  const local = (sha: string, text: string): void => {
    counts.here++;
    onCost(sha, costHere(text));
  };
  if (shas.length < (opts.parallelFrom ?? PARALLEL_FROM)) {
    await forEachBlob(repo, shas, local);
    return counts;
  }
  const worker = new Worker(join(HERE, 'thread-bootstrap.mjs'), {
    execArgv: [],
    workerData: { threadModule: pathToFileURL(join(HERE, 'cost-thread.ts')).href },
  });
  // Texts the worker has not answered yet: should it fail, this thread costs them itself.
  const pending = new Map<string, string>();
  let batch: Array<[string, string]> = [];
  let workerOk = true;
  let streaming = true;
  let settle: () => void = () => undefined;
  const drained = new Promise<void>((resolve) => (settle = resolve));
  const maybeDone = (): void => {
    if (!streaming && pending.size === 0) settle();
  };
  worker.on('message', (m: CostReply) => {
    for (const [sha, c] of m.items) {
      if (!pending.delete(sha)) continue;
      counts.worker++;
      onCost(sha, c ? { params: c[0], macs: c[1], epochs: c[2] } : null);
    }
    maybeDone();
  });
  const takeBack = (): void => {
    if (!workerOk) return;
    workerOk = false;
    for (const [sha, text] of pending) local(sha, text);
    pending.clear();
    maybeDone();
  };
  worker.on('error', takeBack);
  worker.on('exit', takeBack);
  const send = (): void => {
    if (batch.length === 0 || !workerOk) return;
    worker.postMessage({ type: 'specs', items: batch } satisfies CostRequest);
    batch = [];
  };
  try {
    await forEachBlob(repo, shas, (sha, text) => {
      if (workerOk && pending.size < MAX_IN_FLIGHT) {
        pending.set(sha, text);
        batch.push([sha, text]);
        if (batch.length >= BATCH) send();
      } else local(sha, text);
    });
    send();
    streaming = false;
    maybeDone();
    await drained;
    return counts;
  } finally {
    worker.removeAllListeners('exit');
    await worker.terminate();
  }
}
