import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toFailure } from '../activities/llm-propose.ts';
import { callModel } from '../agents/llm/call.ts';
import { createChatModel } from '../agents/llm/model.ts';
import { makeScrubber } from '../agents/llm/scrub.ts';
import { LLM_DEFAULTS } from '../config/campaign-config.ts';

// The Anthropic and Ollama chat models as arlo builds them, against minimal local stand-ins of
// their APIs: the structured-output request each sends, and what comes back.

interface Seen {
  url: string;
  headers: IncomingHttpHeaders;
  body: Record<string, any>;
}
const seen: Seen[] = [];
let status = 200;
let server: Server;
let base: string;
const ANSWER = { hypothesis: 'h', rationale: 'r', expectedEffect: 'e', edits: [] };

beforeAll(async () => {
  server = createServer((req, res) => {
    let data = '';
    req.on('data', (c) => (data += c));
    req.on('end', () => {
      seen.push({ url: req.url ?? '', headers: req.headers, body: JSON.parse(data) });
      res.writeHead(status, { 'content-type': 'application/json' });
      if (status !== 200) {
        res.end(JSON.stringify({ type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key sk-ant-test-SECRET-abcdefghijklmnop' } }));
      } else if (req.url?.includes('/v1/messages')) {
        res.end(
          JSON.stringify({
            id: 'msg_1',
            type: 'message',
            role: 'assistant',
            model: 'claude-x',
            stop_reason: 'tool_use',
            content: [{ type: 'tool_use', id: 'toolu_1', name: 'proposal', input: ANSWER }],
            usage: { input_tokens: 10, output_tokens: 5 },
          }),
        );
      } else {
        res.end(JSON.stringify({ model: 'q', created_at: '2026-01-01T00:00:00Z', message: { role: 'assistant', content: JSON.stringify(ANSWER) }, done: true, done_reason: 'stop', prompt_eval_count: 12, eval_count: 7 }));
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const turns = [
  { role: 'system' as const, content: 'be careful' },
  { role: 'user' as const, content: 'propose' },
];

describe('other providers', () => {
  it('Anthropic: a forced tool call with the flat schema, the key in x-api-key, usage read back', async () => {
    seen.length = 0;
    status = 200;
    const h = await createChatModel({ ...LLM_DEFAULTS, model: 'anthropic:claude-x', baseUrl: base }, 'sk-ant-test-key');
    expect(h.method).toBe('functionCalling');
    const reply = await callModel(h.model, turns, { method: h.method, strict: h.strict });
    expect(reply).toMatchObject({ value: ANSWER, problem: null, usage: { inputTokens: 10, outputTokens: 5, totalTokens: 15, estimated: false } });
    expect(seen).toHaveLength(1);
    expect(seen[0]!.url).toBe('/v1/messages');
    expect(seen[0]!.headers['x-api-key']).toBe('sk-ant-test-key');
    expect(seen[0]!.body.stream).toBe(false);
    expect(seen[0]!.body.tools[0].name).toBe('proposal');
    expect(seen[0]!.body.tool_choice).toEqual({ type: 'tool', name: 'proposal' });
  });

  it('Anthropic: a 401 is not retried (one request) and becomes a scrubbed, non-retryable failure', async () => {
    seen.length = 0;
    status = 401;
    const h = await createChatModel({ ...LLM_DEFAULTS, model: 'anthropic:claude-x', baseUrl: base }, 'sk-ant-test-key');
    const err = await callModel(h.model, turns, { method: h.method, strict: h.strict }).catch((e: unknown) => e);
    expect(seen).toHaveLength(1);
    const f = toFailure(err, { campaignId: 'c', model: 'anthropic:claude-x', where: base, keyEnv: 'ANTHROPIC_API_KEY', timeoutSeconds: 60, timedOut: false }, makeScrubber([]));
    expect([f.type, f.nonRetryable]).toEqual(['LlmAuthRejected', true]);
    expect(f.message).toMatch(/^ANTHROPIC_API_KEY rejected by .* \(HTTP 401: /);
    expect(f.message).not.toContain('SECRET');
  });

  it('Ollama: the schema as `format`, no key needed, usage from the eval counts', async () => {
    seen.length = 0;
    status = 200;
    const h = await createChatModel({ ...LLM_DEFAULTS, model: 'ollama:qwen3:8b', baseUrl: base }, null);
    const reply = await callModel(h.model, turns, { method: h.method, strict: h.strict });
    expect(reply).toMatchObject({ value: ANSWER, problem: null, usage: { inputTokens: 12, outputTokens: 7 } });
    expect(seen[0]!.url).toBe('/api/chat');
    expect(seen[0]!.body.model).toBe('qwen3:8b');
    expect(seen[0]!.body.format.required).toEqual(['hypothesis', 'rationale', 'expectedEffect', 'edits']);
    expect(seen[0]!.headers.authorization).toBeUndefined();
  });
});
