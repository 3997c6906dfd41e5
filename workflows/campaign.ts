import {
  allHandlersFinished,
  condition,
  continueAsNew,
  executeChild,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';
import { pauseSignal, statusQuery, stopSignal, unpauseSignal } from './messages.ts';
import { CampaignBook } from './campaign-book.ts';
import { experimentWorkflow } from './experiment.ts';
import { BEST_METRIC, CAMPAIGN_ID, EXPERIMENTS_DONE } from './search-attributes.ts';
import type { CampaignInput, CampaignResult, ProposedExperiment } from './types.ts';

// The research loop: propose → experiment (child workflow) → decide → record, until the budget
// is spent or a human says stop. Decisions and bookkeeping live in CampaignBook; this function
// only orders the steps.

const { openCampaign, propose, recordExperiment } = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 20 },
});

/** Long-running campaigns start a fresh history this often, carrying their state. */
export const EXPERIMENTS_PER_RUN = 50;

export async function campaignWorkflow(input: CampaignInput): Promise<CampaignResult> {
  const { config } = input;
  const book = new CampaignBook(input, Date.now());

  setHandler(statusQuery, () => book.status(Date.now()));
  setHandler(pauseSignal, (reason) => book.pause(reason ?? 'paused by a human'));
  setHandler(unpauseSignal, () => book.unpause());
  setHandler(stopSignal, () => book.stop());

  if (!input.carried) {
    book.restore(await openCampaign({ config, metric: input.metric, createdAt: new Date().toISOString() }));
  }
  publishProgress(book);

  const inFlight = new Map<number, Promise<void>>();
  const runExperiment = async (proposal: ProposedExperiment): Promise<void> => {
    const workflowId = `${config.id}-exp-${proposal.n}`;
    const outcome = await executeChild(experimentWorkflow, {
      workflowId,
      args: [
        {
          campaignId: config.id,
          n: proposal.n,
          experiment: config.experiment,
          spec: proposal.spec,
          seed: config.seed,
          trainingTaskQueue: input.taskQueues.training,
        },
      ],
    });
    const record = book.finish(proposal, outcome, workflowId, new Date().toISOString());
    await recordExperiment(record);
    publishProgress(book);
  };

  let startedThisRun = 0;
  for (;;) {
    const perRun = input.experimentsPerRun ?? EXPERIMENTS_PER_RUN;
    const wantsNewRun = startedThisRun >= perRun || workflowInfo().continueAsNewSuggested;
    while (!wantsNewRun && book.canStartAnother(Date.now()) && inFlight.size < config.concurrency) {
      const n = book.takeNextNumber();
      let proposal: ProposedExperiment;
      try {
        proposal = await propose({ config, n, pendingHashes: book.pendingHashes() });
      } catch (err) {
        // An agent that cannot propose must not fail the campaign: a human can fix and unpause.
        book.giveBackNumber(n);
        book.pause(`the ${config.agent} agent could not propose experiment ${n}: ${messageOf(err)}. ` +
          `Fix the cause, then run \`arlo unpause ${config.id}\`.`);
        break;
      }
      book.begin(proposal);
      startedThisRun++;
      inFlight.set(
        n,
        runExperiment(proposal).finally(() => inFlight.delete(n)),
      );
    }
    if (inFlight.size > 0) {
      await Promise.race(inFlight.values());
      continue;
    }
    if (wantsNewRun && !book.isFinished(Date.now())) {
      await condition(allHandlersFinished);
      return await continueAsNew<typeof campaignWorkflow>({ ...input, carried: book.carry(Date.now()) });
    }
    if (book.isPausedOnly(Date.now())) {
      await condition(() => !book.isPausedOnly(Date.now()));
      continue;
    }
    break;
  }

  book.finishCampaign();
  publishProgress(book);
  await condition(allHandlersFinished);
  return book.result();
}

function messageOf(err: unknown): string {
  // ActivityFailure wraps the activity's own error as its cause.
  const cause = (err as { cause?: { message?: string } }).cause;
  return cause?.message ?? (err instanceof Error ? err.message : String(err));
}

function publishProgress(book: CampaignBook): void {
  const s = book.status(Date.now());
  upsertSearchAttributes([
    { key: CAMPAIGN_ID, value: s.campaignId },
    { key: EXPERIMENTS_DONE, value: s.done },
    ...(s.champion ? [{ key: BEST_METRIC, value: s.champion.metric }] : []),
  ]);
}
