import { ApplicationFailure } from '@temporalio/common';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLlmProposeActivity } from '../activities/llm-propose.ts';
import type { LlmProposeInput, LlmProposeResult } from '../agents/llm/types.ts';
import type { CampaignConfig, LlmConfig } from '../config/campaign-config.ts';
import { LLM_DEFAULTS } from '../config/campaign-config.ts';
import { seedHistory } from './helpers/llm-history.ts';
import { answer, completion, startOpenAiFixture, type OpenAiFixture } from './helpers/openai-fixture.ts';
import { tempHome } from './helpers/temporal-env.ts';

// The LLM agent's activity driving the REAL ChatOpenAI (@langchain/openai 1.5.8) against a local
// OpenAI-compatible server: every answer and failure a provider can produce, and what each becomes
// (a proposal, a repair request, or a Temporal failure that is retried or pauses the campaign).

const SECRET = 'sk-test-SECRET123';
const KEY_ENV = 'ARLO_TEST_LLM_KEY';

let fixture: OpenAiFixture;
beforeAll(async () => {
  fixture = await startOpenAiFixture();
  process.env[KEY_ENV] = SECRET;
});
afterAll(async () => {
  await fixture.close();
  delete process.env[KEY_ENV];
});
afterEach(() => {
  fixture.requests.length = 0;
});

let counter = 0;
async function setup(llm: Partial<LlmConfig> = {}) {
  const home = tempHome('arlo-llm-');
  const config: CampaignConfig = {
    id: `llm-unit-${++counter}`,
    experiment: 'smoke',
    agent: 'llm',
    seed: 1,
    budget: { experiments: 10, minutes: null, tokens: 100_000 },
    concurrency: 1,
    agentOptions: {},
    llm: {
      ...LLM_DEFAULTS,
      model: 'openai:fixture-model',
      baseUrl: fixture.url,
      apiKeyEnv: KEY_ENV,
      timeoutSeconds: 5,
      prices: { 'fixture-model': { input: 2, output: 8 } },
      ...llm,
    },
  };
  await seedHistory(home, config, 0.4, [
    { edits: [{ op: 'setActivation', node: 'h2', activation: 'tanh' }], metric: 0.35, status: 'discarded' },
  ]);
  const activity = createLlmProposeActivity({ home, dataDir: home });
  const input = (over: Partial<LlmProposeInput> = {}): LlmProposeInput => ({
    config,
    n: 3,
    pendingHashes: [],
    notes: [],
    budget: { experiments: 10, experimentsLeft: 8, minutesLeft: null, tokensLeft: 90_000, usdLeft: null },
    attempts: [],
    ...over,
  });
  return { home, config, run: (over?: Partial<LlmProposeInput>) => activity.proposeWithLlm(input(over)) };
}

async function failureOf(p: Promise<unknown>): Promise<ApplicationFailure> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(ApplicationFailure);
    return err as ApplicationFailure;
  }
  throw new Error('expected an ApplicationFailure');
}

function invalid(r: LlmProposeResult) {
  expect(r.kind).toBe('invalid');
  return r as Extract<LlmProposeResult, { kind: 'invalid' }>;
}

const BYPASS = answer([{ op: 'addBypass', from: 'h1', to: 'h3', merge: 'add' }], 'A bypass h1 → h3 eases gradient flow');

describe('LLM agent against an OpenAI-compatible server (real ChatOpenAI)', () => {
  it('turns a valid answer into a proposal, with usage, price and the records', async () => {
    fixture.setHandler(() => ({ json: completion(JSON.stringify(BYPASS), { usage: { prompt_tokens: 1500, completion_tokens: 120 } }) }));
    const { run } = await setup();
    const r = await run();
    expect(r.kind).toBe('proposal');
    if (r.kind !== 'proposal') return;
    const p = r.proposal;
    expect(p).toMatchObject({ n: 3, agent: 'llm', parent: 1, hypothesis: 'A bypass h1 → h3 eases gradient flow', note: null });
    expect(p.edits).toEqual([{ op: 'addBypass', from: 'h1', to: 'h3', merge: 'add' }]);
    expect(p.editDescriptions).toEqual(['+ bypass h1 → h3 (add)']);
    expect(p.spec.arch.nodes.some((x) => x.id === 'bypass_h1_h3')).toBe(true);
    expect(r.usage).toEqual({ calls: 1, inputTokens: 1500, outputTokens: 120, totalTokens: 1620, usd: (1500 * 2 + 120 * 8) / 1e6 });
    expect(p.llm).toEqual({ model: 'openai:fixture-model', usage: r.usage, attempts: 1 });
    expect(p.attachments?.['prompt.md']).toContain('Propose experiment 3 of campaign');
    expect(JSON.parse(p.attachments!['response.json']!)).toMatchObject({ accepted: true, answers: [{ answer: 1, errors: [] }] });

    // What LangChain sent: one request, jsonSchema structured output with a strict flat schema, our key.
    expect(fixture.requests).toHaveLength(1);
    const req = fixture.requests[0]!;
    expect(req.path).toBe('/v1/chat/completions');
    expect(req.headers.authorization).toBe(`Bearer ${SECRET}`);
    expect(req.body.stream).toBe(false);
    expect(req.body.model).toBe('fixture-model');
    expect(req.body.messages.map((m) => m.role)).toEqual(['system', 'user']);
    const format = req.body.response_format!;
    expect(format.type).toBe('json_schema');
    expect(format.json_schema?.strict).toBe(true);
    const schema = format.json_schema!.schema as { additionalProperties: boolean; required: string[]; properties: Record<string, any> };
    expect(schema.additionalProperties).toBe(false);
    expect(schema.required.sort()).toEqual(['edits', 'expectedEffect', 'hypothesis', 'rationale']);
    const item = schema.properties.edits.items;
    expect(item.additionalProperties).toBe(false);
    expect(item.required).toHaveLength(10);
    expect(JSON.stringify(schema)).not.toContain('oneOf');
  });

  it('sends a malformed JSON answer back as a repair with the parse error and the answer text', async () => {
    fixture.setHandler(() => ({ json: completion('{"hypothesis": "cut off", "edits": [') }));
    const { run } = await setup();
    const r = invalid(await run());
    expect(r.errors[0]).toMatch(/not valid JSON/);
    expect(r.answer).toContain('"hypothesis": "cut off"');
    expect(r.usage.calls).toBe(1);
    expect(fixture.requests).toHaveLength(1); // maxRetries 0: LangChain did not retry on its own
  });

  it('reports schema violations with their paths', async () => {
    const bad = { hypothesis: 'x', rationale: 'y', expectedEffect: 'z', edits: [{ op: 'addSkip', from: 'h1' }] };
    fixture.setHandler(() => ({ json: completion(JSON.stringify(bad)) }));
    const { run } = await setup();
    const r = invalid(await run());
    expect(r.errors.join('\n')).toMatch(/edits\.0\.op/);
    expect(r.errors.join('\n')).toMatch(/edits\.0\.to/);
  });

  it('reports unknown node ids, missing fields and disallowed edits precisely', async () => {
    fixture.setHandler(() => ({ json: completion(JSON.stringify(answer([{ op: 'addBypass', from: 'h1', to: 'h9', merge: 'add' }]))) }));
    const { run } = await setup();
    expect(invalid(await run()).errors[0]).toMatch(/"to" node "h9" does not exist \(known nodes: x, h1/);

    fixture.setHandler(() => ({ json: completion(JSON.stringify(answer([{ op: 'addBypass', from: 'h1', to: 'h3' }]))) }));
    expect(invalid(await run()).errors[0]).toBe('edits.0 (addBypass): set merge (they are null)');

    fixture.setHandler(() => ({ json: completion(JSON.stringify(answer([{ op: 'setUnits', node: 'h1', units: 8 }]))) }));
    expect(invalid(await run()).errors[0]).toMatch(/"setUnits" is not allowed on this template; use one of addBypass/);
  });

  it('rejects a model that was already tried, naming the experiment', async () => {
    fixture.setHandler(() => ({ json: completion(JSON.stringify(answer([{ op: 'setActivation', node: 'h2', activation: 'tanh' }]))) }));
    const { run } = await setup();
    expect(invalid(await run()).errors[0]).toMatch(/already tried as experiment 2 \(discarded/);
  });

  it('treats a refusal as an unusable answer and keeps its text', async () => {
    fixture.setHandler(() => ({ json: completion(null, { refusal: 'I cannot help with that.' }) }));
    const { run } = await setup();
    const r = invalid(await run());
    expect(r.errors[0]).toMatch(/the model refused: "I cannot help with that\."/);
    expect(r.answer).toBe('I cannot help with that.');
  });

  it('sends a repair as a new conversation turn with the earlier answer and its exact errors', async () => {
    fixture.setHandler(() => ({ json: completion(JSON.stringify(BYPASS)) }));
    const { run } = await setup();
    const earlier = { answer: '{"edits": "oops"}', errors: ['edits: expected array, received string'], usage: { calls: 1, inputTokens: 10, outputTokens: 5, totalTokens: 15, usd: null } };
    const r = await run({ attempts: [earlier] });
    expect(r.kind).toBe('proposal');
    const messages = fixture.requests[0]!.body.messages;
    expect(messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user']);
    expect(messages[2]!.content).toBe('{"edits": "oops"}');
    expect(messages[3]!.content).toContain('- edits: expected array, received string');
    if (r.kind !== 'proposal') return;
    expect(r.proposal.note).toBe('accepted after 1 repair(s) of answers that did not validate');
    expect(r.proposal.llm?.attempts).toBe(2);
    expect(r.proposal.llm?.usage.totalTokens).toBe(15 + 1100);
    expect(r.proposal.attachments?.['prompt.md']).toContain('# user (repair 1)');
  });

  it('429 with Retry-After: retryable, and the next attempt waits as the server asks', async () => {
    fixture.setHandler(() => ({ status: 429, headers: { 'retry-after': '7' }, json: { error: { message: 'Rate limit reached', type: 'requests', code: 'rate_limit_exceeded' } } }));
    const { run } = await setup();
    const f = await failureOf(run());
    expect(f.type).toBe('LlmRateLimited');
    expect(f.nonRetryable).toBe(false);
    expect(f.nextRetryDelay).toBe(7000);
    expect(f.message).toMatch(/rate limited by http:\/\/127\.0\.0\.1:\d+\/v1 \(HTTP 429: Rate limit reached\); the server asks to retry after 7 s/);
    expect(fixture.requests).toHaveLength(1);
  });

  it('429 without Retry-After: retryable with Temporal backoff', async () => {
    fixture.setHandler(() => ({ status: 429, json: { error: { message: 'Rate limit reached', type: 'requests', code: 'rate_limit_exceeded' } } }));
    const { run } = await setup();
    const f = await failureOf(run());
    expect(f.type).toBe('LlmRateLimited');
    expect(f.nonRetryable).toBe(false);
    expect(f.nextRetryDelay ?? undefined).toBeUndefined();
  });

  it('insufficient_quota is not retried', async () => {
    fixture.setHandler(() => ({ status: 429, json: { error: { message: 'You exceeded your current quota', type: 'insufficient_quota', code: 'insufficient_quota' } } }));
    const { config, run } = await setup();
    const f = await failureOf(run());
    expect(f.type).toBe('LlmQuotaExhausted');
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toContain(`arlo unpause ${config.id}`);
  });

  it('401 is not retried, says which key to fix, and never repeats the key', async () => {
    fixture.setHandler(() => ({ status: 401, json: { error: { message: `Incorrect API key provided: ${SECRET}.`, type: 'invalid_request_error', code: 'invalid_api_key' } } }));
    const { config, run } = await setup();
    const f = await failureOf(run());
    expect(f.type).toBe('LlmAuthRejected');
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toMatch(new RegExp(`^${KEY_ENV} rejected by http://127.0.0.1:\\d+/v1 \\(HTTP 401`));
    expect(f.message).toContain(`then \`arlo unpause ${config.id}\``);
    expect(f.message).not.toContain(SECRET);
    expect(f.message).toContain('[redacted]');
    expect(f.cause).toBeUndefined();
  });

  it('400 and 404 are not retried', async () => {
    fixture.setHandler(() => ({ status: 400, json: { error: { message: "Invalid schema for response_format 'proposal'", type: 'invalid_request_error' } } }));
    const { run } = await setup();
    const bad = await failureOf(run());
    expect([bad.type, bad.nonRetryable]).toEqual(['LlmBadRequest', true]);
    expect(bad.message).toContain('llm.method');
    fixture.setHandler(() => ({ status: 404, json: { error: { message: 'The model `fixture-model` does not exist', type: 'invalid_request_error' } } }));
    const missing = await failureOf(run());
    expect([missing.type, missing.nonRetryable]).toEqual(['LlmModelNotFound', true]);
  });

  it('a slow server hits the per-call timeout: retryable', async () => {
    fixture.setHandler(() => ({ delayMs: 5000, json: completion(JSON.stringify(BYPASS)) }));
    const { run } = await setup({ timeoutSeconds: 1 });
    const started = Date.now();
    const f = await failureOf(run());
    const took = Date.now() - started;
    expect(f.type).toBe('LlmTimeout');
    expect(f.nonRetryable).toBe(false);
    expect(f.message).toMatch(/within 1 s/);
    expect(took).toBeGreaterThanOrEqual(900);
    expect(took).toBeLessThan(4000);
  });

  it('an unreachable server is retryable; a missing key is not and sends nothing', async () => {
    const { run } = await setup({ baseUrl: 'http://127.0.0.1:9/v1' });
    const down = await failureOf(run());
    expect([down.type, down.nonRetryable]).toEqual(['LlmUnreachable', false]);

    const { run: noKey } = await setup({ apiKeyEnv: 'ARLO_TEST_UNSET_KEY' });
    const f = await failureOf(noKey());
    expect([f.type, f.nonRetryable]).toEqual(['LlmKeyMissing', true]);
    expect(f.message).toContain('ARLO_TEST_UNSET_KEY is not set where the worker runs');
    expect(fixture.requests).toHaveLength(0);
  });

  it('also works in functionCalling mode (a forced tool call)', async () => {
    fixture.setHandler(() => ({ json: completion(null, { toolCall: { name: 'proposal', arguments: JSON.stringify(BYPASS) } }) }));
    const { run } = await setup({ method: 'functionCalling' });
    const r = await run();
    expect(r.kind).toBe('proposal');
    const body = fixture.requests[0]!.body;
    expect(body.response_format).toBeUndefined();
    expect(body.tools?.[0]?.function.name).toBe('proposal');
    expect(body.tool_choice).toEqual({ type: 'function', function: { name: 'proposal' } });

    // A server that ignores tool_choice and answers in prose: an unusable answer, not a crash.
    fixture.setHandler(() => ({ json: completion('I would add a bypass.') }));
    expect(invalid(await run()).errors[0]).toMatch(/not valid JSON/);
  });

  it('proposes the baseline without calling the model while nothing has succeeded', async () => {
    const home = tempHome('arlo-llm-');
    const activity = createLlmProposeActivity({ home, dataDir: home });
    const { config } = await setup();
    const r = await activity.proposeWithLlm({
      config: { ...config, id: 'fresh' },
      n: 1,
      pendingHashes: [],
      notes: [],
      budget: { experiments: 5, experimentsLeft: 5, minutesLeft: null, tokensLeft: null, usdLeft: null },
      attempts: [],
    });
    expect(r).toMatchObject({ kind: 'proposal', proposal: { agent: 'baseline', n: 1 }, usage: { calls: 0 } });
    expect(fixture.requests).toHaveLength(0);
  });
});
