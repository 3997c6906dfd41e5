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
    throw new UserError(`${path}: invalid YAML: ${first.message.split('\n')[0]}`, {
      hint: 'fix the YAML syntax at that line (indentation, a missing ":" or an unclosed quote)',
    });
  }
  const raw = doc.toJS() as unknown;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new UserError(`${path}: expected a mapping of campaign settings (experiment, agent, budget, ...)`, {
      hint: 'see experiments/deep-mlp.campaign.yaml for an example',
    });
  }
  return completeConfig(raw as Record<string, unknown>, defaults, path);
}

export function completeConfig(raw: Record<string, unknown>, defaults: { id: string }, source: string): CampaignConfig {
  const parsed = configInputSchema.safeParse(raw);
  if (!parsed.success) throw configError(parsed.error, source);
  const full = { ...parsed.data, id: parsed.data.id ?? defaults.id };
  const checked = campaignConfigSchema.safeParse(full);
  if (!checked.success) throw configError(checked.error, source);
  return checked.data;
}

function configError(error: z.ZodError, source: string): UserError {
  const lines = error.issues.map((issue) => {
    const field = issue.path.length > 0 ? issue.path.join('.') : '(top level)';
    if (issue.code === 'unrecognized_keys') {
      const secret = issue.keys.find((k) => /api_?key|^key$|secret|password|bearer/i.test(k));
      const unknown = `unknown field ${issue.keys.map((k) => `"${k}"`).join(', ')}${issue.path.length ? ` in ${field}` : ''}`;
      return secret
        ? `${unknown}: keys never go into campaign files; set OPENAI_API_KEY or ANTHROPIC_API_KEY where the worker runs, or name another variable with llm.apiKeyEnv`
        : unknown;
    }
    return `field "${field}": ${issue.message}`;
  });
  return new UserError(`${source}: invalid campaign configuration:\n  - ${lines.join('\n  - ')}`, {
    hint:
      'known fields: id, experiment, agent (random|evolution|llm), seed, budget.experiments, budget.minutes, ' +
      'budget.tokens, budget.usd, concurrency, agentOptions, llm.model, llm.baseUrl, llm.temperature, llm.apiKeyEnv, ' +
      'llm.maxPromptTokens, llm.timeoutSeconds, llm.maxRepairs, llm.method, llm.prices',
  });
}
