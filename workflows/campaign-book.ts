import type { ExperimentRecord, RecordedEvaluation, RecordedRung } from '../history/types.ts';
import { addUsage, zeroUsage, type BudgetLeft, type LlmUsage, type SteeringNote } from '../agents/llm/types.ts';
import { deriveSeed } from '../agents/rng.ts';
import type { EvaluationConfig, Rung } from '../config/campaign-config.ts';
import { decide, type Decision, type DecisionRule, type Measurement } from './decide.ts';
import { MAX_STEER_CHARS } from './messages.ts';
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
  SteerAck,
  SteeringRef,
} from './types.ts';

// The campaign's bookkeeping: budget, champion, pause/stop and what `status` reports.
// Pure and synchronous, so the workflow function stays a readable sequence of steps.

const RECENT_LINES = 20;
/** This many failures in a row pause the campaign instead of burning its budget. */
const MAX_CONSECUTIVE_FAILURES = 3;
/** Steering notes kept in the workflow state (older, already delivered ones are dropped first). */
const MAX_NOTES = 20;
/** Already-delivered notes still shown in prompts (new ones always are). */
const OLD_NOTES_IN_PROMPT = 10;

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
  /** The experiment number whose proposal is being asked for (not yet running). */
  private proposing: number | null = null;

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
    if (this.llmBudgetSpent() || this.computeBudgetSpent()) return true;
    return budget.minutes !== null && this.elapsedMs(nowMs) >= budget.minutes * 60_000;
  }

  /** True when the training compute budget (sample-epochs) is used up. */
  computeBudgetSpent(): boolean {
    const { compute } = this.input.config.budget;
    return compute != null && this.computeUsed() >= compute;
  }

  computeUsed(): number {
    return this.state.computeUsed ?? 0;
  }

  /** Adds the training compute of a finished child workflow (all its seeds). */
  chargeCompute(sampleEpochs: number | undefined): void {
    if (sampleEpochs && sampleEpochs > 0) this.state.computeUsed = this.computeUsed() + sampleEpochs;
  }

  // --- evaluation ----------------------------------------------------------------------------

  /** Null for campaigns started before multi-seed evaluation: they keep their old rule. */
  evaluation(): EvaluationConfig | null {
    return this.input.config.evaluation ?? null;
  }

  /** The seeds every experiment trains with: seed, seed + 1, ... */
  seeds(): number[] {
    const k = this.evaluation()?.seeds ?? 1;
    return Array.from({ length: k }, (_, i) => this.input.config.seed + i);
  }

  /** The fidelity ladder, cheapest rung first; empty when experiments train once at full fidelity. */
  ladder(): Rung[] {
    return this.evaluation()?.fidelity ?? [];
  }

  /** The rung where keep decisions are made (null: the template's own recipe). */
  topRung(): Rung | null {
    const ladder = this.ladder();
    return ladder.length > 0 ? ladder[ladder.length - 1]! : null;
  }

  /** Proposals per ladder generation: enough that one reaches the top rung after halving. */
  generationSize(): number {
    const ev = this.evaluation();
    const rungs = this.ladder().length;
    return ev && rungs > 1 ? ev.eta ** (rungs - 1) : 1;
  }

  /** True when promotions should be checked on the hidden holdout. */
  wantsHoldout(): boolean {
    return (this.evaluation()?.holdout ?? false) && this.input.hasHoldout === true;
  }

  private decisionRule(n: number): DecisionRule | null {
    const ev = this.evaluation();
    if (!ev) return null;
    return {
      rule: { test: ev.test, alpha: ev.alpha, minEffect: ev.minEffect },
      seeds: this.seeds(),
      rngSeed: deriveSeed(this.input.config.seed, 'decide', n),
    };
  }

  /** How many experiments may still start, by the experiments budget. */
  experimentsLeft(): number {
    return Math.max(0, this.input.config.budget.experiments - this.experimentsCommitted());
  }

  /** True when the LLM token or USD budget is used up. */
  llmBudgetSpent(): boolean {
    const { budget } = this.input.config;
    const ledger = this.ledger();
    if (budget.tokens != null && ledger.totalTokens >= budget.tokens) return true;
    return budget.usd != null && (ledger.usd ?? 0) >= budget.usd;
  }

  ledger(): LlmUsage {
    return this.state.ledger ?? zeroUsage();
  }

  /** Adds the usage of model calls to the campaign's ledger. */
  charge(usage: LlmUsage): void {
    if (usage.calls === 0 && usage.totalTokens === 0) return;
    this.state.ledger = addUsage(this.ledger(), usage);
  }

  budgetLeft(nowMs: number): BudgetLeft {
    const { budget } = this.input.config;
    const ledger = this.ledger();
    return {
      experiments: budget.experiments,
      experimentsLeft: Math.max(0, budget.experiments - this.experimentsCommitted()),
      minutesLeft: budget.minutes === null ? null : Math.max(0, budget.minutes - this.elapsedMs(nowMs) / 60_000),
      tokensLeft: budget.tokens == null ? null : Math.max(0, budget.tokens - ledger.totalTokens),
      usdLeft: budget.usd == null ? null : Math.max(0, budget.usd - (ledger.usd ?? 0)),
    };
  }

  // --- steering ------------------------------------------------------------------------------

  /** Throws (rejecting the update before it is recorded) when a note cannot be taken. */
  validateSteer(text: unknown): void {
    if (typeof text !== 'string' || text.trim() === '') throw new Error('the note is empty: say what the agent should consider');
    if (text.length > MAX_STEER_CHARS) {
      throw new Error(`the note has ${text.length} characters; keep it under ${MAX_STEER_CHARS}`);
    }
    if (this.input.config.agent !== 'llm') {
      throw new Error(`the ${this.input.config.agent} agent does not read notes; steering needs a campaign with agent llm`);
    }
    if (this.finished || this.state.stopRequested) throw new Error('the campaign is ending; it starts no more experiments');
  }

  steer(text: string, at: string, nowMs: number): SteerAck {
    const id = this.state.nextNoteId ?? 1;
    this.state.nextNoteId = id + 1;
    const note: SteeringNote = { id, text: text.trim(), at, deliveredTo: null };
    let notes = [...(this.state.notes ?? []), note];
    while (notes.length > MAX_NOTES) {
      const oldDelivered = notes.findIndex((x) => x.deliveredTo !== null);
      notes.splice(oldDelivered >= 0 ? oldDelivered : 0, 1);
    }
    this.state.notes = notes;
    const reaches = this.nextProposalNumber(nowMs);
    return {
      noteId: id,
      reachesExperiment: reaches,
      message:
        reaches === null
          ? `note ${id} recorded, but the budget allows no further experiment`
          : `note ${id} recorded: it goes into the prompt for experiment ${reaches}${this.state.paused ? ' (the campaign is paused: `arlo unpause` it)' : ''}`,
    };
  }

  /** The next experiment number a proposal will be asked for, or null if none will start. */
  private nextProposalNumber(nowMs: number): number | null {
    const { budget } = this.input.config;
    const committed = this.experimentsCommitted() + (this.proposing !== null ? 1 : 0);
    if (committed >= budget.experiments || this.llmBudgetSpent()) return null;
    if (budget.minutes !== null && this.elapsedMs(nowMs) >= budget.minutes * 60_000) return null;
    return this.state.redo[0] ?? this.state.nextN;
  }

  /** Notes for the next prompt: every undelivered one and the most recent delivered ones. */
  notesForPrompt(): SteeringNote[] {
    const notes = this.state.notes ?? [];
    const delivered = notes.filter((x) => x.deliveredTo !== null).slice(-OLD_NOTES_IN_PROMPT);
    return notes.filter((x) => x.deliveredTo === null || delivered.includes(x));
  }

  /** Marks the notes an accepted proposal saw first. */
  deliverNotes(refs: SteeringRef[] | undefined, n: number): void {
    if (!refs || refs.length === 0) return;
    const ids = new Set(refs.map((r) => r.id));
    this.state.notes = (this.state.notes ?? []).map((x) => (ids.has(x.id) && x.deliveredTo === null ? { ...x, deliveredTo: n } : x));
  }

  startProposing(n: number | null): void {
    this.proposing = n;
  }

  setLessons(lessons: string[] | undefined): void {
    if (Array.isArray(lessons)) this.state.lessons = lessons;
  }

  hasChampion(): boolean {
    return this.state.champion !== null;
  }

  /** True once a human asked the campaign to stop. */
  stopRequested(): boolean {
    return this.state.stopRequested;
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

  /**
   * Decides on a finished experiment (at the top rung, if there is a ladder), updates the champion
   * and returns what to record. `rungs` carries its results on the cheaper rungs.
   */
  finish(
    p: ProposedExperiment,
    outcome: ExperimentOutcome,
    workflowId: string,
    recordedAt: string,
    rungs: RungResult[] = [],
  ): ExperimentRecord {
    const championBefore = this.state.champion;
    const decision = decide(this.input.metric, championBefore, outcome, this.decisionRule(p.n));
    const ladder = this.ladder();
    const top = ladder.length > 0 ? this.rungRef(ladder.length - 1) : null;
    return this.account(p, decision, outcome, workflowId, recordedAt, championBefore, top, rungs);
  }

  /**
   * Ends a ladder experiment below the top rung: not promoted (`reason`), or failed there. Nothing
   * is compared with the champion: results on a cheap rung only rank a generation.
   */
  leaveLadder(
    p: ProposedExperiment,
    last: RungResult,
    earlier: RungResult[],
    reason: string,
    workflowId: string,
    recordedAt: string,
  ): ExperimentRecord {
    const m = last.measurement;
    const decision: Decision = m.ok
      ? { status: 'discarded', reason, metric: m.metric, seedMetrics: m.seedMetrics, spread: m.spread, statistics: null }
      : { status: 'failed', reason: m.reason, metric: null, seedMetrics: null, spread: null, statistics: null };
    const rung = this.rungRef(last.rung);
    return this.account(p, decision, last.outcome, workflowId, recordedAt, this.state.champion, rung, [...earlier, last]);
  }

  /** The ladder's rung `index` (0-based) as records show it. */
  rungRef(index: number): RecordedRung {
    const ladder = this.ladder();
    const r = ladder[index]!;
    return {
      rung: index + 1,
      of: ladder.length,
      ...(r.epochs !== undefined ? { epochs: r.epochs } : {}),
      ...(r.dataFraction !== undefined ? { dataFraction: r.dataFraction } : {}),
    };
  }

  private account(
    p: ProposedExperiment,
    decision: Decision,
    outcome: ExperimentOutcome,
    workflowId: string,
    recordedAt: string,
    championBefore: ChampionRef | null,
    rung: RecordedRung | null,
    rungs: RungResult[],
  ): ExperimentRecord {
    const { metric } = this.input;
    this.running = this.running.filter((r) => r.n !== p.n);
    this.state.done++;

    if (decision.status === 'kept' && decision.metric !== null) {
      const champion: ChampionRef = {
        n: p.n,
        metric: decision.metric,
        specHash: p.specHash,
        hypothesis: p.hypothesis,
        ...(this.evaluation() ? { seedMetrics: decision.seedMetrics ?? [], spread: decision.spread } : {}),
      };
      this.state.champion = champion;
      if (this.state.baseline === null) this.state.baseline = champion;
      this.state.kept++;
    }
    const error = outcome.ok ? null : outcome.error;
    const rungText = rung ? `${rung.rung}/${rung.of}` : null;
    const line: ExperimentLine = {
      n: p.n,
      hypothesis: p.hypothesis,
      status: decision.status,
      metric: decision.metric,
      bestMetric: this.state.champion?.metric ?? null,
      durationMs: outcome.durationMs,
      edits: p.editDescriptions,
      error: error ? `${error.class}: ${error.message}` : null,
      ...(this.evaluation() ? { spread: decision.spread, rung: rungText } : {}),
    };
    this.state.recent = [...this.state.recent, line].slice(-RECENT_LINES);

    if (decision.status === 'failed') {
      this.state.failed++;
      this.state.consecutiveFailures++;
      if (this.state.consecutiveFailures >= MAX_CONSECUTIVE_FAILURES && !this.state.paused) {
        this.pause(this.failureStreakMessage(decision.reason));
      }
    } else {
      this.state.consecutiveFailures = 0;
    }

    const compute = rungs.length > 0 ? rungs.reduce((sum, r) => sum + (r.outcome.compute ?? 0), 0) : (outcome.compute ?? 0);
    const evaluation: RecordedEvaluation | null = this.evaluation()
      ? {
          seeds: this.seeds(),
          seedMetrics: decision.seedMetrics,
          spread: decision.spread,
          rung,
          ...(rungs.length > 0
            ? {
                rungs: rungs.map((r) => ({
                  ...this.rungRef(r.rung),
                  metric: r.measurement.ok ? r.measurement.metric : null,
                  seedMetrics: r.measurement.ok ? r.measurement.seedMetrics : null,
                  spread: r.measurement.ok ? r.measurement.spread : null,
                })),
              }
            : {}),
          compute,
        }
      : null;

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
        ...(p.llm ? { llm: p.llm } : {}),
        ...(p.steering && p.steering.length > 0 ? { steering: p.steering } : {}),
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
        ...(decision.statistics ? { statistics: { ...decision.statistics } } : {}),
      },
      ...(evaluation ? { evaluation } : {}),
      error,
      durationMs: outcome.durationMs,
      recordedAt,
      attachments: {
        ...(p.attachments ?? {}),
        ...(outcome.logTail ? { 'log.txt': outcome.logTail } : {}),
      },
    };
  }

  /**
   * Adds the hidden-holdout check of a new champion to its record (holdout.json) and to the
   * champion shown by `status`. The holdout never reaches a decision or a prompt: it is not in
   * metrics.json or results.jsonl, which agents read.
   */
  addHoldout(record: ExperimentRecord, outcome: ExperimentOutcome, workflowId: string): ExperimentRecord {
    const name = holdoutMetricName(this.input.metric.name);
    const check: Record<string, unknown> = { workflowId, seed: this.seeds()[0], metric: name };
    if (outcome.ok && typeof outcome.metrics[name] === 'number') {
      const holdout = outcome.metrics[name] as number;
      const validation = outcome.metrics[this.input.metric.name];
      Object.assign(check, {
        holdout,
        validation: typeof validation === 'number' ? validation : null,
        validationMean: record.metric,
        gap: record.metric === null ? null : record.metric - holdout,
      });
      if (this.state.champion?.n === record.n) this.state.champion = { ...this.state.champion, holdout };
      if (this.state.baseline?.n === record.n) this.state.baseline = { ...this.state.baseline, holdout };
    } else {
      check.error = outcome.ok ? `the training reported no ${name}` : `${outcome.error.class}: ${outcome.error.message}`;
    }
    return { ...record, attachments: { ...(record.attachments ?? {}), 'holdout.json': `${JSON.stringify(check, null, 2)}\n` } };
  }

  /** "3 experiments failed in a row, the same way (JobExitNonZero): ..." from the recent lines. */
  private failureStreakMessage(lastReason: string): string {
    const count = this.state.consecutiveFailures;
    const classes = this.state.recent
      .slice(-count)
      .filter((l) => l.status === 'failed')
      .map((l) => (l.error === null ? 'diverged' : l.error.split(':')[0]!));
    const how =
      classes.length > 0 && classes.every((c) => c === classes[0])
        ? `, the same way (${classes[0]})`
        : classes.length > 0
          ? ` (${classes.join(', ')})`
          : '';
    return (
      `${count} experiments failed in a row${how}; last: ${lastReason}. ` +
      `Each failed experiment's log tail is in git (log.txt in its folder). ` +
      `Fix the cause, then run \`arlo unpause ${this.input.config.id}\`.`
    );
  }

  finishCampaign(): void {
    this.finished = true;
    if (this.llmBudgetSpent() && !this.state.stopRequested) {
      const { budget } = this.input.config;
      const ledger = this.ledger();
      this.state.message =
        budget.tokens != null && ledger.totalTokens >= budget.tokens
          ? `LLM token budget spent: ${ledger.totalTokens} of ${budget.tokens} tokens`
          : `LLM USD budget spent: ${ledger.usd} of ${budget.usd} USD`;
    }
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
        tokens: config.budget.tokens ?? null,
        tokensLeft: config.budget.tokens == null ? null : Math.max(0, config.budget.tokens - this.ledger().totalTokens),
        usd: config.budget.usd ?? null,
        usdLeft: config.budget.usd == null ? null : Math.max(0, config.budget.usd - (this.ledger().usd ?? 0)),
        compute: config.budget.compute ?? null,
        computeUsed: this.computeUsed(),
      },
      evaluation: config.evaluation
        ? { seeds: config.evaluation.seeds, test: config.evaluation.test, alpha: config.evaluation.alpha, rungs: this.ladder().length }
        : null,
      message: this.state.message,
      recent: this.state.recent,
      lessons: this.state.lessons ?? [],
      llm: config.llm && config.agent === 'llm' ? { model: config.llm.model, usage: this.ledger() } : null,
      notes: this.state.notes ?? [],
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
      ...(this.state.ledger ? { llmUsage: this.state.ledger } : {}),
    };
  }
}

/** One rung's outcome of a ladder experiment. */
export interface RungResult {
  /** 0-based index into the ladder. */
  rung: number;
  outcome: ExperimentOutcome;
  measurement: Measurement;
}

/** `val_accuracy` → `holdout_accuracy`: the metric the trainer reports on the hidden split. */
export function holdoutMetricName(metric: string): string {
  return metric.startsWith('val_') ? `holdout_${metric.slice(4)}` : `holdout_${metric}`;
}

function structuredCloneJson<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
