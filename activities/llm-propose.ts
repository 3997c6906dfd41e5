import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { describeEdit } from '../arch/index.ts';
import { computeLessons } from '../agents/llm/lessons.ts';
import { classifyLlmError, type FailureContext } from '../agents/llm/errors.ts';
import { createChatModel, endpointOf } from '../agents/llm/model.ts';
import { PromptTooLargeError } from '../agents/llm/prompt.ts';
import { attemptProposal, ModelCallError } from '../agents/llm/propose.ts';
import { makeScrubber, secretsFromEnv, type Scrubber } from '../agents/llm/scrub.ts';
import { addUsage, zeroUsage, type LlmProposeInput, type LlmProposeResult } from '../agents/llm/types.ts';
import { apiKeyEnvFor, priceFor } from '../config/campaign-config.ts';
import { getTemplate } from '../experiments/index.ts';
import { openHistory, readExperiment, readResults } from '../history/index.ts';
import type { ActivityContext } from './context.ts';
import { baselineProposal, championLine } from './propose.ts';

// The LLM agent's activity: ONE model call per execution. It reads the campaign's history from git,
// builds the prompt, calls the model and validates the answer. An unusable answer comes back as
// `invalid` with its exact errors, and the workflow calls again (a repair) or falls back; a failed
// call becomes an ApplicationFailure that Temporal retries or not (agents/llm/errors.ts).
//
// The API key is read here, from this worker's environment, and nowhere else: it is never in the
// activity's input or output, and every text that leaves this function is scrubbed.

export const DEFAULT_LLM_MAX_EDITS = 3;

export function createLlmProposeActivity(ctx: ActivityContext) {
  return {
    async proposeWithLlm(input: LlmProposeInput): Promise<LlmProposeResult> {
      const { config, n } = input;
      const llm = config.llm;
      if (!llm) {
        throw ApplicationFailure.nonRetryable(
          `campaign ${config.id} uses the llm agent but has no llm settings; start it with --model <provider:model>`,
          'LlmNotConfigured',
        );
      }
      const keyEnv = apiKeyEnvFor(llm);
      const key = keyEnv ? (process.env[keyEnv] ?? '').trim() : '';
      const scrub = makeScrubber(secretsFromEnv([keyEnv]));
      const failure: FailureContext = {
        campaignId: config.id,
        model: llm.model,
        where: endpointOf(llm),
        keyEnv,
        timeoutSeconds: llm.timeoutSeconds,
        timedOut: false,
      };
      // Checked first, even for a baseline: a campaign that cannot reach its model pauses at once.
      if (keyEnv !== null && key === '') {
        throw ApplicationFailure.create({
          type: 'LlmKeyMissing',
          nonRetryable: true,
          message:
            `${keyEnv} is not set where the worker runs: set it in the environment of \`arlo worker\` ` +
            `(it is read there and never stored), restart the worker, then \`arlo unpause ${config.id}\``,
        });
      }

      const template = getTemplate(config.experiment);
      const repo = await openHistory(ctx.home);
      const lines = await readResults(repo, config.id);
      const champion = championLine(lines);
      if (champion === null) return { kind: 'proposal', proposal: baselineProposal(template, n, lines), usage: zeroUsage() };
      const championRecord = await readExperiment(repo, config.id, champion.n);
      if (!championRecord) throw new Error(`the champion (experiment ${champion.n}) of ${config.id} has no record in git`);

      const handle = await createChatModel(llm, key || null);
      const maxEdits = config.agentOptions.maxEdits ?? DEFAULT_LLM_MAX_EDITS;
      const timer = new AbortController();
      const timeout = setTimeout(() => timer.abort(), Math.round(llm.timeoutSeconds * 1000) + 1000);
      const signal = anySignal([timer.signal, activitySignal()]);
      try {
        const outcome = await attemptProposal({
          handle,
          modelId: llm.model,
          prompt: {
            campaignId: config.id,
            n,
            template,
            champion: { n: champion.n, metric: champion.metric!, spec: championRecord.spec },
            lines,
            lessons: computeLessons(lines),
            notes: input.notes,
            budget: input.budget,
            maxEdits,
            maxPromptTokens: llm.maxPromptTokens,
          },
          validation: {
            template,
            champion: { n: champion.n, spec: championRecord.spec, specHash: champion.specHash },
            lines,
            pendingHashes: input.pendingHashes,
            maxEdits,
          },
          attempts: input.attempts,
          price: priceFor(llm),
          scrub,
          signal,
        });
        if (outcome.kind === 'invalid') {
          return { kind: 'invalid', answer: outcome.answer, errors: outcome.errors, usage: outcome.usage, attachments: outcome.attachments };
        }
        const experimentUsage = [...input.attempts.map((a) => a.usage), outcome.usage].reduce(addUsage, zeroUsage());
        const fresh = input.notes.filter((note) => note.deliveredTo === null);
        return {
          kind: 'proposal',
          usage: outcome.usage,
          proposal: {
            n,
            agent: 'llm',
            hypothesis: outcome.answer.hypothesis,
            rationale: outcome.answer.rationale,
            expectedEffect: outcome.answer.expectedEffect,
            edits: outcome.edits,
            editDescriptions: outcome.edits.map(describeEdit),
            parent: champion.n,
            spec: outcome.spec,
            specHash: outcome.specHash,
            note: input.attempts.length > 0 ? `accepted after ${input.attempts.length} repair(s) of answers that did not validate` : null,
            attachments: outcome.attachments,
            llm: { model: llm.model, usage: experimentUsage, attempts: input.attempts.length + 1 },
            steering: fresh.map(({ id, text, at }) => ({ id, text, at })),
          },
        };
      } catch (err) {
        if (activitySignal().aborted) throw err; // cancelled by Temporal: let the SDK report it
        if (err instanceof ModelCallError) throw toFailure(err.original, { ...failure, timedOut: timer.signal.aborted }, scrub);
        if (err instanceof PromptTooLargeError) throw ApplicationFailure.nonRetryable(err.message, 'LlmPromptTooLarge');
        // Anything else is deterministic given the same history (a bug, a corrupt record): retrying is useless.
        throw ApplicationFailure.nonRetryable(scrub(`the llm agent failed: ${(err as Error)?.message ?? String(err)}`), 'LlmAgentError');
      } finally {
        clearTimeout(timeout);
      }
    },
  };
}

/** A fresh ApplicationFailure with a scrubbed message and no cause: nothing of the provider's error object reaches history. */
export function toFailure(err: unknown, ctx: FailureContext, scrub: Scrubber): ApplicationFailure {
  const f = classifyLlmError(err, ctx);
  return ApplicationFailure.create({
    type: f.type,
    message: scrub(f.message),
    nonRetryable: !f.retryable,
    ...(f.retryAfterMs !== null ? { nextRetryDelay: f.retryAfterMs } : {}),
  });
}

function activitySignal(): AbortSignal {
  try {
    return Context.current().cancellationSignal;
  } catch {
    return new AbortController().signal; // called outside an activity (tests)
  }
}

function anySignal(signals: AbortSignal[]): AbortSignal {
  return AbortSignal.any(signals);
}
