import type { Activities } from '../../activities/index.ts';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { afterAll, beforeAll } from 'vitest';
import { createArloWorker, workflowBundle } from '../../worker.ts';
import type { TaskQueues } from '../../workflows/types.ts';
import { findTemporalBinary } from '../../server/temporal-binary.ts';
import { BEST_METRIC, CAMPAIGN_ID, EXPERIMENTS_DONE } from '../../workflows/search-attributes.ts';

/**
 * A real Temporal dev server (the project's CLI binary) for one test file. Fails loudly when the
 * binary is missing: run `npm run setup`.
 */
export async function startTestServer(): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: findTemporalBinary() },
      searchAttributes: [CAMPAIGN_ID, BEST_METRIC, EXPERIMENTS_DONE],
    },
  });
}

export function tempHome(prefix = 'arlo-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export async function waitFor<T>(
  probe: () => Promise<T | undefined | null | false>,
  what: string,
  timeoutMs = 60_000,
  everyMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * A free TCP port below Linux's ephemeral range (32768+). Servers started by tests bind their own
 * internal ports from the ephemeral range; a port picked there could be taken before we use it.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (usedPorts.has(port)) continue;
    const free = await new Promise<boolean>((resolve) => {
      const srv = createServer();
      srv.once('error', () => resolve(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
    if (free) {
      usedPorts.add(port);
      return port;
    }
  }
  throw new Error('no free TCP port found in 20000-32000');
}
const usedPorts = new Set<number>();

/** Runs `fn` while a fresh arlo worker (1 training slot) polls `queues` on the test server. */
export async function withWorker<T>(
  opts: {
    env: TestWorkflowEnvironment;
    bundle: WorkflowBundleWithSourceMap;
    home: string;
    dataDir: string;
    queues: TaskQueues;
    slots?: number;
    activityOverrides?: Partial<Activities>;
  },
  fn: () => Promise<T>,
): Promise<T> {
  const worker = await createArloWorker({
    address: opts.env.address,
    namespace: 'default',
    slots: opts.slots ?? 1,
    ...(opts.activityOverrides ? { activityOverrides: opts.activityOverrides } : {}),
    taskQueues: opts.queues,
    workflowBundle: opts.bundle,
    context: { home: opts.home, dataDir: opts.dataDir },
  });
  const running = worker.run();
  try {
    return await fn();
  } finally {
    worker.shutdown();
    await running;
  }
}

/**
 * One dev server and one workflow bundle for a test file (started before its tests, torn down
 * after); read `.env` and `.bundle` inside tests. Each test still gets a fresh worker.
 */
export function useTestServer(): { readonly env: TestWorkflowEnvironment; readonly bundle: WorkflowBundleWithSourceMap } {
  const server = {} as { env: TestWorkflowEnvironment; bundle: WorkflowBundleWithSourceMap };
  beforeAll(async () => {
    server.env = await startTestServer();
    server.bundle = await workflowBundle();
  });
  afterAll(async () => {
    await server.env?.teardown();
  });
  return server;
}

/** Fresh task-queue names per campaign (`<prefix>-main-<k>`, `<prefix>-train-<k>`), so tests never share pollers. */
export function queueNamer(prefix: string): () => TaskQueues {
  let k = 0;
  return () => {
    k++;
    return { main: `${prefix}-main-${k}`, training: `${prefix}-train-${k}` };
  };
}
