import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

// A local OpenAI-compatible server for tests: POST /v1/chat/completions on 127.0.0.1 (random
// port), answered by a scripted handler per request; every request body is recorded. It drives the
// real ChatOpenAI client (configuration.baseURL), so tests see exactly what LangChain sends.

export interface FixtureRequest {
  path: string;
  headers: IncomingHttpHeaders;
  /** Parsed JSON body. */
  body: ChatRequestBody;
  /** Milliseconds since the fixture started. */
  at: number;
}

export interface ChatRequestBody {
  model: string;
  messages: Array<{ role: string; content: string | null }>;
  response_format?: { type: string; json_schema?: { name: string; strict?: boolean; schema: Record<string, unknown> } };
  tools?: Array<{ type: string; function: { name: string; parameters: Record<string, unknown> } }>;
  tool_choice?: unknown;
  stream?: boolean;
  [key: string]: unknown;
}

export interface FixtureReply {
  status?: number;
  json?: unknown;
  /** Raw body text instead of json. */
  text?: string;
  headers?: Record<string, string>;
  /** Wait this long before answering (a slow server). */
  delayMs?: number;
}

export type FixtureHandler = (req: FixtureRequest, index: number) => FixtureReply | Promise<FixtureReply>;

export interface OpenAiFixture {
  /** Base URL for ChatOpenAI's configuration.baseURL, e.g. http://127.0.0.1:41234/v1 */
  url: string;
  requests: FixtureRequest[];
  setHandler(handler: FixtureHandler): void;
  close(): Promise<void>;
}

export async function startOpenAiFixture(handler: FixtureHandler = () => ({ status: 500, json: { error: { message: 'no handler' } } })): Promise<OpenAiFixture> {
  let current = handler;
  const requests: FixtureRequest[] = [];
  const started = Date.now();
  const server: Server = createServer((req, res) => {
    let data = '';
    req.on('data', (chunk) => (data += chunk));
    req.on('end', async () => {
      let body: ChatRequestBody;
      try {
        body = JSON.parse(data) as ChatRequestBody;
      } catch {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: 'request body is not JSON' } }));
        return;
      }
      const record: FixtureRequest = { path: req.url ?? '', headers: req.headers, body, at: Date.now() - started };
      requests.push(record);
      if (req.method !== 'POST' || !record.path.endsWith('/chat/completions')) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: `no route ${req.method} ${record.path}` } }));
        return;
      }
      const reply = await current(record, requests.length - 1);
      const send = () => {
        if (res.destroyed) return;
        res.writeHead(reply.status ?? 200, { 'content-type': 'application/json', ...(reply.headers ?? {}) });
        res.end(reply.text ?? JSON.stringify(reply.json ?? {}));
      };
      if (reply.delayMs) {
        const timer = setTimeout(send, reply.delayMs);
        res.on('close', () => clearTimeout(timer));
      } else {
        send();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    setHandler(h) {
      current = h;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface CompletionOptions {
  refusal?: string;
  finishReason?: string;
  usage?: { prompt_tokens: number; completion_tokens: number } | null;
  toolCall?: { name: string; arguments: string };
}

/** A chat.completion response body with one choice. */
export function completion(content: string | null, opts: CompletionOptions = {}): Record<string, unknown> {
  const usage = opts.usage === null ? undefined : (opts.usage ?? { prompt_tokens: 1000, completion_tokens: 100 });
  return {
    id: `chatcmpl-${Math.random().toString(36).slice(2)}`,
    object: 'chat.completion',
    created: 1_700_000_000,
    model: 'fixture-model',
    choices: [
      {
        index: 0,
        finish_reason: opts.finishReason ?? (opts.toolCall ? 'tool_calls' : 'stop'),
        message: {
          role: 'assistant',
          content,
          refusal: opts.refusal ?? null,
          ...(opts.toolCall
            ? { tool_calls: [{ id: 'call_1', type: 'function', function: { name: opts.toolCall.name, arguments: opts.toolCall.arguments } }] }
            : {}),
        },
      },
    ],
    ...(usage ? { usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens } } : {}),
  };
}

type FlatEditInput = { op: string } & Partial<Record<'from' | 'to' | 'merge' | 'node' | 'after' | 'activation', string | null>> &
  Partial<Record<'units' | 'rate' | 'value', number | null>>;

/** A proposal answer in the flat schema (missing edit fields become null). */
export function answer(edits: FlatEditInput[], hypothesis = 'A test hypothesis'): Record<string, unknown> {
  const fields = ['from', 'to', 'merge', 'node', 'after', 'units', 'activation', 'rate', 'value'] as const;
  return {
    hypothesis,
    rationale: 'Because the fixture says so.',
    expectedEffect: 'val_accuracy +0.01',
    edits: edits.map((e) => ({ ...Object.fromEntries(fields.map((f) => [f, null])), ...e })),
  };
}

/** The user message (the prompt) of a recorded request. */
export function promptOf(req: FixtureRequest): string {
  return req.body.messages.filter((m) => m.role === 'user').map((m) => m.content ?? '')[0] ?? '';
}

/** The experiment a request proposes ("Propose experiment 5 of campaign ..."), or null. */
export function experimentOf(req: FixtureRequest): number | null {
  const m = promptOf(req).match(/Propose experiment (\d+) of campaign/);
  return m ? Number(m[1]) : null;
}
