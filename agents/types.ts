import type { Edit } from '../arch/edit.ts';
import type { Spec } from '../arch/spec.ts';
import type { ExperimentTemplate } from '../experiments/template.ts';

export interface ExperimentSummary {
  n: number;
  /**
   * Null for experiments whose spec the caller did not load: only the champion and the agent's
   * working window (e.g. evolution's population) need specs, and reading 10k of them is slow.
   */
  spec: Spec | null;
  specHash: string;
  metric: number | null;
  status: 'kept' | 'discarded' | 'failed';
}

/** A summary whose spec is loaded. */
export type LoadedSummary = ExperimentSummary & { spec: Spec };

export interface ProposeInput {
  /** Baseline, edit policy and metric direction. */
  template: ExperimentTemplate;
  /** Best kept experiment so far (the baseline at first); its spec is always loaded. */
  champion: LoadedSummary;
  /** Every finished experiment so far, ascending n (may be long: 10k). */
  history: ExperimentSummary[];
  /** Specs in flight, not yet finished: never propose these. */
  pendingHashes: string[];
  /** Number of the experiment being proposed. */
  n: number;
  /** Campaign seed. */
  seed: number;
  /** Agent options, e.g. evolution `population`, `sampleSize`, `maxEdits`. */
  options?: Record<string, number>;
}

export interface Proposal {
  hypothesis: string;
  rationale: string;
  edits: Edit[];
  /** n of the experiment the edits apply to. */
  parent: number;
  spec: Spec;
  specHash: string;
  agent: string;
  expectedEffect: string | null;
}

export interface Agent {
  name: string;
  propose(input: ProposeInput): Proposal;
}
