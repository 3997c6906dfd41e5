// Turning what a model call throws into what Temporal should do. Only this module decides whether
// an LLM failure is worth retrying:
//
//   429 rate limit, 408/409/5xx/529, timeouts, unreachable server  → retryable (429 honours Retry-After)
//   401/403 auth, insufficient_quota, 400/404/413/422, missing key  → non-retryable: the campaign
//                                                                    pauses with what to fix
//
// An answer that arrived but cannot be parsed is not an error here (see isAnswerError): it goes
// back to the model as a repair.

export interface LlmFailure {
  /** ApplicationFailure type, e.g. LlmAuthRejected. */
  type: string;
  message: string;
  retryable: boolean;
  /** Server-requested wait (Retry-After), for ApplicationFailure.nextRetryDelay. */
  retryAfterMs: number | null;
}

export interface FailureContext {
  campaignId: string;
  /** "openai:gpt-4.1-mini" */
  model: string;
  /** Where the model is served, e.g. "http://127.0.0.1:8000/v1" or "the OpenAI API". */
  where: string;
  /** Name of the environment variable the key came from (null: keyless). */
  keyEnv: string | null;
  timeoutSeconds: number;
  /** True when our own per-call timer aborted the call. */
  timedOut: boolean;
}

const MAX_RETRY_AFTER_MS = 10 * 60_000;
const ANSWER_ERRORS = new Set([
  'SyntaxError',
  'OutputParserException',
  'LengthFinishReasonError',
  'ContentFilterFinishReasonError',
  'ZodError',
  '$ZodError',
]);

/** An error raised while parsing an answer the server did send (malformed JSON, cut off, filtered). */
export function isAnswerError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const e = err as Error & { lc_error_code?: string };
  return ANSWER_ERRORS.has(e.name) || ANSWER_ERRORS.has(e.constructor?.name) || e.lc_error_code === 'OUTPUT_PARSING_FAILURE';
}

export function answerErrorText(err: unknown): string {
  const e = err as Error;
  const name = e.constructor?.name ?? e.name;
  if (name === 'LengthFinishReasonError') return 'the answer was cut off at the output token limit; keep hypothesis and rationale short';
  if (name === 'ContentFilterFinishReasonError') return "the answer was stopped by the provider's content filter";
  if (e.name === 'SyntaxError') return `the answer is not valid JSON (${firstLine(e.message)}); answer with only the JSON object`;
  return `the answer could not be parsed: ${firstLine(e.message)}`;
}

export function classifyLlmError(err: unknown, ctx: FailureContext): LlmFailure {
  const e = (err ?? {}) as Record<string, unknown> & { message?: unknown; name?: unknown };
  const status = httpStatus(e);
  // The OpenAI client prefixes messages with the status ("429 Rate limit reached"): said once is enough.
  const detail = firstLine(typeof e.message === 'string' ? e.message : String(err)).replace(/^\d{3}\s+/, '');
  const unpause = `\`arlo unpause ${ctx.campaignId}\``;
  const code = String(e.code ?? (e.error as Record<string, unknown> | undefined)?.code ?? (e.error as Record<string, unknown> | undefined)?.type ?? '');

  if (ctx.timedOut || e.name === 'TimeoutError' || e.constructor?.name === 'APIConnectionTimeoutError') {
    return {
      type: 'LlmTimeout',
      message: `no answer from ${ctx.model} at ${ctx.where} within ${ctx.timeoutSeconds} s (llm.timeoutSeconds)`,
      retryable: true,
      retryAfterMs: null,
    };
  }
  if (code === 'insufficient_quota' || e.name === 'InsufficientQuotaError') {
    return {
      type: 'LlmQuotaExhausted',
      message: `${ctx.model} at ${ctx.where}: insufficient quota (HTTP ${status ?? 429}: ${detail}): add credit or raise the account's limit, then ${unpause}`,
      retryable: false,
      retryAfterMs: null,
    };
  }
  if (status === 401 || status === 403) {
    const what = ctx.keyEnv ? `${ctx.keyEnv} rejected` : `the request was rejected (no key is configured)`;
    const fix = ctx.keyEnv
      ? `set a valid key in ${ctx.keyEnv} where the worker runs, restart the worker, then ${unpause}`
      : `set llm.apiKeyEnv to the variable that holds the server's key (a new campaign), or fix the server, then ${unpause}`;
    return { type: 'LlmAuthRejected', message: `${what} by ${ctx.where} (HTTP ${status}: ${detail}): ${fix}`, retryable: false, retryAfterMs: null };
  }
  if (status === 429) {
    const retryAfterMs = retryAfter(e);
    return {
      type: 'LlmRateLimited',
      message: `rate limited by ${ctx.where} (HTTP 429: ${detail})${retryAfterMs !== null ? `; the server asks to retry after ${Math.round(retryAfterMs / 1000)} s` : ''}`,
      retryable: true,
      retryAfterMs,
    };
  }
  if (status === 404) {
    return {
      type: 'LlmModelNotFound',
      message:
        `${ctx.model} not found at ${ctx.where} (HTTP 404: ${detail}): make the server serve that model (e.g. \`ollama pull <name>\`) ` +
        `and check that llm.baseUrl ends where the API starts (often /v1), then ${unpause}`,
      retryable: false,
      retryAfterMs: null,
    };
  }
  if (status === 400 || status === 413 || status === 422) {
    return {
      type: 'LlmBadRequest',
      message:
        `${ctx.where} rejected the request for ${ctx.model} as invalid (HTTP ${status}: ${detail}). ` +
        `If the server does not support structured output, start a new campaign with llm.method: functionCalling (or jsonSchema); ` +
        `if the prompt is too long, lower llm.maxPromptTokens. After fixing the server, ${unpause}`,
      retryable: false,
      retryAfterMs: null,
    };
  }
  if (status !== null && (status === 408 || status === 409 || status >= 500)) {
    return { type: 'LlmServerError', message: `${ctx.where} failed (HTTP ${status}: ${detail})`, retryable: true, retryAfterMs: retryAfter(e) };
  }
  if (status !== null) {
    return {
      type: 'LlmRequestRejected',
      message: `${ctx.where} refused the request for ${ctx.model} (HTTP ${status}: ${detail}); fix the cause, then ${unpause}`,
      retryable: false,
      retryAfterMs: null,
    };
  }
  if (isConnectionError(err)) {
    return {
      type: 'LlmUnreachable',
      message: `cannot reach ${ctx.where} for ${ctx.model} (${detail}): is the server running and is llm.baseUrl right?`,
      retryable: true,
      retryAfterMs: null,
    };
  }
  return { type: 'LlmError', message: `calling ${ctx.model} at ${ctx.where} failed: ${detail}`, retryable: true, retryAfterMs: null };
}

function httpStatus(e: Record<string, unknown>): number | null {
  for (const value of [e.status, e.statusCode, e.status_code, (e.response as Record<string, unknown> | undefined)?.status]) {
    if (typeof value === 'number' && value >= 100 && value < 600) return value;
  }
  return null;
}

/** Retry-After (seconds or an HTTP date) or retry-after-ms, capped at 10 minutes. */
export function retryAfter(e: Record<string, unknown>): number | null {
  const header = (name: string): string | null => {
    const h = e.headers as { get?: (n: string) => string | null } | Record<string, string> | undefined;
    if (!h) return null;
    if (typeof (h as { get?: unknown }).get === 'function') return (h as { get(n: string): string | null }).get(name);
    const rec = h as Record<string, string>;
    return rec[name] ?? rec[name.toLowerCase()] ?? null;
  };
  let ms: number | null = null;
  const msHeader = header('retry-after-ms');
  const sHeader = header('retry-after');
  if (msHeader !== null && Number.isFinite(Number(msHeader))) ms = Number(msHeader);
  else if (sHeader !== null && sHeader.trim() !== '') {
    const seconds = Number(sHeader);
    if (Number.isFinite(seconds)) ms = seconds * 1000;
    else if (Number.isFinite(Date.parse(sHeader))) ms = Date.parse(sHeader) - Date.now();
  } else if (typeof e.retryAfterMs === 'number') ms = e.retryAfterMs;
  if (ms === null || !Number.isFinite(ms)) return null;
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, Math.round(ms)));
}

function isConnectionError(err: unknown): boolean {
  for (let e = err as { name?: string; code?: string; message?: string; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (e.name === 'APIConnectionError' || (e as object).constructor?.name === 'APIConnectionError') return true;
    if (typeof e.code === 'string' && /^(ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ETIMEDOUT|UND_ERR_)/.test(e.code)) return true;
    if (typeof e.message === 'string' && /fetch failed|connection error|socket hang up/i.test(e.message)) return true;
  }
  return false;
}

function firstLine(text: string): string {
  const line = String(text).split('\n').find((l) => l.trim() !== '') ?? '';
  return line.length > 300 ? `${line.slice(0, 297)}...` : line.trim();
}
