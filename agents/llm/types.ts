import type { CampaignConfig } from '../../config/campaign-config.ts';
import type { ProposedExperiment } from '../../workflows/types.ts';

// Plain-JSON shapes shared by the LLM agent, its activity and the campaign workflow. Nothing here
// may ever hold a secret: these values travel through workflow history.

/** Token usage of one or more model calls (from LangChain's `usage_metadata`). */
export interface LlmUsage {
  calls: number;
  inputTokens: number;
  outputTokens: number;
  totalTokens: number;
  /** Priced with `llm.prices`; null when the model has no price. */
  usd: number | null;
}

export function zeroUsage(): LlmUsage {
  return { calls: 0, inputTokens: 0, outputTokens: 0, totalTokens: 0, usd: null };
}

export function addUsage(a: LlmUsage, b: LlmUsage): LlmUsage {
  return {
    calls: a.calls + b.calls,
    inputTokens: a.inputTokens + b.inputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    totalTokens: a.totalTokens + b.totalTokens,
    usd: a.usd === null && b.usd === null ? null : roundUsd((a.usd ?? 0) + (b.usd ?? 0)),
  };
}

export function roundUsd(x: number): number {
  return Math.round(x * 1e8) / 1e8;
}

/** A human's free-text note for the agent (`arlo steer`). */
export interface SteeringNote {
  id: number;
  text: string;
  /** ISO time the workflow accepted it. */
  at: string;
  /** Experiment whose accepted LLM proposal first saw it; null while not yet used. */
  deliveredTo: number | null;
}

/** What the budget still allows, as the workflow sees it when it asks for a proposal. */
export interface BudgetLeft {
  experiments: number;
  experimentsLeft: number;
  minutesLeft: number | null;
  tokensLeft: number | null;
  usdLeft: number | null;
}

/** An earlier answer for the same experiment that could not be used, and why. */
export interface LlmAttempt {
  /** The model's answer text (scrubbed; at most a few KB), or a short description when there was none. */
  answer: string;
  errors: string[];
  usage: LlmUsage;
}

export interface LlmProposeInput {
  config: CampaignConfig;
  n: number;
  /** Specs of experiments in flight: never proposed again. */
  pendingHashes: string[];
  /** Steering notes to show (the workflow keeps the recent ones). */
  notes: SteeringNote[];
  budget: BudgetLeft;
  /** Earlier invalid answers for this experiment: this call is a repair when non-empty. */
  attempts: LlmAttempt[];
}

export type LlmProposeResult =
  | {
      kind: 'proposal';
      proposal: ProposedExperiment;
      /** This call's usage (zero calls for a baseline, which needs no model). */
      usage: LlmUsage;
    }
  | {
      kind: 'invalid';
      answer: string;
      errors: string[];
      usage: LlmUsage;
      /** prompt.md and response.json of the conversation so far, for the record of a fallback. */
      attachments: Record<string, string>;
    };

/** Per-experiment summary stored in proposal.json (and summed into results.jsonl's `tokens`). */
export interface ProposalLlmInfo {
  model: string;
  usage: LlmUsage;
  /** Model calls for this experiment, repairs included. */
  attempts: number;
}
