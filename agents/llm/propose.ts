import type { Edit } from '../../arch/edit.ts';
import type { Spec } from '../../arch/spec.ts';
import type { ModelPrice } from '../../config/campaign-config.ts';
import { callModel, type ModelReply } from './call.ts';
import type { ModelHandle } from './model.ts';
import { buildPrompt, conversation, conversationMarkdown, type BuiltPrompt, type PromptContext } from './prompt.ts';
import type { LlmAnswer } from './schema.ts';
import type { Scrubber } from './scrub.ts';
import { addUsage, roundUsd, zeroUsage, type LlmAttempt, type LlmUsage } from './types.ts';
import { validateAnswer, type ValidationContext } from './validate.ts';

// One attempt of the LLM agent = one model call: build the prompt (plus earlier unusable answers
// and their errors, for a repair), ask, validate, and return either a usable proposal or the exact
// errors for the next repair. Everything returned is scrubbed of secrets.

/** Longest answer text carried to a repair (and through workflow history). */
export const MAX_ANSWER_CHARS = 6000;

export interface AttemptInput {
  handle: Pick<ModelHandle, 'model' | 'method' | 'strict' | 'lastResponseBody'>;
  /** "openai:gpt-4.1-mini", for the records. */
  modelId: string;
  prompt: PromptContext;
  validation: ValidationContext;
  /** Earlier unusable answers for this experiment. */
  attempts: LlmAttempt[];
  price: ModelPrice | null;
  scrub: Scrubber;
  signal?: AbortSignal;
}

export type AttemptOutcome =
  | {
      kind: 'valid';
      answer: LlmAnswer;
      edits: Edit[];
      spec: Spec;
      specHash: string;
      /** This call only. */
      usage: LlmUsage;
      prompt: BuiltPrompt;
      attachments: Record<string, string>;
    }
  | {
      kind: 'invalid';
      answer: string;
      errors: string[];
      usage: LlmUsage;
      prompt: BuiltPrompt;
      attachments: Record<string, string>;
    };

/** What the model call itself threw (HTTP status, timeout, connection), for errors.ts to classify. */
export class ModelCallError extends Error {
  constructor(readonly original: unknown) {
    super(original instanceof Error ? original.message : String(original));
    this.name = 'ModelCallError';
  }
}

export async function attemptProposal(input: AttemptInput): Promise<AttemptOutcome> {
  const { scrub } = input;
  const n = input.prompt.n;
  const prompt = buildPrompt(input.prompt);
  const turns = conversation(prompt, n, input.attempts);
  let reply: ModelReply;
  try {
    reply = await callModel(input.handle.model, turns, {
      method: input.handle.method,
      strict: input.handle.strict,
      signal: input.signal,
      lastResponseBody: input.handle.lastResponseBody,
    });
  } catch (err) {
    throw new ModelCallError(err);
  }
  const usage = priceUsage(reply.usage, input.price);
  const validated = reply.problem !== null ? { ok: false as const, errors: [reply.problem] } : validateAnswer(reply.value, input.validation);
  const errors = validated.ok ? [] : validated.errors.map(scrub);
  const answerText = capAnswer(scrub(reply.text));

  const attachments = {
    'prompt.md': scrub(conversationMarkdown(turns, { n, model: input.modelId, prompt })),
    'response.json': scrub(responseJson(input, reply, answerText, errors, usage, validated.ok)),
  };
  if (!validated.ok) return { kind: 'invalid', answer: answerText, errors, usage, prompt, attachments };
  return {
    kind: 'valid',
    answer: scrubAnswer(validated.answer, scrub),
    edits: validated.edits,
    spec: validated.spec,
    specHash: validated.specHash,
    usage,
    prompt,
    attachments,
  };
}

export function priceUsage(u: ModelReply['usage'], price: ModelPrice | null): LlmUsage {
  return {
    calls: 1,
    inputTokens: u.inputTokens,
    outputTokens: u.outputTokens,
    totalTokens: u.totalTokens,
    usd: price ? roundUsd((u.inputTokens * price.input + u.outputTokens * price.output) / 1e6) : null,
  };
}

function capAnswer(text: string): string {
  return text.length <= MAX_ANSWER_CHARS ? text : `${text.slice(0, MAX_ANSWER_CHARS)}\n[... ${text.length - MAX_ANSWER_CHARS} more characters not kept]`;
}

function scrubAnswer(answer: LlmAnswer, scrub: Scrubber): LlmAnswer {
  return {
    ...answer,
    hypothesis: scrub(answer.hypothesis),
    rationale: scrub(answer.rationale),
    expectedEffect: scrub(answer.expectedEffect),
  };
}

function responseJson(
  input: AttemptInput,
  reply: ModelReply,
  answerText: string,
  errors: string[],
  usage: LlmUsage,
  accepted: boolean,
): string {
  const earlier = input.attempts.map((a, i) => ({ answer: i + 1, text: a.answer, errors: a.errors, usage: a.usage }));
  const total = [...input.attempts.map((a) => a.usage), usage].reduce(addUsage, zeroUsage());
  return `${JSON.stringify(
    {
      model: input.modelId,
      experiment: input.prompt.n,
      accepted,
      answers: [
        ...earlier,
        {
          answer: earlier.length + 1,
          text: answerText,
          errors,
          usage,
          usageEstimated: reply.usage.estimated,
          finishReason: reply.finishReason,
          refusal: reply.refusal,
        },
      ],
      usage: total,
    },
    null,
    2,
  )}\n`;
}
