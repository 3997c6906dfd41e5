import { promoteFromRung } from '../evaluation/successive-halving.ts';
import { rungLabel } from '../history/format.ts';
import type { ExperimentRecord } from '../history/types.ts';
import type { MetricDef } from '../experiments/template.ts';
import type { CampaignBook, RungResult } from './campaign-book.ts';
import { measure } from './decide.ts';
import type { ExperimentOutcome, Fidelity, ProposedExperiment } from './types.ts';

// Successive halving over one generation of proposals: all train on the cheapest rung, the best
// 1/eta of each rung go up to the next, and only the top rung is compared with the champion.
// Whoever drops out is recorded at once, with the rung it reached and its rank there.

export interface LadderSteps {
  book: CampaignBook;
  metric: MetricDef;
  seeds: number[];
  concurrency: number;
  campaignId: string;
  train(p: ProposedExperiment, workflowId: string, fidelity: Fidelity | null): Promise<ExperimentOutcome>;
  /** Decide at the top rung (holdout check included) and record. */
  settle(p: ProposedExperiment, outcome: ExperimentOutcome, workflowId: string, rungs: RungResult[]): Promise<void>;
  saveRecord(record: ExperimentRecord): Promise<void>;
}

interface Climber {
  p: ProposedExperiment;
  results: RungResult[];
  workflowId: string;
}

export async function runGeneration(generation: ProposedExperiment[], steps: LadderSteps): Promise<void> {
  const { book, metric } = steps;
  const ladder = book.ladder();
  const eta = book.evaluation()!.eta;
  let alive: Climber[] = generation.map((p) => ({ p, results: [], workflowId: '' }));

  for (let rung = 0; rung < ladder.length && alive.length > 0; rung++) {
    const top = rung === ladder.length - 1;
    await forEachConcurrently(alive, steps.concurrency, async (c) => {
      // Rung 1 keeps the plain id, so `<id>-exp-<n>` always names an experiment's first training.
      c.workflowId = `${steps.campaignId}-exp-${c.p.n}${rung === 0 ? '' : `-rung-${rung + 1}`}`;
      const outcome = await steps.train(c.p, c.workflowId, ladder[rung]!);
      const result: RungResult = { rung, outcome, measurement: measure(metric, outcome, steps.seeds) };
      if (top) {
        await steps.settle(c.p, outcome, c.workflowId, [...c.results, result]);
      } else {
        c.results.push(result);
        if (!result.measurement.ok) {
          await steps.saveRecord(book.leaveLadder(c.p, result, c.results.slice(0, -1), result.measurement.reason, c.workflowId, now()));
        }
      }
    });
    if (top) break;

    const ranked = alive
      .filter((c) => c.results[rung]!.measurement.ok)
      .map((c) => ({ n: c.p.n, rung, metric: metricOf(c.results[rung]!) }));
    const promoted = new Set(promoteFromRung(ranked.concat(failuresOn(alive, rung)), rung, eta, metric.direction));
    const order = [...ranked].sort((a, b) => (metric.direction === 'max' ? b.metric! - a.metric! : a.metric! - b.metric!) || a.n - b.n);
    const where = `rung ${rungLabel(book.rungRef(rung))}`;
    const stopping = book.computeBudgetSpent() || book.stopRequested();
    for (const c of alive) {
      const result = c.results[rung]!;
      if (!result.measurement.ok) continue; // recorded as failed already
      const rank = order.findIndex((o) => o.n === c.p.n) + 1;
      const reason = !promoted.has(c.p.n)
        ? `not promoted from ${where}: ${metric.name}=${fmt(result.measurement.metric)} ranked ${rank} of ${alive.length} ` +
          `in its generation; the top ${promoted.size} went up`
        : stopping
          ? `promoted from ${where} (ranked ${rank} of ${alive.length}), but the ${book.stopRequested() ? 'campaign was stopped' : 'compute budget is spent'} before the next rung`
          : null;
      if (reason !== null) await steps.saveRecord(book.leaveLadder(c.p, result, c.results.slice(0, -1), reason, c.workflowId, now()));
    }
    alive = stopping ? [] : alive.filter((c) => promoted.has(c.p.n));
  }
}

function metricOf(r: RungResult): number | null {
  return r.measurement.ok ? r.measurement.metric : null;
}

/** Failed climbers still count toward a rung's size (the promotion quota is of all who tried). */
function failuresOn(alive: Climber[], rung: number) {
  return alive.filter((c) => !c.results[rung]!.measurement.ok).map((c) => ({ n: c.p.n, rung, metric: null }));
}

function now(): string {
  return new Date().toISOString();
}

function fmt(x: number): string {
  return x.toFixed(4);
}

/** Runs `fn` over `items`, at most `limit` at a time (deterministic: workflow code). */
async function forEachConcurrently<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
}
