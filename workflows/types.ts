import type { CampaignConfig } from '../config/campaign-config.ts';
import type { Edit } from '../arch/edit.ts';
import type { Spec } from '../arch/spec.ts';
import type { MetricDef } from '../experiments/template.ts';
import type { LlmUsage, ProposalLlmInfo, SteeringNote } from '../agents/llm/types.ts';

// Plain-JSON shapes that cross the workflow boundary: inputs, state carried through
// continue-as-new, query answers and activity results.

export interface CampaignInput {
  config: CampaignConfig;
  /** The template's metric, resolved when the campaign starts, so decisions need no I/O. */
  metric: MetricDef;
  taskQueues: TaskQueues;
  /** True when the template has a hidden holdout split (resolved at start, like `metric`). */
  hasHoldout?: boolean;
  /** Experiments per workflow run before continue-as-new (default 50; tests use less). */
  experimentsPerRun?: number;
  /** Present only when continuing as new: the state of the previous run. */
  carried?: CampaignState;
}

export interface TaskQueues {
  /** Workflows and cheap activities (propose, record). */
  main: string;
  /** Training activities; each worker polls it with as many slots as it can train at once. */
  training: string;
}

/** A proposal with its experiment number, as the propose activity returns it. */
export interface ProposedExperiment {
  n: number;
  agent: string;
  hypothesis: string;
  rationale: string;
  expectedEffect: string | null;
  edits: Edit[];
  /** Human-readable edits, e.g. "+ bypass h3 → h7 (add)". */
  editDescriptions: string[];
  /** Experiment whose spec the edits apply to; null for the baseline. */
  parent: number | null;
  spec: Spec;
  specHash: string;
  /** Set when the agent could not produce a proposal and a fallback did. */
  note: string | null;
  /** Files for the experiment's git folder, e.g. an LLM agent's prompt.md and response.json. */
  attachments?: Record<string, string>;
  /** LLM proposals (and LLM fallbacks): model, calls and token usage for this experiment. */
  llm?: ProposalLlmInfo;
  /** Steering notes this proposal was the first to see (`arlo steer`). */
  steering?: SteeringRef[];
}

export interface SteeringRef {
  id: number;
  text: string;
  at: string;
}

/** What `arlo steer` gets back. */
export interface SteerAck {
  noteId: number;
  /** The experiment whose proposal will be the first to see the note; null when none will start. */
  reachesExperiment: number | null;
  message: string;
}

export interface ChampionRef {
  n: number;
  /** Mean over the seeds (one seed: that value). */
  metric: number;
  specHash: string;
  hypothesis: string;
  /** The metric of each seed, in `evaluation` seed order: what challengers are tested against. */
  seedMetrics?: number[];
  /** Sample standard deviation over the seeds (the noise floor, for the baseline); null for one seed. */
  spread?: number | null;
  /** Hidden-holdout metric measured at promotion (never used in decisions or prompts). */
  holdout?: number | null;
}

/** One finished experiment as the campaign remembers it (details live in git). */
export interface ExperimentLine {
  n: number;
  hypothesis: string;
  status: 'kept' | 'discarded' | 'failed';
  metric: number | null;
  bestMetric: number | null;
  durationMs: number;
  edits: string[];
  error: string | null;
  /** Standard deviation over seeds; absent or null with one seed. */
  spread?: number | null;
  /** Fidelity rung the result came from, e.g. "3/3"; absent without a ladder. */
  rung?: string | null;
}

export interface CampaignState {
  /** Numbers to run before new ones: experiments proposed by an earlier run but never recorded. */
  redo: number[];
  nextN: number;
  done: number;
  kept: number;
  failed: number;
  consecutiveFailures: number;
  champion: ChampionRef | null;
  baseline: ChampionRef | null;
  /** Wall-clock time spent by earlier runs; the budget counts all runs. */
  elapsedMsBefore: number;
  paused: boolean;
  stopRequested: boolean;
  message: string | null;
  recent: ExperimentLine[];
  /** LLM usage of the whole campaign (all runs); absent in states saved before the LLM agent. */
  ledger?: LlmUsage;
  /** Recent steering notes (`arlo steer`), oldest first. */
  notes?: SteeringNote[];
  nextNoteId?: number;
  /** Research memory, recomputed from the recorded results after each experiment. */
  lessons?: string[];
  /** Training compute spent so far, in sample-epochs (all seeds, rungs and holdout checks). */
  computeUsed?: number;
}

export interface RunningExperiment {
  n: number;
  workflowId: string;
  hypothesis: string;
  edits: string[];
}

export interface CampaignStatus {
  campaignId: string;
  experiment: string;
  agent: string;
  metric: MetricDef;
  phase: 'running' | 'paused' | 'stopping' | 'finished';
  done: number;
  kept: number;
  failed: number;
  running: RunningExperiment[];
  champion: ChampionRef | null;
  baseline: ChampionRef | null;
  budget: {
    experiments: number;
    experimentsLeft: number;
    minutes: number | null;
    minutesLeft: number | null;
    elapsedMinutes: number;
    tokens: number | null;
    tokensLeft: number | null;
    usd: number | null;
    usdLeft: number | null;
    /** Sample-epochs. */
    compute: number | null;
    computeUsed: number;
  };
  /** Seeds per experiment, keep test and ladder, as configured (absent for legacy campaigns). */
  evaluation: { seeds: number; test: string; alpha: number; rungs: number } | null;
  message: string | null;
  recent: ExperimentLine[];
  /** Research memory from the recorded results, strongest evidence first. */
  lessons: string[];
  /** LLM model and usage so far; null for agents that call no model. */
  llm: { model: string; usage: LlmUsage } | null;
  notes: SteeringNote[];
}

export interface CampaignResult {
  campaignId: string;
  done: number;
  kept: number;
  failed: number;
  champion: ChampionRef | null;
  baseline: ChampionRef | null;
  stopped: boolean;
  branch: string;
  /** LLM usage of the campaign, when its agent called a model. */
  llmUsage?: LlmUsage;
}

export interface ExperimentInput {
  campaignId: string;
  n: number;
  experiment: string;
  spec: Spec;
  /** The seed of one training (the first seed when `seeds` is given). */
  seed: number;
  /** Train once per seed, in parallel; absent: once with `seed`. */
  seeds?: number[];
  /** A cheaper rung of the fidelity ladder; absent: the spec's own recipe on all training rows. */
  fidelity?: Fidelity | null;
  /** Also evaluate the hidden holdout (promotion only). */
  evaluateHoldout?: boolean;
  trainingTaskQueue: string;
}

export interface Fidelity {
  epochs?: number;
  dataFraction?: number;
}

/** One seed's training, as the experiment workflow reports it. */
export interface SeedRun {
  seed: number;
  metrics: Record<string, number | boolean | null>;
  /** Sample-epochs this training used; null when the trainer cannot tell (some external jobs). */
  compute: number | null;
}

export type ExperimentOutcome =
  | {
      ok: true;
      metrics: Record<string, number | boolean | null>;
      curve: Array<Record<string, number>>;
      durationMs: number;
      backend: string;
      params: number;
      /** The end of the training's log (external jobs), kept in git as log.txt. */
      logTail?: string | null;
      /** One entry per seed (multi-seed experiments); `metrics` then holds the means. */
      runs?: SeedRun[];
      /** Sample-epochs used by all seeds. */
      compute?: number;
    }
  | {
      ok: false;
      error: { class: string; message: string };
      durationMs: number;
      curve: Array<Record<string, number>>;
      logTail?: string | null;
      /** Sample-epochs used before the failure (seeds that finished). */
      compute?: number;
    };
