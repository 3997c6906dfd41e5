import type { BaseMessage } from '@langchain/core/messages';
import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { FakeListChatModel } from '@langchain/core/utils/testing';
import { describe, expect, it } from 'vitest';
import { applyEdits, specHash, type Edit } from '../arch/index.ts';
import { limitsFor } from '../agents/limits.ts';
import { classifyLlmError, isAnswerError, retryAfter, type FailureContext } from '../agents/llm/errors.ts';
import { attemptProposal, type AttemptInput } from '../agents/llm/propose.ts';
import { makeScrubber } from '../agents/llm/scrub.ts';
import { validateAnswer, type ValidationContext } from '../agents/llm/validate.ts';
import type { LlmAttempt } from '../agents/llm/types.ts';
import { getTemplate } from '../experiments/index.ts';
import type { ExperimentTemplate } from '../experiments/template.ts';
import type { ResultLine } from '../history/types.ts';
import { answer } from './helpers/openai-fixture.ts';

// One LLM attempt and its repair loop, driven by LangChain's FakeListChatModel: what the model is
// sent, how answers are validated, and what goes back in a repair.

/** FakeListChatModel that also records the messages of every call. */
class RecordingFake extends FakeListChatModel {
  calls: BaseMessage[][] = [];
  override async _generate(messages: BaseMessage[], options: this['ParsedCallOptions'], runManager?: never) {
    this.calls.push(messages);
    return super._generate(messages, options, runManager);
  }
}

const smoke = getTemplate('smoke');
const SECRET = 'sk-test-SECRET123';

function baselineLine(): ResultLine {
  return {
    n: 1,
    status: 'kept',
    hypothesis: 'baseline',
    specHash: specHash(smoke.baseline),
    metric: 0.4,
    metricName: 'val_accuracy',
    bestMetric: 0.4,
    championAfter: 1,
    durationMs: 1000,
    parent: null,
    edits: [],
    error: null,
    recordedAt: '2026-01-01T00:00:00.000Z',
  };
}

function validation(over: Partial<ValidationContext> = {}): ValidationContext {
  return {
    template: smoke,
    champion: { n: 1, spec: smoke.baseline, specHash: specHash(smoke.baseline) },
    lines: [baselineLine()],
    pendingHashes: [],
    maxEdits: 2,
    ...over,
  };
}

function input(model: BaseChatModel, attempts: LlmAttempt[] = []): AttemptInput {
  return {
    handle: { model, method: 'jsonSchema', strict: false, lastResponseBody: () => null },
    modelId: 'openai:fake',
    prompt: {
      campaignId: 'fake',
      n: 2,
      template: smoke,
      champion: { n: 1, metric: 0.4, spec: smoke.baseline },
      lines: [baselineLine()],
      lessons: [],
      notes: [{ id: 1, text: 'prefer bypasses', at: '2026-01-01T00:00:00Z', deliveredTo: null }],
      budget: { experiments: 5, experimentsLeft: 4, minutesLeft: null, tokensLeft: null, usdLeft: null },
      maxEdits: 2,
      maxPromptTokens: 6000,
    },
    validation: validation(),
    attempts,
    price: { input: 1, output: 1 },
    scrub: makeScrubber([SECRET]),
  };
}

const VALID = JSON.stringify(answer([{ op: 'addBypass', from: 'h1', to: 'h3', merge: 'add' }], 'bypass h1 → h3'));
const UNKNOWN_NODE = JSON.stringify(answer([{ op: 'setActivation', node: 'h42', activation: 'tanh' }]));

describe('one LLM attempt (LangChain fakes)', () => {
  it('sends system + prompt and accepts a valid answer', async () => {
    const model = new RecordingFake({ responses: [VALID] });
    const out = await attemptProposal(input(model));
    expect(out.kind).toBe('valid');
    if (out.kind !== 'valid') return;
    expect(out.edits).toEqual([{ op: 'addBypass', from: 'h1', to: 'h3', merge: 'add' }]);
    expect(out.specHash).toBe(specHash(applyEdits(smoke.baseline, out.edits, limitsFor(smoke))));
    expect(out.usage.calls).toBe(1);
    expect(model.calls).toHaveLength(1);
    expect(model.calls[0]!.map((m) => m.getType())).toEqual(['system', 'human']);
    expect(String(model.calls[0]![1]!.content)).toContain('note 1 (NEW, take it into account now): prefer bypasses');
  });

  it('repairs: the second call carries the first answer and its exact errors, then succeeds', async () => {
    const model = new RecordingFake({ responses: [UNKNOWN_NODE, VALID] });
    const first = await attemptProposal(input(model));
    expect(first.kind).toBe('invalid');
    if (first.kind !== 'invalid') return;
    expect(first.errors).toHaveLength(1);
    expect(first.errors[0]).toMatch(/^edits: edit #0 of 1: .*"h42" does not exist \(known nodes: x, h1, h2, h3, h4, logits\)/);
    expect(first.answer).toContain('h42');

    const second = await attemptProposal(input(model, [{ answer: first.answer, errors: first.errors, usage: first.usage }]));
    expect(second.kind).toBe('valid');
    const sent = model.calls[1]!;
    expect(sent.map((m) => m.getType())).toEqual(['system', 'human', 'ai', 'human']);
    expect(String(sent[2]!.content)).toBe(first.answer);
    expect(String(sent[3]!.content)).toContain(`- ${first.errors[0]}`);
    expect(String(sent[3]!.content)).toContain('Your answer for experiment 2 could not be used');
    const response = JSON.parse(second.attachments['response.json']!);
    expect(response.answers.map((a: { errors: string[] }) => a.errors.length)).toEqual([1, 0]);
    expect(response.usage.calls).toBe(2);
    expect(second.attachments['prompt.md']).toContain('# assistant (answer 1, not usable)');
  });

  it('reports malformed JSON as an unusable answer, not a crash', async () => {
    const out = await attemptProposal(input(new RecordingFake({ responses: ['{"hypothesis": '] })));
    expect(out.kind).toBe('invalid');
    if (out.kind === 'invalid') expect(out.errors[0]).toMatch(/not valid JSON/);
  });

  it('scrubs secrets from answers and records', async () => {
    const leaky = JSON.stringify(answer([{ op: 'addNorm', after: 'h2' }], `use key ${SECRET} and sk-proj-abcdefghijklmnopqrstuvwxyz012345`));
    const out = await attemptProposal(input(new RecordingFake({ responses: [leaky] })));
    expect(out.kind).toBe('valid');
    if (out.kind !== 'valid') return;
    expect(out.answer.hypothesis).toBe('use key [redacted] and [redacted]');
    expect(JSON.stringify(out.attachments)).not.toContain(SECRET);
    expect(JSON.stringify(out.attachments)).not.toContain('sk-proj-');
  });
});

describe('answer validation', () => {
  const flat = (edits: Array<Record<string, unknown> & { op: string }>) => answer(edits as never);

  it('limits the number of edits and requires a hypothesis', () => {
    const three = flat([
      { op: 'addNorm', after: 'h1' },
      { op: 'addNorm', after: 'h2' },
      { op: 'addNorm', after: 'h3' },
    ]);
    expect(validateAnswer(three, validation())).toEqual({ ok: false, errors: ['edits: 3 edits given; give at most 2'] });
    expect(validateAnswer({ ...flat([]), hypothesis: ' ' }, validation())).toEqual({
      ok: false,
      errors: ['hypothesis: must not be empty', 'edits: give 1 to 2 edits'],
    });
  });

  it('keeps a fixed depth fixed', () => {
    const template: ExperimentTemplate = { ...smoke, editPolicy: { ...smoke.editPolicy, allowed: ['insertLayer', 'addNorm'], fixedDepth: true } };
    const r = validateAnswer(flat([{ op: 'insertLayer', after: 'h2', units: 8, activation: 'relu' }]), validation({ template }));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors[0]).toMatch(/change the depth from 5 to 6 weight layers/);
  });

  it('refuses models in flight, already tried, or identical to the champion', () => {
    const edits: Edit[] = [{ op: 'addNorm', after: 'h2' }];
    const hash = specHash(applyEdits(smoke.baseline, edits, limitsFor(smoke)));
    const answerNorm = flat([{ op: 'addNorm', after: 'h2' }]);
    const pending = validateAnswer(answerNorm, validation({ pendingHashes: [hash] }));
    expect(pending).toEqual({ ok: false, errors: [expect.stringMatching(/being trained right now/)] });
    const tried = validateAnswer(answerNorm, validation({ lines: [baselineLine(), { ...baselineLine(), n: 7, status: 'discarded', metric: 0.31, specHash: hash }] }));
    expect(tried).toEqual({ ok: false, errors: ['edits: this exact model was already tried as experiment 7 (discarded, val_accuracy 0.31); propose a model not tried yet'] });
    const template: ExperimentTemplate = { ...smoke, editPolicy: { ...smoke.editPolicy, allowed: ['addNorm', 'removeLayer'] } };
    const roundTrip = validateAnswer(flat([{ op: 'addNorm', after: 'h2' }, { op: 'removeLayer', node: 'norm_h2' }]), validation({ template }));
    expect(roundTrip).toEqual({ ok: false, errors: ['edits: they give back the champion unchanged; propose a change'] });
  });
});

describe('LLM error mapping', () => {
  const ctx: FailureContext = {
    campaignId: 'c9',
    model: 'anthropic:claude-x',
    where: 'the Anthropic API',
    keyEnv: 'ANTHROPIC_API_KEY',
    timeoutSeconds: 60,
    timedOut: false,
  };
  const withStatus = (status: number, message = 'boom', extra: Record<string, unknown> = {}) =>
    Object.assign(new Error(message), { status, ...extra });

  it('classifies by HTTP status across providers', () => {
    expect(classifyLlmError(withStatus(403), ctx)).toMatchObject({ type: 'LlmAuthRejected', retryable: false });
    expect(classifyLlmError(withStatus(403), ctx).message).toBe(
      'ANTHROPIC_API_KEY rejected by the Anthropic API (HTTP 403: boom): set a valid key in ANTHROPIC_API_KEY where the worker runs, restart the worker, then `arlo unpause c9`',
    );
    expect(classifyLlmError(withStatus(529, 'Overloaded'), ctx)).toMatchObject({ type: 'LlmServerError', retryable: true });
    expect(classifyLlmError(withStatus(503), ctx)).toMatchObject({ type: 'LlmServerError', retryable: true });
    expect(classifyLlmError(withStatus(422), ctx)).toMatchObject({ type: 'LlmBadRequest', retryable: false });
    expect(classifyLlmError(Object.assign(new Error('model "x" not found'), { status_code: 404 }), ctx)).toMatchObject({ type: 'LlmModelNotFound' });
    const refused = Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }) });
    expect(classifyLlmError(refused, ctx)).toMatchObject({ type: 'LlmUnreachable', retryable: true });
    expect(classifyLlmError(new Error('aborted'), { ...ctx, timedOut: true })).toMatchObject({ type: 'LlmTimeout', retryable: true });
  });

  it('reads Retry-After as seconds, an HTTP date or retry-after-ms, capped at 10 minutes', () => {
    expect(retryAfter({ headers: new Headers({ 'retry-after': '3' }) })).toBe(3000);
    expect(retryAfter({ headers: { 'retry-after-ms': '1500' } })).toBe(1500);
    const inAMinute = new Date(Date.now() + 60_000).toUTCString();
    expect(retryAfter({ headers: new Headers({ 'retry-after': inAMinute }) })).toBeGreaterThan(55_000);
    expect(retryAfter({ headers: new Headers({ 'retry-after': '86400' }) })).toBe(600_000);
    expect(retryAfter({ headers: new Headers({}) })).toBeNull();
  });

  it('tells unusable answers from transport errors', () => {
    expect(isAnswerError(new SyntaxError('Unexpected end of JSON input'))).toBe(true);
    expect(isAnswerError(withStatus(500))).toBe(false);
  });

  it('scrubs key-shaped text but leaves ordinary words alone', () => {
    const scrub = makeScrubber([]);
    expect(scrub('a risk-averse sk-learn style update')).toBe('a risk-averse sk-learn style update');
    expect(scrub('Authorization: Bearer abcdefgh12345678')).toBe('Authorization: Bearer [redacted]');
    expect(scrub('{"api_key": "abcdefghijkl"}')).toBe('{"api_key": "[redacted]"}');
    expect(scrub('key sk-ant-api03-abcdefghijklmnopqrstuv')).toBe('key [redacted]');
  });
});
