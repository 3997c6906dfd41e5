import type { MetricDirection } from '../experiments/template.ts';
import { mean, pairedBootstrap, std, welchTTest } from './statistics.ts';

// The statistical keep rule: a challenger trained on the same seeds as the champion is kept only
// if its improvement clears a test at level alpha AND is at least `minEffect`. Ties and results
// that are not significant are discarded and say so.

export interface KeepRule {
  test: 'welch-t' | 'paired-bootstrap';
  alpha: number;
  /** Smallest improvement worth keeping, in metric units (e.g. 0.005 accuracy). */
  minEffect: number;
}

export const DEFAULT_KEEP_RULE: KeepRule = { test: 'welch-t', alpha: 0.05, minEffect: 0 };

export interface StatisticalDecision {
  keep: boolean;
  test: KeepRule['test'];
  alpha: number;
  minEffect: number;
  /** Improvement (positive = better, whatever the direction) of the challenger's mean. */
  improvement: number;
  /** Welch's t, or null for the bootstrap. */
  statistic: number | null;
  df: number | null;
  pValue: number | null;
  /** Bootstrap interval of the improvement, or null for Welch. */
  ci: [number, number] | null;
  championMean: number;
  championStd: number;
  challengerMean: number;
  challengerStd: number;
  reason: string;
}

/**
 * `champion` and `challenger` hold one metric value per seed, in the same seed order. `next` is a
 * seeded uniform generator (the bootstrap needs one; Welch ignores it).
 */
export function statisticalKeep(
  rule: KeepRule,
  direction: MetricDirection,
  champion: readonly number[],
  challenger: readonly number[],
  next: () => number,
): StatisticalDecision {
  // Orient both so that larger is better; the tests then ask one question.
  const sign = direction === 'max' ? 1 : -1;
  const a = champion.map((x) => sign * x);
  const b = challenger.map((x) => sign * x);
  const base = {
    test: rule.test,
    alpha: rule.alpha,
    minEffect: rule.minEffect,
    championMean: mean(champion),
    championStd: std(champion),
    challengerMean: mean(challenger),
    challengerStd: std(challenger),
  };
  const fmt = (x: number) => (Math.abs(x) >= 1e-3 || x === 0 ? x.toFixed(4) : x.toExponential(2));

  if (rule.test === 'welch-t') {
    const w = welchTTest(a, b);
    const significant = w.pValue < rule.alpha;
    const bigEnough = w.meanDiff >= rule.minEffect && w.meanDiff > 0;
    const keep = significant && bigEnough;
    const stat = `Welch t=${Number.isFinite(w.t) ? w.t.toFixed(3) : String(w.t)}, df=${w.df.toFixed(1)}, p=${fmt(w.pValue)}`;
    const reason = keep
      ? `kept: improvement ${fmt(w.meanDiff)} is significant (${stat} < α=${rule.alpha}) and ≥ min effect ${rule.minEffect}`
      : w.meanDiff <= 0
        ? `discarded: no improvement (${fmt(w.meanDiff)}; ${stat})`
        : !significant
          ? `discarded: improvement ${fmt(w.meanDiff)} is not significant (${stat} ≥ α=${rule.alpha})`
          : `discarded: improvement ${fmt(w.meanDiff)} is significant but below the min effect ${rule.minEffect} (${stat})`;
    return { ...base, keep, improvement: w.meanDiff, statistic: w.t, df: w.df, pValue: w.pValue, ci: null, reason };
  }

  const bs = pairedBootstrap(a, b, rule.alpha, next);
  const [lo, hi] = bs.ci;
  const keep = lo > 0 && bs.meanDiff >= rule.minEffect;
  const ci = `${Math.round((1 - rule.alpha) * 100)}% CI [${fmt(lo)}, ${fmt(hi)}]`;
  const reason = keep
    ? `kept: improvement ${fmt(bs.meanDiff)}, paired bootstrap ${ci} excludes 0 and ≥ min effect ${rule.minEffect}`
    : bs.meanDiff <= 0
      ? `discarded: no improvement (${fmt(bs.meanDiff)}; ${ci})`
      : lo <= 0
        ? `discarded: improvement ${fmt(bs.meanDiff)} is not significant (paired bootstrap ${ci} includes 0)`
        : `discarded: improvement ${fmt(bs.meanDiff)} is below the min effect ${rule.minEffect} (${ci})`;
  return { ...base, keep, improvement: bs.meanDiff, statistic: null, df: null, pValue: null, ci: bs.ci, reason };
}
