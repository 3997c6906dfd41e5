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
import type { LlmAttempt, LlmUsage } from '../agents/llm/types.ts';
import { addUsage, zeroUsage } from '../agents/llm/types.ts';
import { pauseSignal, statusQuery, steerUpdate, stopSignal, unpauseSignal } from './messages.ts';
import { CampaignBook, type RungResult } from './campaign-book.ts';
import { measure } from './decide.ts';
import { experimentWorkflow } from './experiment.ts';
import { runGeneration } from './ladder.ts';
import { BEST_METRIC, CAMPAIGN_ID, EXPERIMENTS_DONE } from './search-attributes.ts';
import type { CampaignInput, CampaignResult, ExperimentOutcome, Fidelity, ProposedExperiment } from './types.ts';

// The research loop: propose → experiment (child workflow, one training per seed) → decide →
// record, until the budget is spent or a human says stop. With a fidelity ladder, proposals come
// in generations that climb the rungs by successive halving (ladder.ts). Decisions and
// bookkeeping live in CampaignBook; this function only orders the steps.

const { openCampaign, propose, recordExperiment } = proxyActivities<Activities>({
  // These take well under a second (git plumbing), even at 10,000 experiments. The timeout is how
  // long a campaign waits for a worker killed mid-activity before another worker retries it.
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 20 },
});

/**
 * The LLM agent's activity: one model call per attempt. Rate limits and timeouts are retried a few
 * times (a 429's Retry-After sets the delay); after that, or at once for non-retryable failures
 * (bad key, no quota, bad request), the campaign pauses with the activity's message.
 */
function llmActivities(timeoutSeconds: number) {
  return proxyActivities<Activities>({
    startToCloseTimeout: `${Math.ceil(timeoutSeconds) + 60} seconds`,
    retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '60s', maximumAttempts: 5 },
  });
}

/** Long-running campaigns start a fresh history this often, carrying their state. */
export const EXPERIMENTS_PER_RUN = 50;

export async function campaignWorkflow(input: CampaignInput): Promise<CampaignResult> {
  const { config } = input;
  const book = new CampaignBook(input, Date.now());

  setHandler(statusQuery, () => book.status(Date.now()));
  setHandler(pauseSignal, (reason) => book.pause(reason ?? 'paused by a human'));
  setHandler(unpauseSignal, () => book.unpause());
  setHandler(stopSignal, () => book.stop());
  setHandler(steerUpdate, (text) => book.steer(text, new Date().toISOString(), Date.now()), {
    validator: (text) => book.validateSteer(text),
  });

  if (!input.carried) {
    book.restore(await openCampaign({ config, metric: input.metric, createdAt: new Date().toISOString() }));
  }
  publishProgress(book);

  const inFlight = new Map<number, Promise<void>>();
  const seeds = book.seeds();

  /** Trains proposal p once per seed at `fidelity` as the child workflow `workflowId`. */
  const train = async (
    p: ProposedExperiment,
    workflowId: string,
    fidelity: Fidelity | null,
    evaluateHoldout = false,
  ): Promise<ExperimentOutcome> => {
    const outcome = await executeChild(experimentWorkflow, {
      workflowId,
      args: [
        {
          campaignId: config.id,
          n: p.n,
          experiment: config.experiment,
          spec: p.spec,
          seed: seeds[0]!,
          ...(config.evaluation ? { seeds: evaluateHoldout ? [seeds[0]!] : seeds } : {}),
          ...(fidelity ? { fidelity } : {}),
          ...(evaluateHoldout ? { evaluateHoldout } : {}),
          trainingTaskQueue: input.taskQueues.training,
        },
      ],
    });
    book.chargeCompute(outcome.compute);
    return outcome;
  };

  /** Decides on an experiment's final result, checks a new champion on the holdout, records it. */
  const settle = async (
    p: ProposedExperiment,
    outcome: ExperimentOutcome,
    workflowId: string,
    rungs: RungResult[] = [],
  ): Promise<void> => {
    let record = book.finish(p, outcome, workflowId, new Date().toISOString(), rungs);
    if (record.status === 'kept' && book.wantsHoldout()) {
      const checkId = `${config.id}-exp-${p.n}-holdout`;
      record = book.addHoldout(record, await train(p, checkId, book.topRung(), true), checkId);
    }
    await saveRecord(record);
  };

  const saveRecord = async (record: Parameters<typeof recordExperiment>[0]): Promise<void> => {
    const recorded = await recordExperiment(record);
    // (Histories recorded before lessons existed return none: the status then keeps what it had.)
    book.setLessons(recorded?.lessons);
    publishProgress(book);
  };

  /** One experiment at the decision rung (no ladder, or a baseline that must be measured first). */
  const runExperiment = async (proposal: ProposedExperiment): Promise<void> => {
    const workflowId = `${config.id}-exp-${proposal.n}`;
    const outcome = await train(proposal, workflowId, book.topRung());
    const ladder = book.ladder();
    const rungs: RungResult[] =
      ladder.length > 0 ? [{ rung: ladder.length - 1, outcome, measurement: measure(input.metric, outcome, seeds) }] : [];
    await settle(proposal, outcome, workflowId, rungs);
  };

  const { proposeWithLlm } = llmActivities(config.llm?.timeoutSeconds ?? 120);
  /**
   * The LLM agent: ask; an answer that does not validate goes back with its errors (each repair a
   * new activity call) up to llm.maxRepairs times, then the evolution agent proposes instead.
   */
  const proposeByLlm = async (n: number): Promise<ProposedExperiment> => {
    const notes = book.notesForPrompt();
    const attempts: LlmAttempt[] = [];
    for (;;) {
      const answer = await proposeWithLlm({
        config,
        n,
        pendingHashes: book.pendingHashes(),
        notes,
        budget: book.budgetLeft(Date.now()),
        attempts,
      });
      book.charge(answer.usage);
      if (answer.kind === 'proposal') {
        book.deliverNotes(answer.proposal.steering, n);
        return answer.proposal;
      }
      attempts.push({ answer: answer.answer, errors: answer.errors, usage: answer.usage });
      if (attempts.length > (config.llm?.maxRepairs ?? 2) || book.llmBudgetSpent()) {
        const usage = attempts.map((a) => a.usage).reduce<LlmUsage>(addUsage, zeroUsage());
        const last = attempts[attempts.length - 1]!;
        return await propose({
          config,
          n,
          pendingHashes: book.pendingHashes(),
          fallback: {
            note:
              `fallback: ${attempts.length} answer(s) of ${config.llm?.model ?? 'the LLM'} did not validate ` +
              `(last: ${last.errors.join('; ')}); the evolution agent proposed this experiment instead`,
            attachments: answer.attachments,
            llm: { model: config.llm?.model ?? 'unknown', usage, attempts: attempts.length },
          },
        });
      }
    }
  };

  /** Asks the agent for the next experiment; null (and the campaign paused) when it cannot. */
  const proposeNext = async (): Promise<ProposedExperiment | null> => {
    const n = book.takeNextNumber();
    let proposal: ProposedExperiment;
    book.startProposing(n);
    try {
      proposal =
        config.agent === 'llm' ? await proposeByLlm(n) : await propose({ config, n, pendingHashes: book.pendingHashes() });
    } catch (err) {
      // An agent that cannot propose must not fail the campaign: a human can fix and unpause.
      book.startProposing(null);
      book.giveBackNumber(n);
      const message = messageOf(err);
      book.pause(
        `the ${config.agent} agent could not propose experiment ${n}: ${message}` +
          (message.includes('arlo unpause') ? '' : `. Fix the cause, then run \`arlo unpause ${config.id}\`.`),
      );
      return null;
    }
    book.startProposing(null);
    book.begin(proposal);
    return proposal;
  };

  let startedThisRun = 0;
  for (;;) {
    const perRun = input.experimentsPerRun ?? EXPERIMENTS_PER_RUN;
    const wantsNewRun = startedThisRun >= perRun || workflowInfo().continueAsNewSuggested;
    if (book.ladder().length > 0 && book.hasChampion() && inFlight.size === 0) {
      // A generation of proposals climbs the ladder together: ranks on a rung compare like with like.
      const generation: ProposedExperiment[] = [];
      while (!wantsNewRun && generation.length < book.generationSize() && book.canStartAnother(Date.now())) {
        const p = await proposeNext();
        if (!p) break;
        generation.push(p);
        startedThisRun++;
      }
      if (generation.length > 0) {
        await runGeneration(generation, { book, metric: input.metric, seeds, concurrency: config.concurrency, train, settle, saveRecord, campaignId: config.id });
        continue;
      }
    }
    while (!wantsNewRun && book.canStartAnother(Date.now()) && inFlight.size < config.concurrency && !(book.ladder().length > 0 && book.hasChampion())) {
      const proposal = await proposeNext();
      if (!proposal) break;
      startedThisRun++;
      const n = proposal.n;
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
