import { ActivityFailure, ApplicationFailure, isCancellation, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';
import type { ExperimentInput, ExperimentOutcome } from './types.ts';

// One proposal trained and evaluated. A training that fails for good becomes a failed outcome,
// not a failed workflow: the campaign records it and goes on.

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
  try {
    const trained = await trainExperiment(input);
    return { ok: true, ...trained, durationMs: Date.now() - started };
  } catch (err) {
    if (isCancellation(err)) throw err;
    return { ok: false, error: describeFailure(err), durationMs: Date.now() - started, curve: [], logTail: failureLogTail(err) };
  }
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
