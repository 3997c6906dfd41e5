import { AIMessage, HumanMessage, SystemMessage, type BaseMessage } from '@langchain/core/messages';
import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { answerJsonSchema } from './schema.ts';
import { answerErrorText, isAnswerError } from './errors.ts';
import type { ChatTurn } from './prompt.ts';
import type { StructuredMethod } from './model.ts';

// One structured-output call, normalised across providers and LangChain's fakes into: the answer
// value (or why there is none), the answer's text for the record, and token usage. Transport errors
// (HTTP status, timeouts, unreachable servers) are thrown for errors.ts to classify.

export interface ModelReply {
  /** The JSON value to validate; undefined when the reply holds none. */
  value: unknown;
  /** Why there is no usable value (refusal, malformed JSON, no tool call, cut off...). */
  problem: string | null;
  /** The answer as text, for repairs and response.json. */
  text: string;
  usage: { inputTokens: number; outputTokens: number; totalTokens: number; estimated: boolean };
  finishReason: string | null;
  refusal: string | null;
}

export interface CallOptions {
  method: StructuredMethod;
  strict: boolean;
  signal?: AbortSignal;
  /** The raw HTTP body of the last response, when the provider exposes it. */
  lastResponseBody?: () => string | null;
}

export function toMessages(turns: ChatTurn[]): BaseMessage[] {
  return turns.map((t) =>
    t.role === 'system' ? new SystemMessage(t.content) : t.role === 'user' ? new HumanMessage(t.content) : new AIMessage(t.content),
  );
}

export async function callModel(model: BaseChatModel, turns: ChatTurn[], opts: CallOptions): Promise<ModelReply> {
  const structured = model.withStructuredOutput(answerJsonSchema(), {
    name: 'proposal',
    method: opts.method,
    includeRaw: true,
    ...(opts.strict ? { strict: true } : {}),
  });
  const promptChars = turns.reduce((s, t) => s + t.content.length, 0);
  let out: unknown;
  try {
    out = await structured.invoke(toMessages(turns), { signal: opts.signal });
  } catch (err) {
    if (!isAnswerError(err)) throw err;
    // The provider's client parsed the answer itself and threw it away: recover its text if we can.
    const text = contentFromBody(opts.lastResponseBody?.() ?? null);
    return {
      value: undefined,
      problem: answerErrorText(err),
      text: text ?? '(the answer could not be read)',
      usage: estimateUsage(promptChars, text?.length ?? 0),
      finishReason: null,
      refusal: null,
    };
  }
  if (isRawResult(out)) return fromRaw(out.raw as AIMessage, out.parsed, promptChars);
  // LangChain's fakes return the parsed value itself.
  const text = JSON.stringify(out) ?? '';
  return { value: out, problem: out === undefined || out === null ? 'the answer was empty' : null, text, usage: estimateUsage(promptChars, text.length), finishReason: null, refusal: null };
}

function isRawResult(out: unknown): out is { raw: unknown; parsed: unknown } {
  return typeof out === 'object' && out !== null && 'raw' in out && AIMessage.isInstance((out as { raw: unknown }).raw);
}

function fromRaw(raw: AIMessage, parsed: unknown, promptChars: number): ModelReply {
  const kwargs = (raw.additional_kwargs ?? {}) as Record<string, unknown>;
  const rawResponse = kwargs.__raw_response as { choices?: Array<{ message?: { refusal?: string | null }; finish_reason?: string }> } | undefined;
  const refusal = rawResponse?.choices?.[0]?.message?.refusal ?? (typeof kwargs.refusal === 'string' ? kwargs.refusal : null) ?? null;
  const meta = (raw.response_metadata ?? {}) as Record<string, unknown>;
  const finishReason = (meta.finish_reason ?? meta.stop_reason ?? meta.done_reason ?? null) as string | null;
  const content = textOf(raw.content);
  const toolCall = raw.tool_calls?.[0];
  const invalidTool = raw.invalid_tool_calls?.[0];
  const text = toolCall ? JSON.stringify(toolCall.args) : invalidTool ? String(invalidTool.args ?? '') : content;
  const u = raw.usage_metadata;
  const usage = u
    ? { inputTokens: u.input_tokens ?? 0, outputTokens: u.output_tokens ?? 0, totalTokens: u.total_tokens ?? (u.input_tokens ?? 0) + (u.output_tokens ?? 0), estimated: false }
    : estimateUsage(promptChars, text.length);
  const reply = (value: unknown, problem: string | null): ModelReply => ({ value, problem, text: text || (refusal ?? ''), usage, finishReason, refusal });

  if (refusal) return reply(undefined, `the model refused: "${refusal}"; the task is a benign architecture search, please propose an experiment`);
  if (toolCall) return reply(toolCall.args, null);
  if (invalidTool) return reply(undefined, `the tool call's arguments are not valid JSON (${invalidTool.error ?? 'parse error'})`);
  if (finishReason === 'length') return reply(undefined, 'the answer was cut off at the output token limit; keep hypothesis and rationale short');
  if (content.trim() === '') {
    if (parsed !== null && parsed !== undefined) return reply(parsed, null);
    return reply(undefined, 'the answer was empty; answer with the JSON object');
  }
  const json = parseJsonText(content);
  if ('error' in json) return reply(undefined, `the answer is not valid JSON (${json.error}); answer with only the JSON object`);
  return reply(json.value, null);
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((b) => (typeof b === 'string' ? b : b && typeof b === 'object' && 'text' in b ? String((b as { text: unknown }).text) : ''))
      .join('');
  }
  return '';
}

/** JSON, tolerating a Markdown code fence around it (common with local models). */
export function parseJsonText(text: string): { value: unknown } | { error: string } {
  const trimmed = text.trim();
  const fenced = trimmed.match(/^```(?:json)?\s*\n?([\s\S]*?)\n?```$/);
  try {
    return { value: JSON.parse(fenced ? fenced[1]! : trimmed) };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

function contentFromBody(body: string | null): string | null {
  if (!body) return null;
  try {
    const parsed = JSON.parse(body) as { choices?: Array<{ message?: { content?: string | null } }> };
    const content = parsed.choices?.[0]?.message?.content;
    return typeof content === 'string' ? content : body;
  } catch {
    return body;
  }
}

/** When a server reports no usage, the ledger still counts: characters / 4, marked as estimated. */
function estimateUsage(promptChars: number, answerChars: number): ModelReply['usage'] {
  const inputTokens = Math.ceil(promptChars / 4);
  const outputTokens = Math.ceil(answerChars / 4);
  return { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens, estimated: true };
}
