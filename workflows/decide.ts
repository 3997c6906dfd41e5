import type { MetricDef } from '../experiments/template.ts';
import type { ChampionRef, ExperimentOutcome } from './types.ts';

// The keep rule, as pure code so it runs inside the workflow and is tested directly.
// For now: a challenger is kept when it beats the champion on the validation metric.
// (Noise-aware statistics replace this rule in a later issue.)

export interface Decision {
  status: 'kept' | 'discarded' | 'failed';
  reason: string;
  metric: number | null;
}

export function isBetter(metric: MetricDef, challenger: number, champion: number): boolean {
  return metric.direction === 'max' ? challenger > champion : challenger < champion;
}

export function decide(metric: MetricDef, champion: ChampionRef | null, outcome: ExperimentOutcome): Decision {
  if (!outcome.ok) {
    return { status: 'failed', reason: `training failed (${outcome.error.class}): ${outcome.error.message}`, metric: null };
  }
  const value = outcome.metrics[metric.name];
  if (typeof value !== 'number' || !Number.isFinite(value) || outcome.metrics.diverged === true) {
    return {
      status: 'failed',
      reason: `training diverged: ${metric.name} is ${String(value)} (the loss became NaN or infinite)`,
      metric: null,
    };
  }
  if (champion === null) {
    return { status: 'kept', reason: `baseline: ${metric.name}=${fmt(value)} becomes the first champion`, metric: value };
  }
  const delta = value - champion.metric;
  const sign = delta >= 0 ? '+' : '';
  if (isBetter(metric, value, champion.metric)) {
    return {
      status: 'kept',
      reason: `${metric.name}=${fmt(value)} beats champion exp ${champion.n} (${fmt(champion.metric)}) by ${sign}${fmt(delta)}`,
      metric: value,
    };
  }
  return {
    status: 'discarded',
    reason: `${metric.name}=${fmt(value)} does not beat champion exp ${champion.n} (${fmt(champion.metric)}; ${sign}${fmt(delta)})`,
    metric: value,
  };
}

function fmt(x: number): string {
  return x.toFixed(4);
}
