import { describe, expect, it } from 'vitest';
import { rebuildState } from '../activities/rebuild-state.ts';
import type { ResultLine } from '../history/types.ts';

function line(n: number, status: ResultLine['status'], metric: number | null): ResultLine {
  return {
    n,
    status,
    hypothesis: `h${n}`,
    specHash: `hash${n}`,
    metric,
    metricName: 'val_accuracy',
    bestMetric: null,
    championAfter: null,
    durationMs: 1000,
    recordedAt: '2026-01-01T00:00:00Z',
  };
}

describe('rebuildState', () => {
  it('starts a new campaign at experiment 1', () => {
    const s = rebuildState([]);
    expect(s).toMatchObject({ nextN: 1, done: 0, champion: null, redo: [] });
  });

  it('recovers champion, baseline, counts and the numbers never recorded', () => {
    const s = rebuildState([
      line(1, 'kept', 0.4),
      line(2, 'discarded', 0.3),
      line(4, 'kept', 0.5),
      line(5, 'failed', null),
      line(6, 'failed', null),
    ]);
    expect(s.baseline?.n).toBe(1);
    expect(s.champion).toMatchObject({ n: 4, metric: 0.5 });
    expect(s).toMatchObject({ done: 5, kept: 2, failed: 2, nextN: 7, redo: [3], consecutiveFailures: 2 });
    expect(s.elapsedMsBefore).toBe(5000);
    expect(s.recent.map((l) => l.n)).toEqual([1, 2, 4, 5, 6]);
  });
});
