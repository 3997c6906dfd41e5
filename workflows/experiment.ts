import { ActivityFailure, ApplicationFailure, isCancellation, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';
import type { TrainedExperiment } from '../activities/train.ts';
import type { ExperimentInput, ExperimentOutcome, SeedRun } from './types.ts';

// One proposal trained and evaluated, once per seed (in parallel, so seeds spread over training
// slots and workers). A training that fails for good becomes a failed outcome, not a failed
// workflow: the campaign records it and goes on.

export async function experimentWorkflow(input: ExperimentInput): Promise<ExperimentOutcome> {
  const { trainExperiment } = proxyActivities<Activities>({
    taskQueue: input.trainingTaskQueue,
    startToCloseTimeout: '2 hours',
    // A killed worker is noticed within this, and the training restarts on another worker.
    heartbeatTimeout: '30 seconds',
    retry: {
      initialInterval: '2s',
      backoffCoefficient: 2,
      maximumInterval: '1 minute',
      maximumAttempts: 3,
      nonRetryableErrorTypes: ['SpecError', 'CompileError', 'DatasetError', 'UnknownTemplate'],
    },
  });
  const started = Date.now();
  const seeds = input.seeds ?? [input.seed];
  const trainings = await Promise.all(
    seeds.map(async (seed) => {
      try {
        return { seed, ok: true as const, trained: await trainExperiment({ ...input, seed }) };
      } catch (err) {
        if (isCancellation(err)) throw err;
        return { seed, ok: false as const, err };
      }
    }),
  );
  const durationMs = Date.now() - started;
  const compute = trainings.reduce((sum, t) => sum + (t.ok ? (t.trained.compute ?? 0) : 0), 0);
  const failed = trainings.find((t) => !t.ok);
  if (failed && !failed.ok) {
    const error = describeFailure(failed.err);
    if (seeds.length > 1) error.message = `seed ${failed.seed}: ${error.message}`;
    return { ok: false, error, durationMs, curve: [], logTail: failureLogTail(failed.err), compute };
  }
  const done = trainings.map((t) => (t as { trained: TrainedExperiment }).trained);
  const first = done[0]!;
  if (seeds.length === 1) return { ok: true, ...first, durationMs, compute };
  const runs: SeedRun[] = done.map((t, i) => ({ seed: seeds[i]!, metrics: t.metrics, compute: t.compute ?? null }));
  return {
    ok: true,
    metrics: meanMetrics(done.map((t) => t.metrics)),
    // The first seed's curve and log stand for the experiment; every seed's final metrics are in `runs`.
    curve: first.curve,
    backend: first.backend,
    params: first.params,
    logTail: first.logTail ?? null,
    durationMs,
    runs,
    compute,
  };
}

/** Numbers averaged over seeds; a flag (e.g. `diverged`) is true if it is true for any seed. */
function meanMetrics(all: Array<Record<string, number | boolean | null>>): Record<string, number | boolean | null> {
  const out: Record<string, number | boolean | null> = {};
  for (const key of Object.keys(all[0]!)) {
    const values = all.map((m) => m[key]);
    if (values.every((v) => typeof v === 'number')) {
      out[key] = (values as number[]).reduce((a, b) => a + b, 0) / values.length;
    } else if (values.some((v) => typeof v === 'boolean')) {
      out[key] = values.some((v) => v === true);
    } else {
      out[key] = null;
    }
  }
  return out;
}

/** An external job's log tail, sent by the train activity as the failure's details ({ logTail }). */
function failureLogTail(err: unknown): string | null {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (!(cause instanceof ApplicationFailure)) return null;
  for (const d of cause.details ?? []) {
    const tail = (d as { logTail?: unknown } | null)?.logTail;
    if (typeof tail === 'string') return tail;
  }
  return null;
}

function describeFailure(err: unknown): { class: string; message: string } {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) {
    return { class: cause.type ?? 'ApplicationFailure', message: cause.message };
  }
  if (cause instanceof Error) return { class: cause.name, message: cause.message };
  return { class: 'Error', message: String(cause) };
}
