import { studentTUpperTail } from './student-t.ts';

// Summary statistics and the two tests a keep decision may use. Pure and deterministic (the
// bootstrap takes its own seeded generator), so decisions can run inside workflow code.

export function mean(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

/** Sample standard deviation (n − 1); 0 for a single value. */
export function std(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  let s = 0;
  for (const x of xs) s += (x - m) * (x - m);
  return Math.sqrt(s / (xs.length - 1));
}

export interface WelchResult {
  test: 'welch-t';
  /** mean(b) − mean(a) */
  meanDiff: number;
  t: number;
  df: number;
  /** One-sided p-value for "b is greater than a" (flip the sign of the data for "less"). */
  pValue: number;
}

/**
 * Welch's t-test of H0: mean(b) ≤ mean(a) against H1: mean(b) > mean(a). Needs ≥ 2 values on each
 * side. With zero variance on both sides the result is decided by the means alone (p = 0 or 1).
 */
export function welchTTest(a: readonly number[], b: readonly number[]): WelchResult {
  if (a.length < 2 || b.length < 2) throw new Error('welchTTest needs at least 2 values per group');
  const ma = mean(a);
  const mb = mean(b);
  const va = std(a) ** 2 / a.length;
  const vb = std(b) ** 2 / b.length;
  const se2 = va + vb;
  const meanDiff = mb - ma;
  if (se2 === 0) {
    return { test: 'welch-t', meanDiff, t: meanDiff === 0 ? 0 : Math.sign(meanDiff) * Infinity, df: a.length + b.length - 2, pValue: meanDiff > 0 ? 0 : 1 };
  }
  const t = meanDiff / Math.sqrt(se2);
  const df = (se2 * se2) / ((va * va) / (a.length - 1) + (vb * vb) / (b.length - 1));
  return { test: 'welch-t', meanDiff, t, df, pValue: studentTUpperTail(t, df) };
}

export interface BootstrapResult {
  test: 'paired-bootstrap';
  /** mean of (b[i] − a[i]) */
  meanDiff: number;
  /** Lower and upper bounds of the (1 − alpha) two-sided percentile interval of the mean difference. */
  ci: [number, number];
  iterations: number;
}

/**
 * Percentile bootstrap of the mean paired difference b[i] − a[i] (pairs share a seed). `next` is a
 * seeded uniform generator in [0, 1), so the interval is reproducible.
 */
export function pairedBootstrap(
  a: readonly number[],
  b: readonly number[],
  alpha: number,
  next: () => number,
  iterations = 2000,
): BootstrapResult {
  if (a.length !== b.length || a.length < 2) throw new Error('pairedBootstrap needs two equal-length groups of ≥ 2');
  const diffs = a.map((x, i) => b[i]! - x);
  const means: number[] = [];
  for (let it = 0; it < iterations; it++) {
    let s = 0;
    for (let i = 0; i < diffs.length; i++) s += diffs[Math.floor(next() * diffs.length)]!;
    means.push(s / diffs.length);
  }
  means.sort((x, y) => x - y);
  const lo = means[Math.floor((alpha / 2) * (iterations - 1))]!;
  const hi = means[Math.ceil((1 - alpha / 2) * (iterations - 1))]!;
  return { test: 'paired-bootstrap', meanDiff: mean(diffs), ci: [lo, hi], iterations };
}
