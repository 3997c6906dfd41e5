import { mkdtemp, rm, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Spec } from '../arch/spec.ts';
import {
  branchName,
  campaignIdFromBranch,
  experimentFolder,
  HistoryError,
  initCampaign,
  listCampaignBranches,
  listCampaignIds,
  maintainHistory,
  openHistory,
  readCampaign,
  readExperiment,
  readResults,
  recordExperiment,
  slugify,
  tagChampion,
  tempRoot,
  validateCampaignId,
  type ExperimentRecord,
  type HistoryRepo,
} from '../history/index.ts';

const SPEC: Spec = {
  arch: {
    nodes: [
      { id: 'x', op: 'input', shape: [8] },
      { id: 'h1', op: 'dense', inputs: ['x'], units: 16, activation: 'relu' },
      { id: 'out', op: 'dense', inputs: ['h1'], units: 3, activation: 'linear' },
    ],
    output: 'out',
  },
  recipe: { optimizer: 'adam', learningRate: 0.001, batchSize: 32, epochs: 3 },
};

function experiment(campaignId: string, n: number, over: Partial<ExperimentRecord> = {}): ExperimentRecord {
  const failed = over.status === 'failed';
  const metric = failed ? null : (80 + n) / 100;
  return {
    campaignId,
    n,
    workflowId: `${campaignId}-exp-${n}`,
    status: 'kept',
    hypothesis: `Add bypass h3 → h7 (variant ${n})`,
    proposal: {
      hypothesis: `Add bypass h3 → h7 (variant ${n})`,
      rationale: 'skip connections help gradient flow',
      edits: [{ op: 'addBypass', from: 'h3', to: 'h7' }],
      editDescriptions: ['+ bypass h3 → h7 (add)'],
      parent: n > 1 ? n - 1 : null,
      agent: 'test-agent',
    },
    spec: SPEC,
    specHash: `hash${n}`,
    metricName: 'val_acc',
    metric,
    metrics: { val_acc: metric, val_loss: failed ? null : 0.3, diverged: false },
    curve: failed
      ? []
      : [
          { epoch: 1, loss: 0.9, val_acc: 0.5 },
          { epoch: 2, loss: 0.6, val_acc: 0.7 },
          { epoch: 3, loss: 0.4, val_acc: metric!, lr: 0.001 },
        ],
    decision: { reason: 'beats champion by 0.01', championBefore: null, championAfter: n, bestMetric: metric },
    error: failed ? { class: 'TrainingDiverged', message: 'loss became NaN at epoch 2' } : null,
    durationMs: 1000 + n,
    recordedAt: `2024-05-01T10:${String(n % 60).padStart(2, '0')}:00.000Z`,
    ...over,
  };
}

async function sh(cwd: string, ...args: string[]): Promise<string> {
  return (await execa('git', args, { cwd })).stdout;
}

let home: string;
let repo: HistoryRepo;

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'arlo-hist-rec-'));
  repo = await openHistory(home);
});
afterAll(async () => {
  await rm(home, { recursive: true, force: true });
});

describe('names', () => {
  it('builds branch names and rejects bad campaign ids with a clear error', () => {
    expect(branchName('mnist-01_a.b')).toBe('campaign/mnist-01_a.b');
    expect(campaignIdFromBranch('refs/heads/campaign/abc')).toBe('abc');
    expect(campaignIdFromBranch('main')).toBeNull();
    for (const bad of ['', 'a/b', 'has space', 'x'.repeat(65), '.hidden', 'dots..', 'trail.', 'x.lock', 'ünï', 'a:b', 'a~1']) {
      expect(() => branchName(bad), bad).toThrow(/invalid campaign id/);
    }
    expect(() => validateCampaignId(42)).toThrow(HistoryError);
    try {
      validateCampaignId('a/b');
    } catch (err) {
      expect((err as HistoryError).code).toBe('INVALID_CAMPAIGN_ID');
    }
    expect(validateCampaignId('x'.repeat(64))).toHaveLength(64);
  });

  it('slugs hypotheses into folder names', () => {
    expect(experimentFolder(7, 'Add bypass h3 → h7')).toBe('0007-add-bypass-h3-h7');
    expect(experimentFolder(12345, 'x')).toBe('12345-x');
    expect(slugify('  Café: déjà vu!!  ')).toBe('cafe-deja-vu');
    expect(slugify('→ ✓')).toBe('experiment');
    const long = slugify('Increase the width of every hidden layer from sixty four to one hundred twenty eight units');
    expect(long.length).toBeLessThanOrEqual(40);
    expect(long).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
    expect(long).toBe('increase-the-width-of-every-hidden-layer');
  });

  it('rejects bad ids in every entry point', async () => {
    await expect(initCampaign(repo, { campaignId: 'bad id', config: {}, createdAt: '2024-01-01T00:00:00Z' })).rejects.toThrow(
      /invalid campaign id/,
    );
    await expect(recordExperiment(repo, experiment('bad/id', 1))).rejects.toThrow(/invalid campaign id/);
    await expect(readResults(repo, '../etc')).rejects.toThrow(/invalid campaign id/);
    await expect(tagChampion(repo, 'a b', 1, 'abcd')).rejects.toThrow(/invalid campaign id/);
  });
});

describe('record and read back', () => {
  const C = 'cmp-basic';
  const commits: string[] = [];

  it('initCampaign creates the branch once', async () => {
    const config = { experiment: 'mnist', budget: { experiments: 10 } };
    expect(await initCampaign(repo, { campaignId: C, config, createdAt: '2024-05-01T09:00:00Z' })).toEqual({ created: true });
    expect(await initCampaign(repo, { campaignId: C, config: { other: true }, createdAt: '2024-05-02T09:00:00Z' })).toEqual({
      created: false,
    });
    expect(await sh(repo.dir, 'rev-list', '--count', `campaign/${C}`)).toBe('1');
    expect(await sh(repo.dir, 'ls-tree', '--name-only', `campaign/${C}`)).toBe('campaign.json\nresults.jsonl');
    expect(await readCampaign(repo, C)).toEqual({ campaignId: C, config, createdAt: '2024-05-01T09:00:00Z' });
    expect(await readResults(repo, C)).toEqual([]);
    expect(await listCampaignBranches(repo)).toContain(`campaign/${C}`);
  });

  it('records kept, discarded and failed experiments as one commit each', async () => {
    const recs = [
      experiment(C, 1),
      experiment(C, 2, { status: 'discarded', decision: { reason: 'worse', championBefore: 1, championAfter: 1, bestMetric: 0.81 } }),
      experiment(C, 3, { status: 'failed' }),
    ];
    for (const rec of recs) {
      const res = await recordExperiment(repo, rec);
      expect(res.created).toBe(true);
      expect(res.commit).toMatch(/^[0-9a-f]{40}$/);
      commits.push(res.commit);
    }
    expect(await sh(repo.dir, 'rev-list', '--count', `campaign/${C}`)).toBe('4');
    expect(await sh(repo.dir, 'rev-parse', `campaign/${C}`)).toBe(commits[2]);
    // Each commit's parent is the previous one; the work tree and index of the repo were never used.
    expect(await sh(repo.dir, 'rev-parse', `${commits[2]}^`)).toBe(commits[1]);
    expect(await sh(repo.dir, 'status', '--porcelain')).toBe('');

    const names = (await sh(repo.dir, 'ls-tree', '--name-only', `campaign/${C}`)).split('\n');
    expect(names).toEqual([
      '0001-add-bypass-h3-h7-variant-1',
      '0002-add-bypass-h3-h7-variant-2',
      '0003-add-bypass-h3-h7-variant-3',
      'campaign.json',
      'results.jsonl',
    ]);
    const files = await sh(repo.dir, 'ls-tree', '--name-only', `campaign/${C}:0001-add-bypass-h3-h7-variant-1`);
    expect(files.split('\n')).toEqual(['curve.csv', 'metrics.json', 'proposal.json', 'spec.json']);
    expect(await sh(repo.dir, 'show', `campaign/${C}:0001-add-bypass-h3-h7-variant-1/curve.csv`)).toBe(
      'epoch,loss,val_acc,lr\n1,0.9,0.5,\n2,0.6,0.7,\n3,0.4,0.81,0.001',
    );

    for (const rec of recs) {
      expect(await readExperiment(repo, C, rec.n)).toEqual({ ...rec, error: rec.error ?? null });
    }
    expect(await readExperiment(repo, C, 99)).toBeNull();
    expect(await readExperiment(repo, 'no-such-campaign', 1)).toBeNull();

    const results = await readResults(repo, C);
    expect(results.map((r) => [r.n, r.status, r.metric, r.commit])).toEqual([
      [1, 'kept', 0.81, commits[0]],
      [2, 'discarded', 0.82, commits[1]],
      [3, 'failed', null, commits[2]],
    ]);
    expect(results[0]).toEqual({
      n: 1,
      status: 'kept',
      hypothesis: 'Add bypass h3 → h7 (variant 1)',
      specHash: 'hash1',
      metric: 0.81,
      metricName: 'val_acc',
      bestMetric: 0.81,
      championAfter: 1,
      durationMs: 1001,
      parent: null,
      edits: ['+ bypass h3 → h7 (add)'],
      error: null,
      recordedAt: '2024-05-01T10:01:00.000Z',
      commit: commits[0],
    });
    expect(results[2]!.error).toBe('TrainingDiverged: loss became NaN at epoch 2');
    expect(results[1]!.parent).toBe(1);
    // The stored line carries no commit (it cannot know it); readers add it from the trailers.
    const stored = (await sh(repo.dir, 'show', `campaign/${C}:results.jsonl`)).split('\n');
    expect(stored).toHaveLength(3);
    expect(JSON.parse(stored[0]!)).not.toHaveProperty('commit');
  });

  it('is idempotent by (campaign, n): a retried record makes no second commit', async () => {
    const again = await recordExperiment(repo, experiment(C, 2, { status: 'discarded' }));
    expect(again).toEqual({ commit: commits[1], created: false });
    // Even with different content (e.g. a retry after a changed decision) the first record stands.
    const changed = await recordExperiment(repo, experiment(C, 1, { hypothesis: 'something else entirely', metric: 0.1 }));
    expect(changed).toEqual({ commit: commits[0], created: false });
    expect(await sh(repo.dir, 'rev-list', '--count', `campaign/${C}`)).toBe('4');
    expect((await readResults(repo, C)).length).toBe(3);
  });

  it('writes the commit message subject, body and trailers', async () => {
    const msg = (await sh(repo.dir, 'cat-file', 'commit', commits[0]!)).split('\n\n').slice(1).join('\n\n');
    expect(msg).toBe(
      [
        'exp 1: kept val_acc=0.8100 — Add bypass h3 → h7 (variant 1)',
        '',
        'Add bypass h3 → h7 (variant 1)',
        '',
        'Decision: beats champion by 0.01',
        '',
        'Arlo-Campaign: cmp-basic',
        'Arlo-Experiment: 1',
        'Arlo-Workflow: cmp-basic-exp-1',
        'Arlo-Status: kept',
        'Arlo-Metric: val_acc=0.81',
        'Arlo-Spec-Hash: hash1',
      ].join('\n'),
    );
    const failed = (await sh(repo.dir, 'log', '-1', '--format=%s%n%(trailers:key=Arlo-Metric,valueonly)', commits[2]!)).trim();
    expect(failed).toBe('exp 3: failed val_acc=failed — Add bypass h3 → h7 (variant 3)\nval_acc=null');
    const body = await sh(repo.dir, 'log', '-1', '--format=%b', commits[2]!);
    expect(body).toContain('Error: TrainingDiverged: loss became NaN at epoch 2');
    const ident = await sh(repo.dir, 'log', '-1', '--format=%an <%ae>|%cn <%ce>|%aI|%cI', commits[0]!);
    expect(ident).toBe('arlo <arlo@localhost>|arlo <arlo@localhost>|2024-05-01T10:01:00+00:00|2024-05-01T10:01:00+00:00');
  });

  it('shortens long hypotheses in the subject and keeps the full text in the body', async () => {
    const hypothesis =
      'Widen every hidden layer to 256 units and add layer norm after each one,\nbecause the current model underfits badly.\n---\nKey: value';
    const { commit } = await recordExperiment(repo, experiment(C, 4, { hypothesis }));
    const subject = await sh(repo.dir, 'log', '-1', '--format=%s', commit);
    expect(subject).toMatch(/^exp 4: kept val_acc=0\.8400 — Widen every hidden layer to 256 units and add layer norm…$/);
    expect(subject.split(' — ')[1]!.length).toBeLessThanOrEqual(60);
    expect(await sh(repo.dir, 'log', '-1', '--format=%b', commit)).toContain('because the current model underfits badly.');
    // A "---" line or "Key: value" lines in the hypothesis do not disturb the trailer block.
    expect((await sh(repo.dir, 'log', '-1', '--format=%(trailers:key=Arlo-Experiment,valueonly)', commit)).trim()).toBe('4');
    expect((await readExperiment(repo, C, 4))!.hypothesis).toBe(hypothesis);
    expect(await sh(repo.dir, 'ls-tree', '--name-only', `campaign/${C}`)).toContain('0004-widen-every-hidden-layer-to-256-units');
  });

  it('tags champions idempotently and refuses conflicts', async () => {
    expect(await tagChampion(repo, C, 1, commits[0]!)).toEqual({ tag: `champion/${C}/1`, commit: commits[0], created: true });
    expect(await tagChampion(repo, C, 1, commits[0]!.slice(0, 12))).toEqual({
      tag: `champion/${C}/1`,
      commit: commits[0],
      created: false,
    });
    expect(await sh(repo.dir, 'rev-parse', `refs/tags/champion/${C}/1`)).toBe(commits[0]);
    expect(await sh(repo.dir, 'cat-file', '-t', `champion/${C}/1`)).toBe('commit'); // lightweight
    await expect(tagChampion(repo, C, 1, commits[1]!)).rejects.toMatchObject({ code: 'TAG_CONFLICT' });
    await expect(tagChampion(repo, C, 2, 'f'.repeat(40))).rejects.toThrow(/unknown commit/);
    const main = await sh(repo.dir, 'rev-parse', 'main');
    await expect(tagChampion(repo, C, 2, main)).rejects.toThrow(/not on campaign\/cmp-basic/);
  });

  it('rejects records for campaigns that were never initialised, and invalid records', async () => {
    await expect(recordExperiment(repo, experiment('never-init', 1))).rejects.toMatchObject({ code: 'CAMPAIGN_NOT_FOUND' });
    expect(await listCampaignBranches(repo)).not.toContain('campaign/never-init');
    await expect(recordExperiment(repo, experiment(C, 0))).rejects.toThrow(/experiment number/);
    await expect(recordExperiment(repo, experiment(C, 5, { recordedAt: 'yesterday' }))).rejects.toThrow(/recordedAt/);
    await expect(recordExperiment(repo, experiment(C, 5, { status: 'maybe' as never }))).rejects.toThrow(/status/);
    expect(await sh(repo.dir, 'rev-list', '--count', `campaign/${C}`)).toBe('5');
  });

  it('uses a real, recorded timestamp: the same record on the same parent builds the same commit', async () => {
    const other = await mkdtemp(join(tmpdir(), 'arlo-hist-rec2-'));
    try {
      const repo2 = await openHistory(other);
      await initCampaign(repo2, { campaignId: C, config: { experiment: 'mnist', budget: { experiments: 10 } }, createdAt: '2024-05-01T09:00:00Z' });
      const first = await recordExperiment(repo2, experiment(C, 1));
      expect(first.commit).toBe(commits[0]); // identical content, dates and parent → identical sha
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });

  it('lists campaigns and leaves no temporary files behind', async () => {
    await initCampaign(repo, { campaignId: 'zz.other', config: null, createdAt: '2024-05-01T09:00:00Z' });
    expect(await listCampaignIds(repo)).toEqual([C, 'zz.other']);
    expect(await readdir(tempRoot(repo))).toEqual([]);
    await execa('git', ['fsck', '--strict', '--no-dangling'], { cwd: repo.dir });
  });

  it('keeps working after maintenance packs objects and refs', async () => {
    const before = await readResults(repo, C);
    await maintainHistory(repo, { auto: false });
    const counts = await sh(repo.dir, 'count-objects', '-v');
    expect(counts).toMatch(/^count: 0$/m);
    expect(counts).toMatch(/^packs: [1-9]/m);
    expect(await sh(repo.dir, 'show-ref')).toContain(`refs/heads/campaign/${C}`);
    expect(await readResults(repo, C)).toEqual(before);
    expect(await recordExperiment(repo, experiment(C, 1))).toEqual({ commit: commits[0], created: false });
    expect(await tagChampion(repo, C, 1, commits[0]!)).toMatchObject({ created: false });
    const next = await recordExperiment(repo, experiment(C, 5));
    expect(next.created).toBe(true);
    expect((await readResults(repo, C)).map((r) => r.n)).toEqual([1, 2, 3, 4, 5]);
    await execa('git', ['fsck', '--strict'], { cwd: repo.dir });
  });
});
