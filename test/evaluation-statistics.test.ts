import { describe, expect, it } from 'vitest';
import { createRng } from '../agents/rng.ts';
import { DEFAULT_KEEP_RULE, statisticalKeep, type KeepRule } from '../evaluation/keep-rule.ts';
import { mean, pairedBootstrap, std, welchTTest } from '../evaluation/statistics.ts';
import { studentTUpperTail } from '../evaluation/student-t.ts';
import { promoteFromRung } from '../evaluation/successive-halving.ts';

function normal(next: () => number, mu: number, sigma: number): number {
  const u = Math.max(next(), 1e-12);
  return mu + sigma * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
}

describe("Student's t tail", () => {
  it('matches tabulated values', () => {
    expect(studentTUpperTail(1, 1)).toBeCloseTo(0.25, 10); // Cauchy
    expect(studentTUpperTail(1.812461, 10)).toBeCloseTo(0.05, 5);
    expect(studentTUpperTail(2.919986, 2)).toBeCloseTo(0.05, 5);
    expect(studentTUpperTail(6.313752, 1)).toBeCloseTo(0.05, 5);
    expect(studentTUpperTail(0, 7)).toBeCloseTo(0.5, 12);
    expect(studentTUpperTail(-1.812461, 10)).toBeCloseTo(0.95, 5);
    expect(studentTUpperTail(1.959964, 1e7)).toBeCloseTo(0.025, 5); // → normal
  });
});

describe('Welch t-test and paired bootstrap', () => {
  it('computes t, df and p like a textbook example', () => {
    const a = [0.61, 0.62, 0.6];
    const b = [0.65, 0.66, 0.64];
    const w = welchTTest(a, b);
    expect(w.meanDiff).toBeCloseTo(0.04, 12);
    expect(w.t).toBeCloseTo(0.04 / Math.sqrt(0.0001 / 3 + 0.0001 / 3), 8);
    expect(w.df).toBeCloseTo(4, 8);
    expect(w.pValue).toBeCloseTo(studentTUpperTail(w.t, 4), 12);
    expect(w.pValue).toBeLessThan(0.01);
    expect(welchTTest(b, a).pValue).toBeGreaterThan(0.99);
    expect(mean(a)).toBeCloseTo(0.61, 12);
    expect(std(a)).toBeCloseTo(0.01, 12);
  });

  it('decides zero-variance groups by their means', () => {
    expect(welchTTest([1, 1], [2, 2]).pValue).toBe(0);
    expect(welchTTest([1, 1], [1, 1]).pValue).toBe(1);
  });

  it('gives a reproducible bootstrap interval around the paired difference', () => {
    const a = [0.5, 0.52, 0.49, 0.51, 0.5];
    const b = [0.55, 0.58, 0.53, 0.56, 0.54];
    const r1 = pairedBootstrap(a, b, 0.05, createRng(3).next);
    const r2 = pairedBootstrap(a, b, 0.05, createRng(3).next);
    expect(r1).toEqual(r2);
    expect(r1.meanDiff).toBeCloseTo(0.048, 12);
    expect(r1.ci[0]).toBeGreaterThan(0.03);
    expect(r1.ci[1]).toBeLessThan(0.07);
  });
});

describe('statistical keep rule', () => {
  it('A/A: with no real difference, keeps at most about alpha of challengers', () => {
    // 4,000 A/A comparisons of 3 seeds each. At alpha = 0.05 the expected false-keep rate is 0.05;
    // the binomial 99.9% upper bound for 4,000 trials at p = 0.05 is about 0.061.
    for (const test of ['welch-t', 'paired-bootstrap'] as const) {
      const rule: KeepRule = { test, alpha: 0.05, minEffect: 0 };
      const rng = createRng(test === 'welch-t' ? 11 : 12);
      const trials = test === 'welch-t' ? 4000 : 1000;
      let kept = 0;
      for (let i = 0; i < trials; i++) {
        const champ = [0, 1, 2].map(() => normal(rng.next, 0.6, 0.02));
        const chall = [0, 1, 2].map(() => normal(rng.next, 0.6, 0.02));
        if (statisticalKeep(rule, 'max', champ, chall, rng.next).keep) kept++;
      }
      const rate = kept / trials;
      // Welch is exact under normality; the percentile bootstrap with 3 pairs is anti-conservative,
      // so it gets a looser (stated) bound.
      expect(rate, `${test} false-keep rate`).toBeLessThanOrEqual(test === 'welch-t' ? 0.061 : 0.2);
    }
  });

  it('keeps a real improvement, for metrics to maximise and to minimise', () => {
    const rng = createRng(5);
    const acc = statisticalKeep(DEFAULT_KEEP_RULE, 'max', [0.3, 0.35, 0.31], [0.65, 0.66, 0.67], rng.next);
    expect(acc.keep).toBe(true);
    expect(acc.pValue!).toBeLessThan(0.001);
    expect(acc.reason).toContain('Welch t=');
    const bpc = statisticalKeep(DEFAULT_KEEP_RULE, 'min', [2.1, 2.12, 2.09], [1.9, 1.92, 1.91], rng.next);
    expect(bpc.keep).toBe(true);
    expect(bpc.improvement).toBeCloseTo(0.1933, 3);
  });

  it('discards ties, noise and effects below the minimum, saying which', () => {
    const next = createRng(1).next;
    const noisy = statisticalKeep(DEFAULT_KEEP_RULE, 'max', [0.6, 0.62, 0.58], [0.61, 0.63, 0.6], next);
    expect(noisy.keep).toBe(false);
    expect(noisy.reason).toContain('not significant');
    const tie = statisticalKeep(DEFAULT_KEEP_RULE, 'max', [0.6, 0.6, 0.6], [0.6, 0.6, 0.6], next);
    expect(tie.keep).toBe(false);
    expect(tie.reason).toContain('no improvement');
    const small = statisticalKeep({ ...DEFAULT_KEEP_RULE, minEffect: 0.05 }, 'max', [0.6, 0.601, 0.599], [0.62, 0.621, 0.619], next);
    expect(small.keep).toBe(false);
    expect(small.reason).toContain('min effect');
  });
});

describe('successive halving', () => {
  it('promotes the top 1/eta of a rung, never failures, comparing one rung only', () => {
    const results = [
      { n: 2, rung: 0, metric: 0.4 },
      { n: 3, rung: 0, metric: 0.7 },
      { n: 4, rung: 0, metric: null },
      { n: 5, rung: 0, metric: 0.5 },
      { n: 6, rung: 0, metric: 0.45 },
      { n: 7, rung: 0, metric: 0.3 },
      { n: 8, rung: 1, metric: 0.99 },
    ];
    expect(promoteFromRung(results, 0, 3, 'max')).toEqual([3, 5]);
    expect(promoteFromRung(results, 0, 2, 'min')).toEqual([7, 2, 6]);
    expect(promoteFromRung(results, 1, 3, 'max')).toEqual([8]);
    expect(() => promoteFromRung(results, 0, 1, 'max')).toThrow('eta');
  });
});
