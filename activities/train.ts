import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { getTemplate } from '../experiments/index.ts';
import type { ExperimentTemplate } from '../experiments/template.ts';
import { ExternalJobError, JobCancelled } from '../training/external/failures.ts';
import type { ProgressEvent } from '../training/external/output.ts';
import { runExternalJob } from '../training/external/run-job.ts';
import { jobName } from '../training/external/runners.ts';
import { runFolder } from '../training/external/workdir.ts';
import { runTrainingInThread } from '../training/run-in-thread.ts';
import type { EpochReport } from '../training/train.ts';
import type { ExperimentInput } from '../workflows/types.ts';
import type { ActivityContext } from './context.ts';

export interface TrainedExperiment {
  metrics: Record<string, number | boolean | null>;
  curve: Array<Record<string, number>>;
  backend: string;
  params: number;
  /** External jobs: the end of the job's output (kept in git as log.txt). */
  logTail?: string | null;
  /** Sample-epochs used; null (or absent) when an external job does not report `samples_seen`. */
  compute?: number | null;
}

export interface TrainActivityOptions {
  /** Template lookup (default experiments/index.ts); tests pass their own templates. */
  getTemplate?: (name: string) => ExperimentTemplate;
  /** Environment external jobs take their allow-listed variables from (default process.env). */
  jobEnvSource?: NodeJS.ProcessEnv;
}

/** Heartbeat at least this often, even inside a long epoch, so a live worker is never timed out. */
const HEARTBEAT_EVERY_MS = 5_000;

export function createTrainActivity(ctx: ActivityContext, opts: TrainActivityOptions = {}) {
  const lookup = opts.getTemplate ?? getTemplate;
  return {
    /**
     * Trains one experiment's spec off this event loop. Idempotent: a retry trains again from
     * the same seed. Progress goes out as heartbeats ({ epoch, epochs, loss, val_accuracy }).
     */
    async trainExperiment(input: ExperimentInput): Promise<TrainedExperiment> {
      const activity = Context.current();
      let template;
      try {
        template = lookup(input.experiment);
      } catch (err) {
        throw ApplicationFailure.nonRetryable((err as Error).message, 'UnknownTemplate');
      }
      input = atFidelity(input);
      if (template.external) {
        if (input.fidelity?.dataFraction !== undefined) {
          throw ApplicationFailure.nonRetryable(
            `${template.name} is an external job: arlo cannot train it on a fraction of its data; use epochs rungs (evaluation.fidelity: [{ epochs: ... }])`,
            'SpecError',
          );
        }
        return trainExternal(ctx, input, template, opts.jobEnvSource);
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
          evaluateHoldout: input.evaluateHoldout,
          trainFraction: input.fidelity?.dataFraction,
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
          compute: result.samplesSeen,
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

/**
 * Runs the template's external command in a fresh work folder
 * (<ARLO_HOME>/runs/<campaign>/<n>-attempt-<k>). Progress lines become heartbeats; a failed job
 * becomes a non-retryable ApplicationFailure whose type is the failure class (JobExitNonZero,
 * JobKilled, JobTimeout, JobNonFiniteMetric, JobNoResult, ...) and whose details carry
 * { logTail }. Cancellation kills the job's whole process tree.
 */
async function trainExternal(
  ctx: ActivityContext,
  input: ExperimentInput,
  template: ExperimentTemplate,
  envSource: NodeJS.ProcessEnv | undefined,
): Promise<TrainedExperiment> {
  const activity = Context.current();
  const attempt = activity.info.attempt;
  let last: ProgressEvent | null = null;
  // No initial empty heartbeat: the worker sends the first heartbeat at once and throttles the
  // rest (to 0.8 x heartbeatTimeout), so the first one should carry the job's first progress.
  const beat = setInterval(() => activity.heartbeat(last), HEARTBEAT_EVERY_MS);
  try {
    const result = await runExternalJob({
      template,
      spec: input.spec,
      seed: input.seed,
      dataDir: ctx.dataDir,
      workdir: runFolder(ctx.home, input.campaignId, input.n, attempt),
      jobName: jobName(input.campaignId, input.n, attempt),
      campaignId: input.campaignId,
      n: input.n,
      attempt,
      signal: activity.cancellationSignal,
      sourceEnv: envSource,
      // Heartbeat details keep the job's own fields (epoch, epochs, step, loss, ...), which
      // `arlo status --follow` shows; the SDK throttles what reaches the server.
      onProgress: (event) => {
        last = event;
        activity.heartbeat(event);
      },
    });
    return {
      metrics: result.metrics,
      curve: result.curve,
      backend: result.backend,
      params: result.params,
      logTail: result.logTail,
      compute: typeof result.metrics.samples_seen === 'number' ? result.metrics.samples_seen : null,
    };
  } catch (err) {
    if (err instanceof JobCancelled || activity.cancellationSignal.aborted) {
      throw activity.cancellationSignal.aborted ? activity.cancellationSignal.reason : err;
    }
    if (err instanceof ExternalJobError) {
      throw ApplicationFailure.nonRetryable(err.message, err.failureClass, { logTail: err.logTail });
    }
    throw err;
  } finally {
    clearInterval(beat);
  }
}

/** A rung's epochs replace the recipe's (external jobs read them from the spec file too). */
function atFidelity(input: ExperimentInput): ExperimentInput {
  const epochs = input.fidelity?.epochs;
  if (epochs === undefined) return input;
  return { ...input, spec: { ...input.spec, recipe: { ...input.spec.recipe, epochs } } };
}

/** Bad specs and bad datasets will fail the same way again: tell Temporal not to retry them. */
function asFailure(err: unknown): unknown {
  if (!(err instanceof Error)) return err;
  if (err.name === 'SpecError' || err.name === 'CompileError' || err.name === 'DatasetError') {
    return ApplicationFailure.nonRetryable(err.message, err.name);
  }
  return err;
}
