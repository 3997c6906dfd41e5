import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { getTemplate } from '../experiments/index.ts';
import { runTrainingInThread } from '../training/run-in-thread.ts';
import type { EpochReport } from '../training/train.ts';
import type { ExperimentInput } from '../workflows/types.ts';
import type { ActivityContext } from './context.ts';

export interface TrainedExperiment {
  metrics: Record<string, number | boolean | null>;
  curve: Array<Record<string, number>>;
  backend: string;
  params: number;
}

/** Heartbeat at least this often, even inside a long epoch, so a live worker is never timed out. */
const HEARTBEAT_EVERY_MS = 5_000;

export function createTrainActivity(ctx: ActivityContext) {
  return {
    /**
     * Trains one experiment's spec off this event loop. Idempotent: a retry trains again from
     * the same seed. Progress goes out as heartbeats ({ epoch, epochs, loss, val_accuracy }).
     */
    async trainExperiment(input: ExperimentInput): Promise<TrainedExperiment> {
      const activity = Context.current();
      let template;
      try {
        template = getTemplate(input.experiment);
      } catch (err) {
        throw ApplicationFailure.nonRetryable((err as Error).message, 'UnknownTemplate');
      }
      let last: EpochReport | null = null;
      const beat = setInterval(() => activity.heartbeat(last), HEARTBEAT_EVERY_MS);
      try {
        activity.heartbeat(null);
        const result = await runTrainingInThread({
          template,
          spec: input.spec,
          seed: input.seed,
          dataDir: ctx.dataDir,
          signal: activity.cancellationSignal,
          onEpoch: (report) => {
            last = report;
            activity.heartbeat(report);
          },
        });
        return {
          metrics: { ...result.metrics, diverged: result.diverged },
          curve: result.curve.map((r) => ({ ...r })) as unknown as Array<Record<string, number>>,
          backend: result.backend,
          params: result.params,
        };
      } catch (err) {
        // Report a cancellation as such (its reason is Temporal's CancelledFailure).
        if (activity.cancellationSignal.aborted) throw activity.cancellationSignal.reason;
        throw asFailure(err);
      } finally {
        clearInterval(beat);
      }
    },
  };
}

/** Bad specs and bad datasets will fail the same way again: tell Temporal not to retry them. */
function asFailure(err: unknown): unknown {
  if (!(err instanceof Error)) return err;
  if (err.name === 'SpecError' || err.name === 'CompileError' || err.name === 'DatasetError') {
    return ApplicationFailure.nonRetryable(err.message, err.name);
  }
  return err;
}
