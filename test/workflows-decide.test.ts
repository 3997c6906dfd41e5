import { describe, expect, it } from 'vitest';
import { decide, isBetter, type DecisionRule } from '../workflows/decide.ts';
import type { ChampionRef, ExperimentOutcome } from '../workflows/types.ts';

const maxAcc = { name: 'val_accuracy', direction: 'max' as const };
const minLoss = { name: 'val_loss', direction: 'min' as const };
const champion: ChampionRef = { n: 3, metric: 0.6, specHash: 'abc', hypothesis: 'h' };

function ok(metrics: Record<string, number | boolean | null>): ExperimentOutcome {
  return { ok: true, metrics, curve: [], durationMs: 10, backend: 'cpu', params: 1 };
}

describe('decide', () => {
  it('keeps the first successful experiment as the baseline champion', () => {
    const d = decide(maxAcc, null, ok({ val_accuracy: 0.3 }));
    expect(d).toMatchObject({ status: 'kept', metric: 0.3 });
    expect(d.reason).toContain('baseline');
  });

  it('keeps a challenger that beats the champion and discards one that does not', () => {
    expect(decide(maxAcc, champion, ok({ val_accuracy: 0.61 })).status).toBe('kept');
    expect(decide(maxAcc, champion, ok({ val_accuracy: 0.6 })).status).toBe('discarded');
    const worse = decide(maxAcc, champion, ok({ val_accuracy: 0.5 }));
    expect(worse.status).toBe('discarded');
    expect(worse.reason).toContain('-0.1000');
  });

  it('respects a metric to minimise', () => {
    const lossChampion = { ...champion, metric: 1.2 };
    expect(decide(minLoss, lossChampion, ok({ val_loss: 1.1 })).status).toBe('kept');
    expect(decide(minLoss, lossChampion, ok({ val_loss: 1.3 })).status).toBe('discarded');
    expect(isBetter(minLoss, 1, 2)).toBe(true);
    expect(isBetter(maxAcc, 1, 2)).toBe(false);
  });

  it('fails diverged, missing and non-finite metrics and failed trainings', () => {
    expect(decide(maxAcc, champion, ok({ val_accuracy: 0.9, diverged: true })).status).toBe('failed');
    expect(decide(maxAcc, champion, ok({ val_accuracy: Number.NaN })).status).toBe('failed');
    expect(decide(maxAcc, champion, ok({ val_loss: 0.1 })).status).toBe('failed');
    const failed = decide(maxAcc, champion, {
      ok: false,
      error: { class: 'TimeoutFailure', message: 'heartbeat timeout' },
      durationMs: 5,
      curve: [],
    });
    expect(failed).toMatchObject({ status: 'failed', metric: null });
    expect(failed.reason).toContain('TimeoutFailure');
  });
});

describe('decide with multi-seed evaluation', () => {
  const rule: DecisionRule = { rule: { test: 'welch-t', alpha: 0.05, minEffect: 0 }, seeds: [1, 2, 3], rngSeed: 5 };
  const seeded = (values: number[], extra: Record<string, number | boolean> = {}): ExperimentOutcome => ({
    ok: true,
    metrics: { val_accuracy: values.reduce((a, b) => a + b, 0) / values.length },
    curve: [],
    durationMs: 10,
    backend: 'cpu',
    params: 1,
    runs: values.map((v, i) => ({ seed: i + 1, metrics: { val_accuracy: v, ...extra }, compute: 100 })),
  });
  const champ: ChampionRef = { n: 1, metric: 0.5, specHash: 'a', hypothesis: 'h', seedMetrics: [0.49, 0.5, 0.51], spread: 0.01 };

  it('keeps a baseline with its spread as the noise floor', () => {
    const d = decide(maxAcc, null, seeded([0.49, 0.5, 0.51]), rule);
    expect(d).toMatchObject({ status: 'kept', seedMetrics: [0.49, 0.5, 0.51], statistics: null });
    expect(d.metric).toBeCloseTo(0.5, 12);
    expect(d.spread).toBeCloseTo(0.01, 12);
    expect(d.reason).toContain('noise floor');
    expect(d.reason).toContain('3 seeds (1, 2, 3)');
  });

  it('keeps a clear improvement and records the Welch test with its seeds', () => {
    const d = decide(maxAcc, champ, seeded([0.6, 0.61, 0.62]), rule);
    expect(d.status).toBe('kept');
    expect(d.statistics).toMatchObject({ test: 'welch-t', keep: true, seeds: [1, 2, 3], alpha: 0.05 });
    expect(d.statistics!.pValue!).toBeLessThan(0.05);
    expect(d.statistics!.statistic!).toBeGreaterThan(5);
    expect(d.reason).toMatch(/Welch t=.*p=/);
  });

  it('discards a better mean that is within the noise, and says it is not significant', () => {
    const d = decide(maxAcc, champ, seeded([0.47, 0.52, 0.54]), rule);
    expect(d.metric).toBeGreaterThan(champ.metric);
    expect(d.status).toBe('discarded');
    expect(d.reason).toContain('not significant');
  });

  it('discards an exact tie as no improvement', () => {
    const d = decide(maxAcc, champ, seeded([0.49, 0.5, 0.51]), rule);
    expect(d.status).toBe('discarded');
    expect(d.reason).toContain('no improvement');
  });

  it('respects the minimum effect and the paired bootstrap', () => {
    const small = decide(maxAcc, champ, seeded([0.5, 0.51, 0.52]), { ...rule, rule: { ...rule.rule, minEffect: 0.05 } });
    expect(small.status).toBe('discarded');
    const bootstrap = decide(maxAcc, champ, seeded([0.6, 0.61, 0.62]), { ...rule, rule: { ...rule.rule, test: 'paired-bootstrap' } });
    expect(bootstrap.status).toBe('kept');
    expect(bootstrap.statistics?.ci?.[0]).toBeGreaterThan(0);
    // the bootstrap is seeded: the same decision replays identically
    expect(decide(maxAcc, champ, seeded([0.6, 0.61, 0.62]), { ...rule, rule: { ...rule.rule, test: 'paired-bootstrap' } })).toEqual(bootstrap);
  });

  it('fails when any seed diverged, naming the seed', () => {
    const outcome = seeded([0.5, 0.5, 0.5]);
    if (outcome.ok) outcome.runs![1]!.metrics.diverged = true;
    const d = decide(maxAcc, champ, outcome, rule);
    expect(d.status).toBe('failed');
    expect(d.reason).toContain('seed 2');
    expect(d.reason).toContain('learningRate');
  });

  it('says so when one seed allows no test', () => {
    const one: DecisionRule = { ...rule, seeds: [1] };
    const d = decide(maxAcc, { ...champion, seedMetrics: [0.6] }, ok({ val_accuracy: 0.7 }), one);
    expect(d.status).toBe('kept');
    expect(d.reason).toContain('one seed: no statistical test');
  });
});
