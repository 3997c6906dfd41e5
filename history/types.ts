import type { Spec } from '../arch/spec.ts';

// Shapes stored in and read back from the history repository (<ARLO_HOME>/history).
// Everything here is plain JSON.

/** The first commit of a campaign branch: `campaign.json` (plus an empty `results.jsonl`). */
export interface CampaignRecord {
  campaignId: string;
  /** Campaign config JSON; the caller must strip secrets before passing it. Never logged. */
  config: unknown;
  /** ISO time; also the commit's author/committer date. */
  createdAt: string;
}

export type ExperimentStatus = 'kept' | 'discarded' | 'failed';

/** One finished experiment: becomes exactly one commit on `campaign/<campaignId>`. */
export interface ExperimentRecord {
  campaignId: string;
  /** 1-based experiment number; unique per campaign (the idempotency key). */
  n: number;
  /** e.g. "<campaignId>-exp-<n>" */
  workflowId: string;
  status: ExperimentStatus;
  hypothesis: string;
  /** JSON: hypothesis, rationale, edits, editDescriptions, parent, agent ... */
  proposal: unknown;
  spec: Spec;
  specHash: string;
  metricName: string;
  /** null when failed */
  metric: number | null;
  metrics: Record<string, number | boolean | null>;
  /** Per-epoch rows; stored as curve.csv. */
  curve: Array<Record<string, number>>;
  decision: {
    reason: string;
    championBefore: number | null;
    championAfter: number | null;
    bestMetric: number | null;
    /**
     * The keep test when one ran: test, statistic, df, p-value or CI, alpha, min effect, means and
     * standard deviations of both sides, and the seeds.
     */
    statistics?: Record<string, unknown> | null;
  };
  /** How the metric was measured (absent in campaigns recorded before multi-seed evaluation). */
  evaluation?: RecordedEvaluation;
  error?: { class: string; message: string } | null;
  durationMs: number;
  /** ISO time passed in by the caller; the commit date (so a retried record builds the same commit). */
  recordedAt: string;
  /**
   * Extra text files for the experiment's folder, by file name (no slashes): e.g. `log.txt` (the
   * training log tail), `prompt.md` and `response.json` (what an LLM agent saw and said).
   */
  attachments?: Record<string, string>;
}

export interface RecordedRung {
  /** 1-based rung; `of` rungs in the ladder. */
  rung: number;
  of: number;
  epochs?: number;
  dataFraction?: number;
}

export interface RecordedEvaluation {
  seeds: number[];
  /** The metric per seed (mean = `metric`); null when failed. */
  seedMetrics: number[] | null;
  /** Sample standard deviation over seeds; null with one seed. */
  spread: number | null;
  /** The rung the final result came from; null without a ladder. */
  rung: RecordedRung | null;
  /** Results on every rung this experiment trained on, cheapest first (ladders only). */
  rungs?: Array<RecordedRung & { metric: number | null; seedMetrics: number[] | null; spread: number | null }>;
  /** Sample-epochs of training this experiment used (all seeds and rungs). */
  compute: number;
}

/** One line of `results.jsonl` as `readResults` returns it. */
export interface ResultLine {
  n: number;
  status: ExperimentStatus;
  hypothesis: string;
  specHash: string;
  metric: number | null;
  metricName: string;
  bestMetric: number | null;
  championAfter: number | null;
  durationMs: number;
  /** Not stored in the file (unknowable before committing); filled in from the commit trailers. */
  commit?: string;
  /** Experiment whose spec the edits applied to (from the proposal); null for a baseline. */
  parent?: number | null;
  /** Short human-readable edit descriptions (from the proposal). */
  edits?: string[];
  /** "<class>: <message>" when the experiment failed, else null. */
  error?: string | null;
  /** LLM tokens (input + output) spent proposing this experiment (from the proposal); absent for built-in agents. */
  tokens?: number;
  /** LLM spend in USD for this proposal, when the model has a price. */
  usd?: number;
  /** Standard deviation of the metric over seeds (multi-seed campaigns). */
  spread?: number | null;
  /** The metric per seed, in seed order (what a resumed campaign tests challengers against). */
  seedMetrics?: number[] | null;
  /** "2/3": the fidelity rung the metric came from (ladders only). */
  rung?: string;
  /** Sample-epochs of training the experiment used. */
  compute?: number;
  recordedAt: string;
}

/** Points in a record/init operation where a test can inject a failure. */
export type HistoryStep =
  | 'read-tree'
  | 'hash-object'
  | 'update-index'
  | 'write-tree'
  | 'commit-tree'
  | 'update-ref';

export interface HistoryStepContext {
  branch: string;
  /** 1-based attempt of the compare-and-swap loop. */
  attempt: number;
  /** The temporary index file of this attempt ('' for update-ref: it is already removed then). */
  indexFile: string;
}

export interface HistoryHooks {
  /** Called before each plumbing step; throwing aborts the operation (no ref changes). */
  beforeStep?: (step: HistoryStep, ctx: HistoryStepContext) => void | Promise<void>;
}

export interface HistoryRepo {
  /** ARLO_HOME */
  readonly home: string;
  /** `<home>/history` (work tree, never used for recording) */
  readonly dir: string;
  /** `<home>/history/.git` */
  readonly gitDir: string;
  /** Test seam; empty in production. Mutable so tests can set hooks after opening. */
  hooks: HistoryHooks;
  /** Compare-and-swap attempts before giving up (default 16). */
  maxAttempts: number;
}
