import { z } from 'zod';

// A campaign's configuration: the YAML file a user writes, or the flags of `arlo start`.
// Validated once, at the edge; the workflow receives the parsed, complete object.

export const AGENT_NAMES = ['random', 'evolution'] as const;
export type AgentName = (typeof AGENT_NAMES)[number];

const CAMPAIGN_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

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
      })
      .strict(),
    concurrency: z.number().int().min(1).max(64),
    agentOptions: z.record(z.string(), z.number()),
  })
  .strict();

export type CampaignConfig = z.infer<typeof campaignConfigSchema>;

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
      })
      .strict()
      .default({ experiments: 12, minutes: null }),
    concurrency: campaignConfigSchema.shape.concurrency.default(1),
    agentOptions: campaignConfigSchema.shape.agentOptions.default({}),
  })
  .strict();

export type CampaignConfigInput = z.input<typeof configInputSchema>;
