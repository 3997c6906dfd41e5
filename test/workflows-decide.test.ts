import { describe, expect, it } from 'vitest';
import { decide, isBetter } from '../workflows/decide.ts';
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
