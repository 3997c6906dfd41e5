// Secrets never leave the activity that reads them. Everything the LLM agent returns or throws
// (answers, prompts, response.json, error messages) passes through a Scrubber first: the key
// values it knows (read from the environment) and anything shaped like a provider key or bearer
// token become "[redacted]".

const KEY_SHAPES = [
  /\bsk-(?:proj-|ant-(?:api\d+-)?)?[A-Za-z0-9_-]{16,}/g,
  /\bBearer\s+[A-Za-z0-9._~+/=-]{8,}/gi,
  /\b(x-api-key|api[_-]?key|authorization)(["']?\s*[:=]\s*["']?)[^\s"',}]{8,}/gi,
];

export type Scrubber = (text: string) => string;

/** A scrubber for these secret values (shorter than 6 characters are ignored: too likely to be words). */
export function makeScrubber(secrets: Array<string | undefined | null>): Scrubber {
  const values = [...new Set(secrets.filter((s): s is string => typeof s === 'string' && s.trim().length >= 6))]
    .map((s) => s.trim())
    .sort((a, b) => b.length - a.length);
  return (text: string) => {
    let out = String(text);
    for (const v of values) out = out.split(v).join('[redacted]');
    out = out.replace(KEY_SHAPES[0]!, '[redacted]');
    out = out.replace(KEY_SHAPES[1]!, 'Bearer [redacted]');
    out = out.replace(KEY_SHAPES[2]!, (_, name: string, sep: string) => `${name}${sep}[redacted]`);
    return out;
  };
}

/** The values of the environment variables that may hold LLM keys in this process. */
export function secretsFromEnv(names: Array<string | null | undefined>, env: NodeJS.ProcessEnv = process.env): string[] {
  const all = new Set(['OPENAI_API_KEY', 'ANTHROPIC_API_KEY', ...names.filter((n): n is string => !!n)]);
  return [...all].map((n) => env[n]).filter((v): v is string => typeof v === 'string' && v.length > 0);
}
