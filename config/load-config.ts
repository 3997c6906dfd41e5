import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { UserError } from '../server/user-error.ts';
import { campaignConfigSchema, configInputSchema, type CampaignConfig } from './campaign-config.ts';

// Turns a YAML file or CLI flags into a complete CampaignConfig, or a UserError that names the
// field, what is wrong and how to fix it.

export function loadCampaignFile(path: string, defaults: { id: string }): CampaignConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UserError(`cannot read campaign file ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, {
      hint: 'check the path, or start without a file: arlo start --experiment deep-mlp',
    });
  }
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!;
    // The first line only: the excerpt that follows could show a secret someone pasted.
    throw new UserError(`${path}: invalid YAML: ${first.message.split('\n')[0]}`, {
      hint: YAML_HINTS[first.code] ?? 'fix the YAML syntax at that line (indentation, a missing ":" or an unclosed quote)',
    });
  }
  let raw: unknown;
  try {
    raw = doc.toJS();
  } catch (err) {
    // e.g. an alias (*name) whose anchor (&name) is not defined before it
    throw new UserError(`${path}: invalid YAML: ${(err as Error).message.split('\n')[0]}`, {
      hint: 'define every anchor (&name) before its alias (*name), or write the value out in full',
    });
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    const what = text.trim() === '' ? ' (the file is empty)' : '';
    throw new UserError(`${path}: expected a mapping of campaign settings (experiment, agent, budget, ...)${what}`, {
      hint: 'see experiments/deep-mlp.campaign.yaml for an example',
    });
  }
  return completeConfig(raw as Record<string, unknown>, defaults, path);
}

export function completeConfig(raw: Record<string, unknown>, defaults: { id: string }, source: string): CampaignConfig {
  const parsed = configInputSchema.safeParse(raw);
  if (!parsed.success) throw configError(parsed.error, source, raw);
  const full = { ...parsed.data, id: parsed.data.id ?? defaults.id };
  const checked = campaignConfigSchema.safeParse(full);
  if (!checked.success) throw configError(checked.error, source, raw);
  const problems = extraProblems(checked.data);
  if (problems.length > 0) throw configUserError(problems, source);
  return checked.data;
}

const INDENT_HINT =
  'indent nested fields with spaces, every field of one mapping at the same column, and put ": " after each key, ' +
  'e.g. "budget:" then "  experiments: 12" and "  minutes: 30" on their own lines';

/** Fixes for the YAML parser's error codes a hand-written campaign file runs into. */
const YAML_HINTS: Record<string, string> = {
  TAB_AS_INDENT: 'indent with spaces, not tabs (YAML does not allow tabs for indentation)',
  DUPLICATE_KEY: 'every field may appear only once; delete the repeated key or merge the two',
  MISSING_CHAR: 'close the quote or bracket that opens before that point',
  BAD_INDENT: INDENT_HINT,
  BLOCK_AS_IMPLICIT_KEY: INDENT_HINT,
  MULTILINE_IMPLICIT_KEY: INDENT_HINT,
  MULTIPLE_DOCS: 'a campaign file holds one document; remove the "---" separator and the second document',
};

/** An environment variable NAME is upper-case words; a mixed-case run of letters and digits, or sk_..., is a key. */
function looksLikeKeyValue(name: string): boolean {
  return /^(sk|pk|rk|gsk|xai)[_-]/i.test(name) || (name.length >= 20 && /[a-z]/.test(name) && /[A-Z]/.test(name) && /\d/.test(name));
}

/** Checks the schema cannot express; never echoes a value that may be a secret. */
function extraProblems(config: CampaignConfig): string[] {
  const problems: string[] = [];
  const llm = config.llm;
  if (llm?.apiKeyEnv && looksLikeKeyValue(llm.apiKeyEnv)) {
    problems.push(
      'field "llm.apiKeyEnv": this looks like an API key itself, not the name of an environment variable; ' +
        'put the key in a variable where the worker runs (e.g. export MY_LLM_KEY=...) and write apiKeyEnv: MY_LLM_KEY. ' +
        'If the key was committed or shared, revoke it',
    );
  }
  if (llm?.baseUrl && !/^https?:\/\//i.test(llm.baseUrl)) {
    problems.push(`field "llm.baseUrl": ${JSON.stringify(llm.baseUrl.slice(0, 200))} is not an http(s) URL; write it in full, e.g. http://127.0.0.1:8000/v1`);
  }
  return problems;
}

function configError(error: z.ZodError, source: string, raw: unknown): UserError {
  const lines = error.issues.map((issue) => {
    const field = issue.path.length > 0 ? issue.path.join('.') : '(top level)';
    if (issue.code === 'unrecognized_keys') {
      const secret = issue.keys.find((k) => /api_?key|^key$|secret|password|bearer/i.test(k));
      const unknown = `unknown field ${issue.keys.map((k) => `"${k}"`).join(', ')}${issue.path.length ? ` in ${field}` : ''}`;
      if (secret) {
        return `${unknown}: keys never go into campaign files; set OPENAI_API_KEY or ANTHROPIC_API_KEY where the worker runs, or name another variable with llm.apiKeyEnv`;
      }
      const known = knownKeys(issue.path);
      const guesses = issue.keys.map((k) => closest(k, known)).filter((g): g is string => g !== null);
      const suggestion = guesses.length > 0 ? `; did you mean ${guesses.map((g) => `"${g}"`).join(', ')}?` : '';
      return `${unknown}${suggestion}${known.length > 0 ? ` (fields here: ${known.join(', ')})` : ''}`;
    }
    // Numbers and booleans are echoed (never strings: one may be a pasted key).
    const value = valueAt(raw, issue.path);
    if (issue.code === 'invalid_type' && value === undefined) return `field "${field}": required, but missing`;
    const got = issue.code !== 'custom' && (typeof value === 'number' || typeof value === 'boolean') ? ` (got ${String(value)})` : '';
    return `field "${field}": ${issue.message}${got}`;
  });
  return configUserError(lines, source);
}

function configUserError(lines: string[], source: string): UserError {
  return new UserError(`${source}: invalid campaign configuration:\n  - ${lines.join('\n  - ')}`, {
    hint:
      'known fields: id, experiment, agent (random|evolution|llm|noop), seed, budget.experiments, budget.minutes, ' +
      'budget.tokens, budget.usd, budget.compute, concurrency, agentOptions, evaluation.seeds, evaluation.test ' +
      '(welch-t|paired-bootstrap), evaluation.alpha, evaluation.minEffect, evaluation.fidelity, evaluation.eta, evaluation.holdout, llm.model, llm.baseUrl, llm.temperature, llm.apiKeyEnv, ' +
      'llm.maxPromptTokens, llm.timeoutSeconds, llm.maxRepairs, llm.method, llm.prices',
  });
}

type AnySchema = { _zod?: { def?: Record<string, unknown> & { type?: string } } };

/** The field names the input schema accepts at `path` (empty when that is not a fixed mapping). */
function knownKeys(path: readonly PropertyKey[]): string[] {
  const unwrap = (s: AnySchema | undefined): AnySchema | undefined => {
    let cur = s;
    for (let i = 0; i < 8 && cur?._zod?.def && ['default', 'optional', 'nullable', 'prefault'].includes(cur._zod.def.type ?? ''); i++) {
      cur = cur._zod.def.innerType as AnySchema | undefined;
    }
    return cur;
  };
  let schema = unwrap(configInputSchema as unknown as AnySchema);
  for (const key of path) {
    const def = schema?._zod?.def;
    if (def?.type === 'object') schema = unwrap((def.shape as Record<string, AnySchema>)[String(key)]);
    else if (def?.type === 'record') schema = unwrap(def.valueType as AnySchema);
    else return [];
  }
  const def = schema?._zod?.def;
  return def?.type === 'object' ? Object.keys(def.shape as object) : [];
}

/** The known name nearest to `key` (typos: 1 edit, or 2 for names of 6+ letters; a swap counts as 1), or null. */
function closest(key: string, known: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const name of known) {
    const d = editDistance(key.toLowerCase(), name.toLowerCase());
    if (d <= (name.length >= 6 ? 2 : 1) && d < bestDistance) {
      bestDistance = d;
      best = name;
    }
  }
  return best;
}

/** Optimal-string-alignment distance: insertions, deletions, substitutions and adjacent swaps. */
function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let cur = raw;
  for (const key of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[key as string];
  }
  return cur;
}
