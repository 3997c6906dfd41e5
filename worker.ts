import { fileURLToPath } from 'node:url';
import {
  NativeConnection,
  Worker,
  bundleWorkflowCode,
  type NativeConnectionOptions,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import { createActivities, type Activities } from './activities/index.ts';
import type { ActivityContext } from './activities/context.ts';
import type { TaskQueues } from './workflows/types.ts';

// A worker process runs two Temporal workers: one for workflows and cheap activities, one for
// training with as many slots as this machine should train at once. Several such processes on
// several machines share a campaign; nothing here assumes one machine.

export const DEFAULT_TASK_QUEUES: TaskQueues = { main: 'arlo', training: 'arlo-training' };

export interface ArloWorkerOptions {
  address: string;
  namespace: string;
  /** TLS / API key for a remote server (see remoteConnectionOptions). */
  tls?: NativeConnectionOptions['tls'];
  apiKey?: string;
  context: ActivityContext;
  /** Trainings this worker runs at once. */
  slots: number;
  taskQueues?: TaskQueues;
  /** A prebuilt bundle (tests build it once); otherwise the workflows are bundled here. */
  workflowBundle?: WorkflowBundleWithSourceMap;
  /** Replace activities (benchmarks measure orchestration with a trainer that returns at once). */
  activityOverrides?: Partial<Activities>;
}

// Compiled by `npm run build` (dist/worker.js), the bundler reads the compiled workflows.
export const WORKFLOWS_PATH = fileURLToPath(new URL(import.meta.url.endsWith('.js') ? './workflows/index.js' : './workflows/index.ts', import.meta.url));

let bundleOnce: Promise<WorkflowBundleWithSourceMap> | undefined;

/** Bundles the workflow code once per process (webpack takes a few seconds). */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundleOnce ??= bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietBundlerLogger });
  return bundleOnce;
}

export interface ArloWorker {
  /** Resolves when both workers have stopped. */
  run(): Promise<void>;
  shutdown(): void;
  connection: NativeConnection;
}

export async function createArloWorker(opts: ArloWorkerOptions): Promise<ArloWorker> {
  const taskQueues = opts.taskQueues ?? DEFAULT_TASK_QUEUES;
  const connection = await NativeConnection.connect({ address: opts.address, tls: opts.tls, apiKey: opts.apiKey });
  const activities = { ...createActivities(opts.context), ...opts.activityOverrides };
  const { trainExperiment, ...cheapActivities } = activities;
  const workflowBundleCode = opts.workflowBundle ?? (await workflowBundle());

  const main = await Worker.create({
    connection,
    namespace: opts.namespace,
    taskQueue: taskQueues.main,
    workflowBundle: workflowBundleCode,
    activities: cheapActivities,
  });
  const training = await Worker.create({
    connection,
    namespace: opts.namespace,
    taskQueue: taskQueues.training,
    activities: { trainExperiment },
    maxConcurrentActivityTaskExecutions: opts.slots,
    // Forward training progress to the server every few seconds (the default waits up to 80% of
    // the heartbeat timeout), so `arlo status` shows the epoch in progress.
    maxHeartbeatThrottleInterval: '3 seconds',
    defaultHeartbeatThrottleInterval: '3 seconds',
  });

  return {
    connection,
    async run() {
      // If one worker stops with an error, stop the other too rather than run half a worker.
      const stopBoth = (err: unknown) => {
        for (const w of [main, training]) if (w.getState() === 'RUNNING') w.shutdown();
        throw err;
      };
      try {
        await Promise.all([main.run().catch(stopBoth), training.run().catch(stopBoth)]);
      } finally {
        await connection.close();
      }
    },
    shutdown() {
      for (const w of [main, training]) {
        if (w.getState() === 'RUNNING') w.shutdown();
      }
    },
  };
}

const quietBundlerLogger = {
  trace() {},
  debug() {},
  info() {},
  warn(message: string, meta?: unknown) {
    console.warn(message, meta ?? '');
  },
  error(message: string, meta?: unknown) {
    console.error(message, meta ?? '');
  },
  log() {},
};
