import { z } from 'zod';

// A campaign's configuration: the YAML file a user writes, or the flags of `arlo start`.
// Validated once, at the edge; the workflow receives the parsed, complete object.
//
// No secret ever lives here: an LLM's API key is read from the worker's environment by the
// activity that calls the model (OPENAI_API_KEY, ANTHROPIC_API_KEY, or the variable named by
// `llm.apiKeyEnv`), so the config can be echoed to git, logs and workflow history as it is.

export const AGENT_NAMES = ['random', 'evolution', 'llm', 'noop'] as const;
export type AgentName = (typeof AGENT_NAMES)[number];

export const LLM_PROVIDERS = ['openai', 'anthropic', 'ollama'] as const;
export type LlmProvider = (typeof LLM_PROVIDERS)[number];

export const STRUCTURED_OUTPUT_METHODS = ['jsonSchema', 'functionCalling'] as const;

const CAMPAIGN_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const MODEL = /^(openai|anthropic|ollama):\S+$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

/** USD per 1M tokens, by model name (`gpt-4.1-mini` or `openai:gpt-4.1-mini`). */
export const priceSchema = z
  .object({
    input: z.number().min(0, 'a price is ≥ 0 USD per 1M input tokens'),
    output: z.number().min(0, 'a price is ≥ 0 USD per 1M output tokens'),
  })
  .strict();
export type ModelPrice = z.infer<typeof priceSchema>;

export const llmConfigSchema = z
  .object({
    /** `<provider>:<model name>`, e.g. openai:gpt-4.1-mini, anthropic:claude-sonnet-4-5, ollama:qwen3:8b. */
    model: z
      .string()
      .regex(MODEL, 'use "<provider>:<model>" with provider openai, anthropic or ollama, e.g. "openai:gpt-4.1-mini"'),
    /** Any OpenAI-compatible server (vLLM, llama.cpp, LM Studio), or a non-default Ollama/Anthropic URL. */
    baseUrl: z.string().url('use a URL such as http://127.0.0.1:8000/v1').nullable(),
    /** null: the provider's default. */
    temperature: z.number().min(0).max(2).nullable(),
    /** NAME of the environment variable that holds the key (never the key itself). */
    apiKeyEnv: z
      .string()
      .regex(ENV_NAME, 'name an environment variable (letters, digits, "_"), e.g. MY_LLM_KEY; never put the key itself here')
      .nullable(),
    /** The prompt is condensed (fewer, shorter history items) to stay within this estimate. */
    maxPromptTokens: z.number().int().min(1000).max(1_000_000),
    /** Per model call; a slower answer is a retryable timeout. */
    timeoutSeconds: z.number().positive().max(3600),
    /** Invalid answers are sent back this many times with their errors before evolution takes over. */
    maxRepairs: z.number().int().min(0).max(2),
    /** How to ask for structured output; null: jsonSchema (openai, ollama) or functionCalling (anthropic). */
    method: z.enum(STRUCTURED_OUTPUT_METHODS).nullable(),
    prices: z.record(z.string(), priceSchema),
  })
  .strict();
export type LlmConfig = z.infer<typeof llmConfigSchema>;

/**
 * One fidelity rung: a cheaper (or the full) way to train. `epochs` overrides the recipe's epochs;
 * `dataFraction` trains on a fixed subset of the training rows (TF.js templates).
 */
export const rungSchema = z
  .object({
    epochs: z.number().int().min(1, 'a rung trains at least 1 epoch').max(100_000).optional(),
    dataFraction: z.number().gt(0, 'dataFraction is a share of the training rows in (0, 1]').max(1).optional(),
  })
  .strict()
  .refine((r) => r.epochs !== undefined || r.dataFraction !== undefined, {
    message: 'a rung sets epochs and/or dataFraction, e.g. { epochs: 2 }',
  });
export type Rung = z.infer<typeof rungSchema>;

export const KEEP_TESTS = ['welch-t', 'paired-bootstrap'] as const;

/** How results are measured and compared: seeds, the keep test, the fidelity ladder, the holdout. */
export const evaluationSchema = z
  .object({
    /** Every experiment trains with this many seeds (seed, seed+1, ...); its metric is their mean. */
    seeds: z
      .number()
      .int('seeds is a whole number of trainings per experiment, e.g. 3')
      .min(1, 'use at least 1 seed (3 or more for a statistical keep)')
      .max(32, 'use at most 32 seeds per experiment'),
    /** The keep test (needs seeds ≥ 2; with 1 seed a challenger is kept when it is better once). */
    test: z.enum(KEEP_TESTS),
    /** Significance level of the keep test. */
    alpha: z.number().gt(0, 'alpha is a probability in (0, 0.5], e.g. 0.05').max(0.5, 'alpha is a probability in (0, 0.5], e.g. 0.05'),
    /** Smallest improvement worth keeping, in metric units (e.g. 0.005 accuracy). */
    minEffect: z.number().min(0, 'minEffect is an improvement size ≥ 0 in metric units'),
    /**
     * Successive-halving rungs, cheapest first; the last is where keep decisions are made. Empty:
     * one rung, the template's own recipe.
     */
    fidelity: z.array(rungSchema).max(6, 'use at most 6 rungs'),
    /** Of each generation's results on a rung, the top 1/eta go up to the next rung. */
    eta: z.number().int('eta is a whole number, e.g. 3').min(2, 'eta is at least 2 (the top half go up)').max(10, 'use eta ≤ 10'),
    /** Evaluate the hidden holdout (once, seed 0) when an experiment becomes champion. */
    holdout: z.boolean(),
  })
  .strict();
export type EvaluationConfig = z.infer<typeof evaluationSchema>;

export const EVALUATION_DEFAULTS: EvaluationConfig = {
  seeds: 3,
  test: 'welch-t',
  alpha: 0.05,
  minEffect: 0,
  fidelity: [],
  eta: 3,
  holdout: true,
};

export const campaignConfigSchema = z
  .object({
    id: z
      .string()
      .regex(CAMPAIGN_ID, 'use 1-64 letters, digits, "-", "_" or ".", starting with a letter or digit'),
    experiment: z.string().min(1, 'name an experiment template, e.g. deep-mlp'),
    agent: z.enum(AGENT_NAMES),
    seed: z.number().int().min(0).max(2 ** 31 - 1),
    budget: z
      .object({
        experiments: z.number().int().min(1).max(100_000),
        minutes: z.number().positive().nullable(),
        /** LLM tokens (input + output) across the campaign; absent or null: no limit. */
        tokens: z.number().int().positive().nullable().optional(),
        /** LLM spend in USD, priced with `llm.prices`; absent or null: no limit. */
        usd: z.number().positive().nullable().optional(),
        /**
         * Training compute across the campaign, in sample-epochs (one training sample through one
         * forward and backward pass), all seeds and rungs counted; absent or null: no limit.
         */
        compute: z.number().positive().nullable().optional(),
      })
      .strict(),
    concurrency: z.number().int().min(1).max(64),
    agentOptions: z.record(z.string(), z.number()),
    /** Present when the agent is `llm` (ignored by the other agents). */
    llm: llmConfigSchema.optional(),
    /**
     * Absent only in campaigns started before multi-seed evaluation (their histories replay as
     * they ran: one seed, better-once keeps, no holdout).
     */
    evaluation: evaluationSchema.optional(),
  })
  .strict()
  .superRefine((config, ctx) => {
    const ev = config.evaluation;
    if (ev && ev.test === 'paired-bootstrap' && ev.seeds < 2) {
      ctx.addIssue({
        code: 'custom',
        path: ['evaluation', 'seeds'],
        message: 'the paired bootstrap needs at least 2 seeds per experiment (5 or more for a useful interval)',
      });
    }
    if (ev && ev.fidelity.length === 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['evaluation', 'fidelity'],
        message: 'one rung is no ladder: give 2 or more rungs, cheapest first (e.g. [{ epochs: 2 }, { epochs: 6 }]), or none',
      });
    }
    if (config.agent === 'llm' && !config.llm) {
      ctx.addIssue({
        code: 'custom',
        path: ['llm', 'model'],
        message: 'the llm agent needs a model, e.g. llm: { model: "openai:gpt-4.1-mini" } (or --model on the command line)',
      });
    }
    if (config.budget.usd != null) {
      if (!config.llm) {
        ctx.addIssue({ code: 'custom', path: ['budget', 'usd'], message: 'a USD budget needs the llm agent and llm.prices' });
      } else if (priceFor(config.llm) === null) {
        ctx.addIssue({
          code: 'custom',
          path: ['llm', 'prices'],
          message: `budget.usd needs a price for ${config.llm.model}: llm.prices: { "${modelName(config.llm.model)}": { input: <USD per 1M>, output: <USD per 1M> } }`,
        });
      }
    }
  });

export type CampaignConfig = z.infer<typeof campaignConfigSchema>;

export const LLM_DEFAULTS = {
  baseUrl: null,
  temperature: null,
  apiKeyEnv: null,
  maxPromptTokens: 6000,
  timeoutSeconds: 120,
  maxRepairs: 2,
  method: null,
  prices: {},
} as const satisfies Omit<LlmConfig, 'model'>;

const llmInputSchema = z
  .object({
    model: llmConfigSchema.shape.model,
    baseUrl: llmConfigSchema.shape.baseUrl.default(LLM_DEFAULTS.baseUrl),
    temperature: llmConfigSchema.shape.temperature.default(LLM_DEFAULTS.temperature),
    apiKeyEnv: llmConfigSchema.shape.apiKeyEnv.default(LLM_DEFAULTS.apiKeyEnv),
    maxPromptTokens: llmConfigSchema.shape.maxPromptTokens.default(LLM_DEFAULTS.maxPromptTokens),
    timeoutSeconds: llmConfigSchema.shape.timeoutSeconds.default(LLM_DEFAULTS.timeoutSeconds),
    maxRepairs: llmConfigSchema.shape.maxRepairs.default(LLM_DEFAULTS.maxRepairs),
    method: llmConfigSchema.shape.method.default(LLM_DEFAULTS.method),
    prices: llmConfigSchema.shape.prices.default({}),
  })
  .strict();

/** What a user may leave out, with the defaults a demanding user would expect. */
export const configInputSchema = z
  .object({
    id: campaignConfigSchema.shape.id.optional(),
    experiment: campaignConfigSchema.shape.experiment,
    agent: campaignConfigSchema.shape.agent.default('evolution'),
    seed: campaignConfigSchema.shape.seed.default(1),
    budget: z
      .object({
        experiments: campaignConfigSchema.shape.budget.shape.experiments.default(12),
        minutes: campaignConfigSchema.shape.budget.shape.minutes.default(null),
        tokens: campaignConfigSchema.shape.budget.shape.tokens,
        usd: campaignConfigSchema.shape.budget.shape.usd,
        compute: campaignConfigSchema.shape.budget.shape.compute,
      })
      .strict()
      .default({ experiments: 12, minutes: null }),
    concurrency: campaignConfigSchema.shape.concurrency.default(1),
    agentOptions: campaignConfigSchema.shape.agentOptions.default({}),
    llm: llmInputSchema.optional(),
    evaluation: z
      .object({
        seeds: evaluationSchema.shape.seeds.default(EVALUATION_DEFAULTS.seeds),
        test: evaluationSchema.shape.test.default(EVALUATION_DEFAULTS.test),
        alpha: evaluationSchema.shape.alpha.default(EVALUATION_DEFAULTS.alpha),
        minEffect: evaluationSchema.shape.minEffect.default(EVALUATION_DEFAULTS.minEffect),
        fidelity: evaluationSchema.shape.fidelity.default([]),
        eta: evaluationSchema.shape.eta.default(EVALUATION_DEFAULTS.eta),
        holdout: evaluationSchema.shape.holdout.default(EVALUATION_DEFAULTS.holdout),
      })
      .strict()
      .default({ ...EVALUATION_DEFAULTS, fidelity: [] }),
  })
  .strict();

export type CampaignConfigInput = z.input<typeof configInputSchema>;

/** "openai:gpt-4.1-mini" → { provider: "openai", name: "gpt-4.1-mini" } (names may contain ":"). */
export function parseModel(model: string): { provider: LlmProvider; name: string } {
  const at = model.indexOf(':');
  const provider = model.slice(0, at) as LlmProvider;
  if (at < 1 || !LLM_PROVIDERS.includes(provider)) {
    throw new Error(`model ${JSON.stringify(model)} must look like "<provider>:<model>" with provider ${LLM_PROVIDERS.join(', ')}`);
  }
  return { provider, name: model.slice(at + 1) };
}

function modelName(model: string): string {
  const at = model.indexOf(':');
  return at < 0 ? model : model.slice(at + 1);
}

/** The price row of the configured model: by full "<provider>:<name>" or by bare name. */
export function priceFor(llm: Pick<LlmConfig, 'model' | 'prices'>): ModelPrice | null {
  return llm.prices[llm.model] ?? llm.prices[modelName(llm.model)] ?? null;
}

/**
 * The environment variable an LLM key is read from (never its value); null means keyless. A custom
 * `baseUrl` without `apiKeyEnv` is keyless too: a provider's key is never sent to another server
 * unless the config names it.
 */
export function apiKeyEnvFor(llm: Pick<LlmConfig, 'model' | 'apiKeyEnv' | 'baseUrl'>): string | null {
  if (llm.apiKeyEnv) return llm.apiKeyEnv;
  if (llm.baseUrl) return null;
  const { provider } = parseModel(llm.model);
  if (provider === 'openai') return 'OPENAI_API_KEY';
  if (provider === 'anthropic') return 'ANTHROPIC_API_KEY';
  return null; // ollama: keyless
}
