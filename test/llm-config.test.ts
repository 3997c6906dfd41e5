import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configFromFlags } from '../cli/commands/start.ts';
import { apiKeyEnvFor, LLM_DEFAULTS } from '../config/campaign-config.ts';
import { loadCampaignFile } from '../config/load-config.ts';
import { UserError } from '../server/user-error.ts';

// `agent: llm` configuration: the model, optional server and limits, keys only by variable name.

const dir = mkdtempSync(join(tmpdir(), 'arlo-llm-config-'));
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function errorOf(fn: () => unknown): UserError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UserError);
    return err as UserError;
  }
  throw new Error('expected a UserError');
}

describe('llm agent configuration', () => {
  it('starts from flags alone: --model implies the llm agent and fills the defaults', () => {
    const c = configFromFlags(undefined, { experiment: 'smoke', model: 'openai:gpt-4.1-mini', budget: 6, tokens: 200_000 });
    expect(c.agent).toBe('llm');
    expect(c.llm).toEqual({ ...LLM_DEFAULTS, model: 'openai:gpt-4.1-mini' });
    expect(c.budget).toEqual({ experiments: 6, minutes: null, tokens: 200_000 });
    const local = configFromFlags(undefined, {
      experiment: 'smoke',
      agent: 'llm',
      model: 'openai:qwen2.5-7b-instruct',
      baseUrl: 'http://127.0.0.1:8000/v1',
      temperature: 0.2,
      maxPromptTokens: 4000,
    });
    expect(local.llm).toMatchObject({ baseUrl: 'http://127.0.0.1:8000/v1', temperature: 0.2, maxPromptTokens: 4000 });
    expect(errorOf(() => configFromFlags(undefined, { experiment: 'smoke', agent: 'llm' })).message).toMatch(
      /field "llm.model": the llm agent needs a model.*--model/,
    );
    expect(errorOf(() => configFromFlags(undefined, { experiment: 'smoke', baseUrl: 'http://x:1/v1' })).message).toMatch(/need a model/);
  });

  it('reads a campaign file and lets flags override the model settings', () => {
    const f = file(
      'llm.yaml',
      [
        'id: llm-file',
        'experiment: deep-mlp',
        'agent: llm',
        'budget: { experiments: 20, usd: 0.5 }',
        'llm:',
        '  model: anthropic:claude-sonnet-4-5',
        '  apiKeyEnv: MY_TEAM_ANTHROPIC_KEY',
        '  prices: { claude-sonnet-4-5: { input: 3, output: 15 } }',
        '',
      ].join('\n'),
    );
    const c = loadCampaignFile(f, { id: 'x' });
    expect(c).toMatchObject({ id: 'llm-file', agent: 'llm', budget: { experiments: 20, usd: 0.5 } });
    expect(c.llm).toMatchObject({ model: 'anthropic:claude-sonnet-4-5', apiKeyEnv: 'MY_TEAM_ANTHROPIC_KEY', timeoutSeconds: 120, maxRepairs: 2 });
    const merged = configFromFlags(f, { temperature: 0.7, tokens: 10_000 });
    expect(merged.llm).toMatchObject({ model: 'anthropic:claude-sonnet-4-5', temperature: 0.7, prices: { 'claude-sonnet-4-5': { input: 3, output: 15 } } });
    expect(merged.budget).toEqual({ experiments: 20, minutes: null, usd: 0.5, tokens: 10_000 });
  });

  it('never takes a key: rejects key fields and key-like variable names without echoing them', () => {
    const withKey = errorOf(() => loadCampaignFile(file('k.yaml', 'experiment: smoke\nllm: { model: "openai:m", apiKey: sk-test-SECRET123 }\n'), { id: 'a' }));
    expect(withKey.message).toMatch(/unknown field "apiKey" in llm: keys never go into campaign files; set OPENAI_API_KEY/);
    expect(withKey.message).not.toContain('SECRET123');
    const pasted = errorOf(() => loadCampaignFile(file('p.yaml', 'experiment: smoke\nllm: { model: "openai:m", apiKeyEnv: sk-test-SECRET123 }\n'), { id: 'a' }));
    expect(pasted.message).toMatch(/field "llm.apiKeyEnv": name an environment variable/);
    expect(pasted.message).not.toContain('SECRET123');
  });

  it('checks the model string and that a USD budget has a price', () => {
    expect(errorOf(() => configFromFlags(undefined, { experiment: 'smoke', model: 'gpt-4.1-mini' })).message).toMatch(
      /field "llm.model": use "<provider>:<model>"/,
    );
    expect(errorOf(() => configFromFlags(undefined, { experiment: 'smoke', model: 'openai:m', usd: 1 })).message).toMatch(
      /field "llm.prices": budget.usd needs a price for openai:m/,
    );
  });

  it('reads keys from the provider variable, a named one, or none for custom servers', () => {
    expect(apiKeyEnvFor({ model: 'openai:m', apiKeyEnv: null, baseUrl: null })).toBe('OPENAI_API_KEY');
    expect(apiKeyEnvFor({ model: 'anthropic:m', apiKeyEnv: null, baseUrl: null })).toBe('ANTHROPIC_API_KEY');
    expect(apiKeyEnvFor({ model: 'ollama:llama3.1:8b', apiKeyEnv: null, baseUrl: null })).toBeNull();
    // an OpenAI key is never sent to another server unless the config says so
    expect(apiKeyEnvFor({ model: 'openai:m', apiKeyEnv: null, baseUrl: 'http://127.0.0.1:8000/v1' })).toBeNull();
    expect(apiKeyEnvFor({ model: 'openai:m', apiKeyEnv: 'VLLM_KEY', baseUrl: 'http://127.0.0.1:8000/v1' })).toBe('VLLM_KEY');
  });

  it('leaves configurations of the built-in agents as they were', () => {
    const c = loadCampaignFile(file('e.yaml', 'experiment: deep-mlp\n'), { id: 'e' });
    expect(Object.keys(c)).not.toContain('llm');
    expect(c.budget).toEqual({ experiments: 12, minutes: null });
  });
});

describe('example LLM campaign file', () => {
  it('loads experiments/deep-mlp-llm.campaign.yaml', () => {
    const c = loadCampaignFile(join(import.meta.dirname, '..', 'experiments', 'deep-mlp-llm.campaign.yaml'), { id: 'x' });
    expect(c).toMatchObject({
      id: 'deep-mlp-llm',
      agent: 'llm',
      budget: { experiments: 24, minutes: 90, tokens: 400_000, usd: 2 },
      llm: { model: 'openai:gpt-4.1-mini', baseUrl: null, apiKeyEnv: null, temperature: 0.7, prices: { 'gpt-4.1-mini': { input: 0.4, output: 1.6 } } },
    });
  });
});
