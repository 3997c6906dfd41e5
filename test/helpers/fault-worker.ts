import { appendFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Context } from '@temporalio/activity';
import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';
import { createActivities, type Activities } from '../../activities/index.ts';
import { createTrainActivity } from '../../activities/train.ts';
import { getTemplate } from '../../experiments/index.ts';
import { createArloWorker } from '../../worker.ts';
import type { TaskQueues } from '../../workflows/types.ts';
import { standInTemplate } from './external-jobs.ts';

// A real arlo worker in its own process, for tests that kill it (SIGKILL) or read what it prints:
// the production createArloWorker and createActivities, with every activity wrapped so that it
//   - appends "enter <activity> <n> <attempt>" and "done <activity> <n> <attempt>" lines to a marker
//     file, and pauses at one chosen activity (a window in which the test kills the process);
//   - optionally makes one history write fail for real (failRecord);
//   - optionally trains external templates as the stand-in job (standIn).
// Run: node --import tsx test/helpers/fault-worker.ts; options as JSON in ARLO_FAULT_WORKER.
// Prints "fault-worker ready <pid>" once it polls.

export interface FaultWorkerOptions {
  address: string;
  home: string;
  dataDir: string;
  queues: TaskQueues;
  /** File holding the workflow bundle's code (bundled once by the test). */
  bundlePath: string;
  slots?: number;
  marker?: string;
  /**
   * A kill window: the first attempt of `activity` for experiment `n` waits `beforeMs` after its
   * "enter" line and `afterMs` after its "done" line (the work has been done, Temporal not yet told).
   */
  pause?: { activity: string; n: number; beforeMs: number; afterMs: number; campaignId?: string };
  /**
   * The first attempt of recording experiment `n` fails with a real git failure: a stale lock on
   * the campaign's ref (`ref-lock`: blobs, tree and commit are written, the ref update fails) or a
   * file where the history's temporary folder should be (`tmp-blocked`: fails before any write).
   */
  failRecord?: { n: number; how: 'ref-lock' | 'tmp-blocked' };
  /** Train templates through the stand-in external job (test/helpers/external-jobs.ts). */
  standIn?: { folder: string; args: string[] };
  logLevel?: LogLevel;
}

/** The experiment number an activity works on (0 for openCampaign). */
function experimentNumber(input: unknown): number {
  const n = (input as { n?: unknown } | null)?.n;
  return typeof n === 'number' ? n : 0;
}

/** The campaign an activity works for (train and record carry campaignId, the others the config). */
function campaignOf(input: unknown): string | undefined {
  const i = input as { campaignId?: string; config?: { id?: string } } | null;
  return i?.campaignId ?? i?.config?.id;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function failOnce(opts: FaultWorkerOptions, record: { campaignId: string }, run: () => Promise<unknown>): Promise<unknown> {
  const how = opts.failRecord!.how;
  const gitDir = join(opts.home, 'history', '.git');
  const blocker =
    how === 'ref-lock' ? join(gitDir, 'refs', 'heads', 'campaign', `${record.campaignId}.lock`) : join(gitDir, 'arlo-tmp');
  if (how === 'tmp-blocked') rmSync(blocker, { recursive: true, force: true });
  mkdirSync(dirname(blocker), { recursive: true });
  writeFileSync(blocker, 'left behind by a crashed writer\n');
  try {
    await run();
  } catch (err) {
    mark(opts, `failed recordExperiment ${opts.failRecord!.n} ${how}: ${(err as Error).message.split('\n')[0]}`);
    throw err;
  } finally {
    rmSync(blocker, { force: true });
  }
  throw new Error(`fault-worker: the ${how} fault did not make the history write fail`);
}

function mark(opts: FaultWorkerOptions, line: string): void {
  if (opts.marker) appendFileSync(opts.marker, `${line}\n`);
}

function wrap(opts: FaultWorkerOptions, activities: Activities): Activities {
  const wrapped: Record<string, (input: unknown) => Promise<unknown>> = {};
  for (const [name, fn] of Object.entries(activities) as Array<[string, (input: unknown) => Promise<unknown>]>) {
    wrapped[name] = async (input: unknown) => {
      const n = experimentNumber(input);
      const attempt = Context.current().info.attempt;
      const p = opts.pause;
      const pause =
        p?.activity === name && p.n === n && attempt === 1 && (!p.campaignId || p.campaignId === campaignOf(input)) ? p : null;
      mark(opts, `enter ${name} ${n} ${attempt}`);
      if (pause) await sleep(pause.beforeMs);
      const inject = name === 'recordExperiment' && opts.failRecord?.n === n && attempt === 1;
      const result = inject ? await failOnce(opts, input as { campaignId: string }, () => fn(input)) : await fn(input);
      mark(opts, `done ${name} ${n} ${attempt}`);
      if (pause) await sleep(pause.afterMs);
      return result;
    };
  }
  return wrapped as unknown as Activities;
}

async function main(): Promise<void> {
  const opts = JSON.parse(process.env.ARLO_FAULT_WORKER ?? '') as FaultWorkerOptions;
  Runtime.install({ logger: new DefaultLogger(opts.logLevel ?? 'WARN') });
  const context = { home: opts.home, dataDir: opts.dataDir };
  const activities = createActivities(context);
  if (opts.standIn) {
    const { folder, args } = opts.standIn;
    const lookup = (name: string) => {
      const t = getTemplate(name);
      return t.external ? standInTemplate(folder, args, {}, name) : t;
    };
    activities.trainExperiment = createTrainActivity(context, { getTemplate: lookup }).trainExperiment;
  }
  const worker = await createArloWorker({
    address: opts.address,
    namespace: 'default',
    slots: opts.slots ?? 1,
    taskQueues: opts.queues,
    workflowBundle: { code: readFileSync(opts.bundlePath, 'utf8'), sourceMap: '' },
    context,
    activityOverrides: wrap(opts, activities),
  });
  process.once('SIGTERM', () => worker.shutdown());
  console.log(`fault-worker ready ${process.pid}`);
  await worker.run();
}

if (process.argv[1] === import.meta.filename) {
  main().catch((err) => {
    console.error('fault-worker:', err);
    process.exit(1);
  });
}
