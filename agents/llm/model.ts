import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { parseModel, type LlmConfig, type LlmProvider } from '../../config/campaign-config.ts';

// Chat models for `openai:`, `anthropic:` and `ollama:` (plus any OpenAI-compatible server through
// `openai:` + baseUrl), built explicitly so every safety setting is visible here:
// - maxRetries 0: Temporal owns retries (LangChain's own would retry a bad answer 7 times);
// - never streaming (offline, `streaming: true` stalls on a tokenizer download);
// - no callbacks or tracing;
// - a per-call timeout;
// - the key passed in by the caller (read from the environment inside the activity), a dummy
//   one for keyless local servers, because ChatOpenAI requires one.
// Provider packages are imported lazily: only the worker that calls a model loads them.

export type StructuredMethod = 'jsonSchema' | 'functionCalling';

export interface ModelHandle {
  model: BaseChatModel;
  provider: LlmProvider;
  name: string;
  method: StructuredMethod;
  /** Pass `strict: true` to withStructuredOutput (OpenAI-style strict schemas). */
  strict: boolean;
  /** Human-readable endpoint for messages (no secrets). */
  where: string;
  /** The last raw HTTP response body, when the provider lets us see it (OpenAI-compatible). */
  lastResponseBody(): string | null;
}

/** A key for servers that need none (ChatOpenAI refuses to start without one). */
export const DUMMY_KEY = 'not-needed';

const MAX_CAPTURE_CHARS = 256_000;

export function defaultMethod(provider: LlmProvider): StructuredMethod {
  return provider === 'anthropic' ? 'functionCalling' : 'jsonSchema';
}

export function endpointOf(llm: Pick<LlmConfig, 'model' | 'baseUrl'>): string {
  const { provider } = parseModel(llm.model);
  if (llm.baseUrl) return llm.baseUrl;
  if (provider === 'openai') return 'the OpenAI API';
  if (provider === 'anthropic') return 'the Anthropic API';
  return 'Ollama at http://127.0.0.1:11434';
}

export async function createChatModel(llm: LlmConfig, apiKey: string | null): Promise<ModelHandle> {
  const { provider, name } = parseModel(llm.model);
  const timeout = Math.round(llm.timeoutSeconds * 1000);
  const method = llm.method ?? defaultMethod(provider);
  const temperature = llm.temperature ?? undefined;
  const where = endpointOf(llm);
  let last: string | null = null;

  if (provider === 'openai') {
    const { ChatOpenAI } = await import('@langchain/openai');
    const capturingFetch: typeof fetch = async (input, init) => {
      last = null;
      const response = await fetch(input, init);
      try {
        last = (await response.clone().text()).slice(0, MAX_CAPTURE_CHARS);
      } catch {
        last = null;
      }
      return response;
    };
    const model = new ChatOpenAI({
      model: name,
      apiKey: apiKey ?? DUMMY_KEY,
      temperature,
      maxRetries: 0,
      timeout,
      streaming: false,
      configuration: { ...(llm.baseUrl ? { baseURL: llm.baseUrl } : {}), fetch: capturingFetch, maxRetries: 0 },
      // Keeps the provider's raw response on the message: the only place a refusal's text survives.
      __includeRawResponse: true,
    });
    return { model, provider, name, method, strict: method === 'jsonSchema', where, lastResponseBody: () => last };
  }
  if (provider === 'anthropic') {
    const { ChatAnthropic } = await import('@langchain/anthropic');
    const model = new ChatAnthropic({
      model: name,
      apiKey: apiKey ?? DUMMY_KEY,
      temperature,
      maxRetries: 0,
      streaming: false,
      ...(llm.baseUrl ? { anthropicApiUrl: llm.baseUrl } : {}),
      clientOptions: { timeout, maxRetries: 0 },
    });
    return { model: model as unknown as BaseChatModel, provider, name, method, strict: false, where, lastResponseBody: () => null };
  }
  const { ChatOllama } = await import('@langchain/ollama');
  const model = new ChatOllama({
    model: name,
    baseUrl: llm.baseUrl ?? 'http://127.0.0.1:11434',
    temperature,
    maxRetries: 0,
    streaming: false,
    ...(apiKey ? { headers: { Authorization: `Bearer ${apiKey}` } } : {}),
  });
  return { model: model as unknown as BaseChatModel, provider, name, method, strict: false, where, lastResponseBody: () => null };
}
