import type { ExperimentRecord } from '../history/types.ts';
import { decide } from './decide.ts';
import type {
  CampaignInput,
  CampaignResult,
  CampaignState,
  CampaignStatus,
  ChampionRef,
  ExperimentLine,
  ExperimentOutcome,
  ProposedExperiment,
  RunningExperiment,
} from './types.ts';

// The campaign's bookkeeping: budget, champion, pause/stop and what `status` reports.
// Pure and synchronous, so the workflow function stays a readable sequence of steps.

const RECENT_LINES = 20;
/** This many failures in a row pause the campaign instead of burning its budget. */
const MAX_CONSECUTIVE_FAILURES = 3;

export function emptyCampaignState(): CampaignState {
  return {
    redo: [],
    nextN: 1,
    done: 0,
    kept: 0,
    failed: 0,
    consecutiveFailures: 0,
    champion: null,
    baseline: null,
    elapsedMsBefore: 0,
    paused: false,
    stopRequested: false,
    message: null,
    recent: [],
  };
}

export class CampaignBook {
  private state: CampaignState;
  private running: Array<RunningExperiment & { specHash: string }> = [];
  private finished = false;

  constructor(
    private readonly input: CampaignInput,
    private readonly runStartMs: number,
  ) {
    this.state = input.carried ? structuredCloneJson(input.carried) : emptyCampaignState();
  }

  /** Adopts the state rebuilt from the history branch (a new campaign, or a resumed one). */
  restore(state: CampaignState): void {
    this.state = state;
  }

  pause(reason: string): void {
    this.state.paused = true;
    this.state.message = reason;
  }

  unpause(): void {
    this.state.paused = false;
    this.state.consecutiveFailures = 0;
    this.state.message = null;
  }

  stop(): void {
    this.state.stopRequested = true;
  }

  elapsedMs(nowMs: number): number {
    return this.state.elapsedMsBefore + (nowMs - this.runStartMs);
  }

  private experimentsCommitted(): number {
    return this.state.done + this.running.length;
  }

  private budgetSpent(nowMs: number): boolean {
    const { budget } = this.input.config;
    if (this.experimentsCommitted() >= budget.experiments) return true;
    return budget.minutes !== null && this.elapsedMs(nowMs) >= budget.minutes * 60_000;
  }

  canStartAnother(nowMs: number): boolean {
    // Until a champion exists every proposal would be the baseline again: train it alone first.
    const waitingForBaseline = this.state.champion === null && this.running.length > 0;
    return !this.state.paused && !this.state.stopRequested && !waitingForBaseline && !this.budgetSpent(nowMs);
  }

  /** True when the campaign has nothing left to do (as opposed to waiting while paused). */
  isFinished(nowMs: number): boolean {
    return this.state.stopRequested || this.budgetSpent(nowMs);
  }

  isPausedOnly(nowMs: number): boolean {
    return this.state.paused && !this.isFinished(nowMs);
  }

  takeNextNumber(): number {
    const redo = this.state.redo.shift();
    if (redo !== undefined) return redo;
    return this.state.nextN++;
  }

  /** A number whose proposal failed goes back to the front of the queue. */
  giveBackNumber(n: number): void {
    this.state.redo.unshift(n);
  }

  pendingHashes(): string[] {
    return this.running.map((r) => r.specHash);
  }

  begin(p: ProposedExperiment): void {
    this.running.push({
      n: p.n,
      workflowId: `${this.input.config.id}-exp-${p.n}`,
      hypothesis: p.hypothesis,
      edits: p.editDescriptions,
      specHash: p.specHash,
    });
  }

  /** Decides on a finished experiment, updates the champion and returns what to record. */
  finish(p: ProposedExperiment, outcome: ExperimentOutcome, workflowId: string, recordedAt: string): ExperimentRecord {
    const { metric } = this.input;
    const championBefore = this.state.champion;
    const decision = decide(metric, championBefore, outcome);
    this.running = this.running.filter((r) => r.n !== p.n);
    this.state.done++;

    if (decision.status === 'kept' && decision.metric !== null) {
      const champion: ChampionRef = { n: p.n, metric: decision.metric, specHash: p.specHash, hypothesis: p.hypothesis };
      this.state.champion = champion;
      if (this.state.baseline === null) this.state.baseline = champion;
      this.state.kept++;
    }
    if (decision.status === 'failed') {
      this.state.failed++;
      this.state.consecutiveFailures++;
      if (this.state.consecutiveFailures >= MAX_CONSECUTIVE_FAILURES && !this.state.paused) {
        this.pause(
          `${this.state.consecutiveFailures} experiments failed in a row (last: ${decision.reason}). ` +
            `Fix the cause, then run \`arlo unpause ${this.input.config.id}\`.`,
        );
      }
    } else {
      this.state.consecutiveFailures = 0;
    }

    const error = outcome.ok ? null : outcome.error;
    const line: ExperimentLine = {
      n: p.n,
      hypothesis: p.hypothesis,
      status: decision.status,
      metric: decision.metric,
      bestMetric: this.state.champion?.metric ?? null,
      durationMs: outcome.durationMs,
      edits: p.editDescriptions,
      error: error ? `${error.class}: ${error.message}` : null,
    };
    this.state.recent = [...this.state.recent, line].slice(-RECENT_LINES);

    return {
      campaignId: this.input.config.id,
      n: p.n,
      workflowId,
      status: decision.status,
      hypothesis: p.hypothesis,
      proposal: {
        agent: p.agent,
        hypothesis: p.hypothesis,
        rationale: p.rationale,
        expectedEffect: p.expectedEffect,
        parent: p.parent,
        edits: p.edits,
        editDescriptions: p.editDescriptions,
        note: p.note,
      },
      spec: p.spec,
      specHash: p.specHash,
      metricName: metric.name,
      metric: decision.metric,
      metrics: outcome.ok ? outcome.metrics : {},
      curve: outcome.curve,
      decision: {
        reason: decision.reason,
        championBefore: championBefore?.n ?? null,
        championAfter: this.state.champion?.n ?? null,
        bestMetric: this.state.champion?.metric ?? null,
      },
      error,
      durationMs: outcome.durationMs,
      recordedAt,
      attachments: {
        ...(p.attachments ?? {}),
        ...(outcome.logTail ? { 'log.txt': outcome.logTail } : {}),
      },
    };
  }

  finishCampaign(): void {
    this.finished = true;
  }

  carry(nowMs: number): CampaignState {
    return { ...structuredCloneJson(this.state), elapsedMsBefore: this.elapsedMs(nowMs) };
  }

  status(nowMs: number): CampaignStatus {
    const { config } = this.input;
    const elapsedMinutes = this.elapsedMs(nowMs) / 60_000;
    const phase = this.finished
      ? 'finished'
      : this.state.stopRequested
        ? 'stopping'
        : this.state.paused
          ? 'paused'
          : 'running';
    return {
      campaignId: config.id,
      experiment: config.experiment,
      agent: config.agent,
      metric: this.input.metric,
      phase,
      done: this.state.done,
      kept: this.state.kept,
      failed: this.state.failed,
      running: this.running.map(({ specHash: _hash, ...r }) => r),
      champion: this.state.champion,
      baseline: this.state.baseline,
      budget: {
        experiments: config.budget.experiments,
        experimentsLeft: Math.max(0, config.budget.experiments - this.experimentsCommitted()),
        minutes: config.budget.minutes,
        minutesLeft: config.budget.minutes === null ? null : Math.max(0, config.budget.minutes - elapsedMinutes),
        elapsedMinutes,
      },
      message: this.state.message,
      recent: this.state.recent,
    };
  }

  result(): CampaignResult {
    return {
      campaignId: this.input.config.id,
      done: this.state.done,
      kept: this.state.kept,
      failed: this.state.failed,
      champion: this.state.champion,
      baseline: this.state.baseline,
      stopped: this.state.stopRequested,
      branch: `campaign/${this.input.config.id}`,
    };
  }
}

function structuredCloneJson<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
