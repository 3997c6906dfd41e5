import { createRng } from '../agents/rng.ts';
import { statisticalKeep, type KeepRule, type StatisticalDecision } from '../evaluation/keep-rule.ts';
import { mean, std } from '../evaluation/statistics.ts';
import type { MetricDef } from '../experiments/template.ts';
import type { ChampionRef, ExperimentOutcome } from './types.ts';

// The keep rule, as pure code so it runs inside the workflow and is tested directly.
// A challenger trained on the champion's seeds is kept only when its improvement clears the
// configured test (evaluation/keep-rule.ts). With one seed there is no test: better once is kept,
// and the reason says so. Campaigns started before multi-seed evaluation pass no rule and keep
// their original better-once behaviour.

export interface DecisionRule {
  rule: KeepRule;
  /** The seeds every experiment trains with, in order (pairs share a seed). */
  seeds: number[];
  /** Seeds the bootstrap's generator, so a decision replays identically. */
  rngSeed: number;
}

export interface Decision {
  status: 'kept' | 'discarded' | 'failed';
  reason: string;
  /** Mean over seeds; null when failed. */
  metric: number | null;
  /** The metric of each seed (one value for single-seed runs); null when failed. */
  seedMetrics: number[] | null;
  /** Sample standard deviation over seeds; null with one seed or when failed. */
  spread: number | null;
  /** The test that decided, with its statistic, p-value or interval and the seeds; null if none ran. */
  statistics: (StatisticalDecision & { seeds: number[] }) | null;
}

export type Measurement =
  | { ok: true; metric: number; seedMetrics: number[]; spread: number | null; seeds: number[] }
  | { ok: false; reason: string };

/** The metric of an outcome: its mean over seeds, each seed's value and the spread, or why there is none. */
export function measure(metric: MetricDef, outcome: ExperimentOutcome, seeds: readonly number[]): Measurement {
  if (!outcome.ok) return { ok: false, reason: `training failed (${outcome.error.class}): ${outcome.error.message}` };
  const runs = outcome.runs ?? [{ seed: seeds[0] ?? 0, metrics: outcome.metrics }];
  for (const run of runs) {
    const value = run.metrics[metric.name];
    if (typeof value !== 'number' || !Number.isFinite(value) || run.metrics.diverged === true) {
      const which = runs.length > 1 ? ` (seed ${run.seed})` : '';
      return {
        ok: false,
        reason:
          `training diverged${which}: the loss became NaN, infinite or ≥ 1e9 (${metric.name} is ${String(value)}); ` +
          'lower recipe.learningRate (e.g. 10× smaller) or add normalisation (addNorm)',
      };
    }
  }
  const seedMetrics = runs.map((r) => r.metrics[metric.name] as number);
  return {
    ok: true,
    metric: runs.length === 1 ? seedMetrics[0]! : mean(seedMetrics),
    seedMetrics,
    spread: seedMetrics.length > 1 ? std(seedMetrics) : null,
    seeds: runs.map((r) => r.seed),
  };
}

export function isBetter(metric: MetricDef, challenger: number, champion: number): boolean {
  return metric.direction === 'max' ? challenger > champion : challenger < champion;
}

export function decide(
  metric: MetricDef,
  champion: ChampionRef | null,
  outcome: ExperimentOutcome,
  rule: DecisionRule | null = null,
): Decision {
  const m = measure(metric, outcome, rule?.seeds ?? [0]);
  if (!m.ok) return { status: 'failed', reason: m.reason, metric: null, seedMetrics: null, spread: null, statistics: null };
  const { metric: value, seedMetrics, spread, seeds } = m;
  const measured = { metric: value, seedMetrics, spread };
  const shown = (x: number, sd: number | null | undefined) => (sd == null ? fmt(x) : `${fmt(x)} ± ${fmt(sd)}`);
  const seedsText = seeds.length > 1 ? ` over ${seeds.length} seeds (${seeds.join(', ')})` : '';

  if (champion === null) {
    return {
      status: 'kept',
      reason:
        `baseline: ${metric.name}=${shown(value, spread)}${seedsText} becomes the first champion` +
        (spread !== null ? '; its spread is the campaign noise floor' : ''),
      ...measured,
      statistics: null,
    };
  }

  const championSeeds = champion.seedMetrics ?? [];
  if (rule && seedMetrics.length >= 2 && championSeeds.length === seedMetrics.length) {
    const rng = createRng(rule.rngSeed);
    const stat = statisticalKeep(rule.rule, metric.direction, championSeeds, seedMetrics, () => rng.next());
    return {
      status: stat.keep ? 'kept' : 'discarded',
      reason:
        `${metric.name}=${shown(value, spread)} vs champion exp ${champion.n} ${shown(champion.metric, champion.spread)}` +
        `${seedsText}: ${stat.reason}`,
      ...measured,
      statistics: { ...stat, seeds },
    };
  }

  const delta = value - champion.metric;
  const sign = delta >= 0 ? '+' : '';
  const minEffect = rule?.rule.minEffect ?? 0;
  const improvement = metric.direction === 'max' ? delta : -delta;
  const untested = rule ? ' (one seed: no statistical test; set evaluation.seeds ≥ 2 for one)' : '';
  if (isBetter(metric, value, champion.metric) && improvement >= minEffect) {
    return {
      status: 'kept',
      reason: `${metric.name}=${fmt(value)} beats champion exp ${champion.n} (${fmt(champion.metric)}) by ${sign}${fmt(delta)}${untested}`,
      ...measured,
      statistics: null,
    };
  }
  return {
    status: 'discarded',
    reason:
      `${metric.name}=${fmt(value)} does not beat champion exp ${champion.n} (${fmt(champion.metric)}; ${sign}${fmt(delta)}` +
      `${improvement > 0 && improvement < minEffect ? `, below the min effect ${minEffect}` : ''})${untested}`,
    ...measured,
    statistics: null,
  };
}

function fmt(x: number): string {
  return x.toFixed(4);
}
