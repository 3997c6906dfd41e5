import { mkdtemp, rm, readdir, writeFile, stat, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Spec } from '../arch/spec.ts';
import { metricsJson } from '../history/format.ts';
import {
  GitCommandError,
  HistoryError,
  initCampaign,
  openHistory,
  readExperiment,
  readResults,
  recordExperiment,
  tempRoot,
  type ExperimentRecord,
  type HistoryRepo,
  type HistoryStep,
} from '../history/index.ts';

const SPEC: Spec = {
  arch: { nodes: [{ id: 'x', op: 'input', shape: [2] }], output: 'x' },
  recipe: { optimizer: 'adam', learningRate: 0.01, batchSize: 8, epochs: 1 },
};

const C = 'faulty';

function experiment(n: number): ExperimentRecord {
  return {
    campaignId: C,
    n,
    workflowId: `${C}-exp-${n}`,
    status: 'kept',
    hypothesis: `Hypothesis ${n}`,
    proposal: { parent: null, editDescriptions: [] },
    spec: SPEC,
    specHash: `h${n}`,
    metricName: 'acc',
    metric: 0.5,
    metrics: { acc: 0.5 },
    curve: [{ epoch: 1, acc: 0.5 }],
    decision: { reason: 'first', championBefore: null, championAfter: n, bestMetric: 0.5 },
    durationMs: 10,
    recordedAt: '2024-03-03T03:03:03Z',
  };
}

async function sh(cwd: string, ...args: string[]): Promise<string> {
  return (await execa('git', args, { cwd })).stdout;
}

/** Every ref and its target: a failed operation must leave this exactly as it was. */
async function refs(repo: HistoryRepo): Promise<string> {
  return sh(repo.dir, 'for-each-ref', '--format=%(refname) %(objectname)');
}

let home: string;
let repo: HistoryRepo;
let recorded = 0;

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'arlo-hist-fail-'));
  repo = await openHistory(home);
  await initCampaign(repo, { campaignId: C, config: { secret: 'never-logged' }, createdAt: '2024-03-03T00:00:00Z' });
});
afterAll(async () => {
  await rm(home, { recursive: true, force: true });
});
beforeEach(() => {
  repo.hooks = {};
  repo.maxAttempts = 16;
});

/** Record `n` expecting failure; check nothing changed; then record it for real. */
async function expectCleanFailure(n: number, run: () => Promise<unknown>, match: RegExp | ((e: unknown) => void)) {
  const before = await refs(repo);
  const countBefore = await sh(repo.dir, 'rev-list', '--count', `campaign/${C}`);
  const err = await run().then(
    () => null,
    (e: unknown) => e,
  );
  expect(err, 'the operation should have failed').not.toBeNull();
  if (match instanceof RegExp) expect(String((err as Error).message)).toMatch(match);
  else match(err);
  expect(await refs(repo)).toBe(before);
  expect(await sh(repo.dir, 'rev-list', '--count', `campaign/${C}`)).toBe(countBefore);
  expect(await readExperiment(repo, C, n)).toBeNull();
  expect(await readdir(tempRoot(repo))).toEqual([]); // temporary index files cleaned up
  // Nothing half-done blocks a retry: the same record now succeeds, once.
  repo.hooks = {};
  const ok = await recordExperiment(repo, experiment(n));
  expect(ok.created).toBe(true);
  recorded++;
  expect(Number(await sh(repo.dir, 'rev-list', '--count', `campaign/${C}`))).toBe(Number(countBefore) + 1);
}

describe('failure safety', () => {
  const steps: HistoryStep[] = ['read-tree', 'hash-object', 'update-index', 'write-tree', 'commit-tree', 'update-ref'];
  steps.forEach((step, i) => {
    it(`an error before ${step} changes no ref and leaves no partial commit`, async () => {
      repo.hooks.beforeStep = (s) => {
        if (s === step) throw new Error(`injected failure at ${s}`);
      };
      await expectCleanFailure(i + 1, () => recordExperiment(repo, experiment(i + 1)), new RegExp(`injected failure at ${step}`));
    });
  });

  it('a real git failure (corrupt temporary index before write-tree) changes nothing', async () => {
    repo.hooks.beforeStep = async (s, ctx) => {
      if (s === 'write-tree') await writeFile(ctx.indexFile, 'this is not an index file');
    };
    await expectCleanFailure(7, () => recordExperiment(repo, experiment(7)), (e) => {
      expect(e).toBeInstanceOf(GitCommandError);
      expect((e as Error).message).toMatch(/git write-tree failed: .*index/i);
    });
  });

  it('a real git failure in hash-object (object directory blocked, works as root) changes nothing', async () => {
    // Pick a variant of the record whose metrics.json lands in a fan-out directory that does not
    // exist yet, and put a regular file there: git cannot write the object, even as root, while
    // every existing object stays readable.
    let rec = experiment(8);
    let fanout = '';
    for (let k = 0; ; k++) {
      rec = { ...experiment(8), specHash: `h8-${k}` };
      const sha = (await execa('git', ['hash-object', '--stdin'], { cwd: repo.dir, input: metricsJson(rec) })).stdout;
      fanout = join(repo.gitDir, 'objects', sha.slice(0, 2));
      if (!(await stat(fanout).then(() => true, () => false))) break;
    }
    await writeFile(fanout, 'blocker');
    try {
      await expectCleanFailure(8, async () => {
        try {
          return await recordExperiment(repo, rec);
        } finally {
          await unlink(fanout);
        }
      }, (e) => {
        expect(e).toBeInstanceOf(GitCommandError);
        expect((e as Error).message).toMatch(/git hash-object failed/);
      });
    } finally {
      await unlink(fanout).catch(() => {});
    }
  });

  it('a stale ref lock (crashed writer) fails the CAS cleanly and recording resumes once it is gone', async () => {
    repo.maxAttempts = 2;
    const lock = join(repo.gitDir, 'refs', 'heads', 'campaign', `${C}.lock`);
    await writeFile(lock, '');
    try {
      await expectCleanFailure(9, async () => {
        try {
          return await recordExperiment(repo, experiment(9));
        } finally {
          await unlink(lock);
        }
      }, (e) => {
        expect(e).toBeInstanceOf(HistoryError);
        expect((e as HistoryError).code).toBe('CAS_EXHAUSTED');
        expect((e as Error).message).toMatch(/lock/);
      });
    } finally {
      await unlink(lock).catch(() => {});
    }
  });

  it('ends with a consistent branch: every experiment exactly once, fsck clean', async () => {
    const results = await readResults(repo, C);
    expect(results.map((r) => r.n)).toEqual(Array.from({ length: recorded }, (_, i) => i + 1));
    expect(results.every((r) => /^[0-9a-f]{40}$/.test(r.commit ?? ''))).toBe(true);
    expect(await sh(repo.dir, 'rev-list', '--count', `campaign/${C}`)).toBe(String(recorded + 1));
    // The unreachable commit left by the update-ref failure is harmless (gc prunes it).
    await execa('git', ['fsck', '--strict'], { cwd: repo.dir });
  });
});
