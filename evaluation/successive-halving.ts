import type { MetricDirection } from '../experiments/template.ts';

// Multi-fidelity promotion: of a generation of proposals measured on one rung, only the best
// 1/eta go up to the next (more expensive) rung. Like is compared with like: only results from
// the same rung are ranked together.

export interface RungResult {
  n: number;
  rung: number;
  metric: number | null;
}

/** Experiment numbers to promote from `rung`: the top ceil(count / eta), failures never. */
export function promoteFromRung(
  results: readonly RungResult[],
  rung: number,
  eta: number,
  direction: MetricDirection,
): number[] {
  if (!(eta >= 2)) throw new Error(`eta must be ≥ 2 (got ${eta})`);
  const onRung = results.filter((r) => r.rung === rung && r.metric !== null && Number.isFinite(r.metric));
  const quota = Math.ceil(results.filter((r) => r.rung === rung).length / eta);
  const sorted = [...onRung].sort((x, y) =>
    direction === 'max' ? y.metric! - x.metric! || x.n - y.n : x.metric! - y.metric! || x.n - y.n,
  );
  return sorted.slice(0, quota).map((r) => r.n);
}
