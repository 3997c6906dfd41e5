import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { workflowBundle } from '../worker.ts';

// Histories of real campaign runs, committed as JSON, replayed against the current workflow code.
// A change that breaks determinism fails here: guard it with `patched()`, or, if old runs need not
// survive, re-record the fixtures (README, "Replay fixtures").

const FIXTURES = join(import.meta.dirname, 'fixtures', 'histories');

describe('workflow replay', () => {
  const files = readdirSync(FIXTURES).filter((f) => f.endsWith('.json'));

  it('has recorded histories to replay', () => {
    expect(files.length).toBeGreaterThanOrEqual(2);
  });

  it('replays every recorded history deterministically', async () => {
    const bundle = await workflowBundle();
    for (const file of files) {
      const history = JSON.parse(readFileSync(join(FIXTURES, file), 'utf8'));
      await expect(
        Worker.runReplayHistory({ workflowBundle: bundle }, history, file),
        `${file} no longer replays: the workflow change is not deterministic (use patched())`,
      ).resolves.toBeUndefined();
    }
  });
});
