import { mkdir, mkdtemp, rm, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Spec } from '../arch/spec.ts';
import {
  campaignJson,
  campaignMessage,
  curveToCsv,
  experimentMessage,
  jsonFile,
  metricsJson,
  resultLine,
} from '../history/format.ts';
import {
  experimentFolder,
  HistoryError,
  initCampaign,
  openHistory,
  readExperiment,
  readResults,
  recordExperiment,
  tempRoot,
  type ExperimentRecord,
  type HistoryRepo,
} from '../history/index.ts';

const HERE = dirname(fileURLToPath(import.meta.url));

const SPEC: Spec = {
  arch: { nodes: [{ id: 'x', op: 'input', shape: [4] }, { id: 'o', op: 'dense', inputs: ['x'], units: 2, activation: 'linear' }], output: 'o' },
  recipe: { optimizer: 'sgd', learningRate: 0.01, batchSize: 16, epochs: 2 },
};

function experiment(campaignId: string, n: number): ExperimentRecord {
  const metric = (500 + (n % 400)) / 1000;
  return {
    campaignId,
    n,
    workflowId: `${campaignId}-exp-${n}`,
    status: n % 3 === 0 ? 'failed' : n % 2 === 0 ? 'discarded' : 'kept',
    hypothesis: `Try change number ${n} on ${campaignId}`,
    proposal: { hypothesis: `Try change number ${n}`, editDescriptions: [`edit ${n}`], parent: n > 1 ? 1 : null },
    spec: SPEC,
    specHash: `spec-${n}`,
    metricName: 'acc',
    metric: n % 3 === 0 ? null : metric,
    metrics: { acc: n % 3 === 0 ? null : metric },
    curve: [{ epoch: 1, loss: 1 }, { epoch: 2, loss: 0.5 }],
    decision: { reason: 'test', championBefore: null, championAfter: 1, bestMetric: metric },
    error: n % 3 === 0 ? { class: 'Boom', message: 'failed on purpose' } : null,
    durationMs: n,
    recordedAt: new Date(Date.UTC(2024, 0, 1) + n * 60_000).toISOString(),
  };
}

async function sh(cwd: string, ...args: string[]): Promise<string> {
  return (await execa('git', args, { cwd })).stdout;
}

async function count(repo: HistoryRepo, campaignId: string): Promise<number> {
  return Number(await sh(repo.dir, 'rev-list', '--count', `campaign/${campaignId}`));
}

async function experimentTrailers(repo: HistoryRepo, campaignId: string): Promise<string[]> {
  const out = await sh(
    repo.dir,
    'log',
    '--format=%(trailers:key=Arlo-Campaign,valueonly,separator=)/%(trailers:key=Arlo-Experiment,valueonly,separator=)',
    `campaign/${campaignId}`,
  );
  return out.split('\n').filter((l) => !l.endsWith('/'));
}

let home: string;
let repo: HistoryRepo;

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'arlo-hist-conc-'));
  repo = await openHistory(home);
});
afterAll(async () => {
  await rm(home, { recursive: true, force: true });
});

describe('concurrency', () => {
  it('openHistory is safe when called concurrently', async () => {
    const fresh = await mkdtemp(join(tmpdir(), 'arlo-hist-open-'));
    try {
      const repos = await Promise.all(Array.from({ length: 6 }, () => openHistory(fresh)));
      expect(new Set(repos.map((r) => r.dir)).size).toBe(1);
      expect(await sh(repos[0]!.dir, 'rev-list', '--count', 'main')).toBe('1');
      expect(await sh(repos[0]!.dir, 'status', '--porcelain')).toBe('');
      expect((await readdir(fresh)).sort()).toEqual(['history']); // no staging directories left
      await execa('git', ['fsck', '--strict'], { cwd: repos[0]!.dir });
    } finally {
      await rm(fresh, { recursive: true, force: true });
    }
  });

  it('openHistory adopts an empty history directory and refuses a non-repository one', async () => {
    const fresh = await mkdtemp(join(tmpdir(), 'arlo-hist-open2-'));
    try {
      await mkdir(join(fresh, 'a', 'history'), { recursive: true });
      const r = await openHistory(join(fresh, 'a'));
      expect(await sh(r.dir, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe('main');
      await mkdir(join(fresh, 'b', 'history'), { recursive: true });
      await writeFile(join(fresh, 'b', 'history', 'notes.txt'), 'mine');
      await expect(openHistory(join(fresh, 'b'))).rejects.toMatchObject({ code: 'NOT_A_REPOSITORY' });
      expect((await readdir(join(fresh, 'b'))).sort()).toEqual(['history']);
    } finally {
      await rm(fresh, { recursive: true, force: true });
    }
  });

  it('two campaigns recording concurrently each get exactly their commits', async () => {
    await Promise.all([
      initCampaign(repo, { campaignId: 'alpha', config: { k: 'a' }, createdAt: '2024-01-01T00:00:00Z' }),
      initCampaign(repo, { campaignId: 'beta', config: { k: 'b' }, createdAt: '2024-01-01T00:00:00Z' }),
    ]);
    const jobs: ExperimentRecord[] = [];
    for (let n = 1; n <= 5; n++) jobs.push(experiment('alpha', n), experiment('beta', n));
    const res = await Promise.all(jobs.map((rec) => recordExperiment(repo, rec)));
    expect(res.every((r) => r.created)).toBe(true);
    expect(new Set(res.map((r) => r.commit)).size).toBe(10);

    for (const id of ['alpha', 'beta']) {
      expect(await count(repo, id)).toBe(6);
      expect((await experimentTrailers(repo, id)).sort()).toEqual([1, 2, 3, 4, 5].map((n) => `${id}/${n}`));
    const results = await readResults(repo, id);
      expect(results.map((r) => r.n)).toEqual([1, 2, 3, 4, 5]);
      const mine = res.filter((_, i) => jobs[i]!.campaignId === id).map((r) => r.commit);
      expect(results.map((r) => r.commit)).toEqual(mine);
    }
    await execa('git', ['fsck', '--strict'], { cwd: repo.dir });
    expect(await readdir(tempRoot(repo))).toEqual([]);
  });

  it('compare-and-swap retries: 5 different experiments on ONE branch all land exactly once', async () => {
    await initCampaign(repo, { campaignId: 'same', config: {}, createdAt: '2024-01-01T00:00:00Z' });
    const attempts: number[] = [];
    repo.hooks.beforeStep = (step, ctx) => {
      if (step === 'update-ref') attempts.push(ctx.attempt);
    };
    try {
      const res = await Promise.all([1, 2, 3, 4, 5].map((n) => recordExperiment(repo, experiment('same', n))));
      expect(res.every((r) => r.created)).toBe(true);
    } finally {
      repo.hooks = {};
    }
    expect(Math.max(...attempts)).toBeGreaterThan(1); // races really happened and were retried
    expect(await count(repo, 'same')).toBe(6);
    expect((await experimentTrailers(repo, 'same')).sort()).toEqual([1, 2, 3, 4, 5].map((n) => `same/${n}`));
    const lines = (await sh(repo.dir, 'show', 'campaign/same:results.jsonl')).split('\n');
    expect(lines.map((l) => JSON.parse(l).n).sort()).toEqual([1, 2, 3, 4, 5]);
    const folders = (await sh(repo.dir, 'ls-tree', '--name-only', 'campaign/same')).split('\n');
    expect(folders.filter((f) => /^\d{4}-/.test(f))).toHaveLength(5);
    await execa('git', ['fsck', '--strict'], { cwd: repo.dir });
  });

  it('the same experiment recorded 5 times at once makes one commit', async () => {
    await initCampaign(repo, { campaignId: 'dup', config: {}, createdAt: '2024-01-01T00:00:00Z' });
    const res = await Promise.all(Array.from({ length: 5 }, () => recordExperiment(repo, experiment('dup', 1))));
    expect(new Set(res.map((r) => r.commit)).size).toBe(1);
    expect(res.filter((r) => r.created)).toHaveLength(1);
    expect(await count(repo, 'dup')).toBe(2);
  });

  it('a deterministic lost race re-reads the tip and retries', async () => {
    await initCampaign(repo, { campaignId: 'race', config: {}, createdAt: '2024-01-01T00:00:00Z' });
    const other = await openHistory(home); // a second writer without hooks
    let sneaked = '';
    repo.hooks.beforeStep = async (step, ctx) => {
      if (step === 'update-ref' && ctx.attempt === 1) sneaked = (await recordExperiment(other, experiment('race', 2))).commit;
    };
    try {
      const mine = await recordExperiment(repo, experiment('race', 1));
      expect(mine.created).toBe(true);
      expect(await sh(repo.dir, 'rev-parse', `${mine.commit}^`)).toBe(sneaked); // rebuilt on the new tip
    } finally {
      repo.hooks = {};
    }
    expect((await readResults(repo, 'race')).map((r) => r.n)).toEqual([1, 2]);
    expect(await count(repo, 'race')).toBe(3);
  });

  it('gives up with CAS_EXHAUSTED when it keeps losing, changing nothing of its own', async () => {
    await initCampaign(repo, { campaignId: 'loser', config: {}, createdAt: '2024-01-01T00:00:00Z' });
    const other = await openHistory(home);
    let n = 100;
    repo.maxAttempts = 2;
    repo.hooks.beforeStep = async (step) => {
      if (step === 'update-ref') await recordExperiment(other, experiment('loser', n++));
    };
    try {
      const err = await recordExperiment(repo, experiment('loser', 1)).catch((e) => e);
      expect(err).toBeInstanceOf(HistoryError);
      expect(err.code).toBe('CAS_EXHAUSTED');
    } finally {
      repo.hooks = {};
      repo.maxAttempts = 16;
    }
    expect((await readResults(repo, 'loser')).map((r) => r.n)).toEqual([100, 101]);
    expect(await readExperiment(repo, 'loser', 1)).toBeNull();
  });

  it('separate processes opening, initialising and recording at once', async () => {
    const fresh = await mkdtemp(join(tmpdir(), 'arlo-hist-procs-'));
    const script = join(fresh, 'worker.mts');
    const historyIndex = resolve(HERE, '../history/index.ts');
    await writeFile(
      script,
      `import { openHistory, initCampaign, recordExperiment } from ${JSON.stringify(historyIndex)};
const [home, p] = process.argv.slice(2);
const repo = await openHistory(home);
await initCampaign(repo, { campaignId: 'multi', config: {}, createdAt: '2024-01-01T00:00:00Z' });
const rec = JSON.parse(process.env.ARLO_TEST_RECS);
for (const r of rec) await recordExperiment(repo, r);
`,
    );
    try {
      const tsx = resolve(HERE, '../node_modules/.bin/tsx');
      await Promise.all(
        [0, 1].map((p) =>
          execa(tsx, [script, fresh, String(p)], {
            env: { ARLO_TEST_RECS: JSON.stringify([1, 2].map((i) => experiment('multi', p * 2 + i))) },
          }),
        ),
      );
      const r = await openHistory(fresh);
      expect(await count(r, 'multi')).toBe(5);
      expect((await readResults(r, 'multi')).map((x) => x.n)).toEqual([1, 2, 3, 4]);
      await execa('git', ['fsck', '--strict'], { cwd: r.dir });
    } finally {
      await rm(fresh, { recursive: true, force: true });
    }
  });
});

describe('scale', () => {
  it('reads a 2,000-experiment branch and keeps recording on it', async () => {
    const id = 'big';
    const N = 2000;
    // Build the branch with one fast-import stream, in the exact formats recordExperiment writes.
    const parts: string[] = [];
    const data = (s: string) => `data ${Buffer.byteLength(s)}\n${s}\n`;
    const stamp = (iso: string) => `arlo <arlo@localhost> ${Math.floor(Date.parse(iso) / 1000)} +0000`;
    const campaign = { campaignId: id, config: { big: true }, createdAt: '2024-01-01T00:00:00Z' };
    parts.push(
      `commit refs/heads/campaign/${id}\nauthor ${stamp(campaign.createdAt)}\ncommitter ${stamp(campaign.createdAt)}\n`,
      data(campaignMessage(campaign)),
      `M 100644 inline campaign.json\n${data(campaignJson(campaign))}`,
    );
    // One commit per experiment (with its trailers); the folders and results.jsonl land in the
    // last commit, so the stream costs O(N) instead of rewriting a growing root tree N times.
    const lines: string[] = [];
    const files: string[] = [];
    for (let n = 1; n <= N; n++) {
      const rec = experiment(id, n);
      const folder = experimentFolder(n, rec.hypothesis);
      lines.push(resultLine(rec));
      files.push(
        `M 100644 inline ${folder}/proposal.json\n${data(jsonFile(rec.proposal))}`,
        `M 100644 inline ${folder}/spec.json\n${data(jsonFile(rec.spec))}`,
        `M 100644 inline ${folder}/metrics.json\n${data(metricsJson(rec))}`,
        `M 100644 inline ${folder}/curve.csv\n${data(curveToCsv(rec.curve))}`,
      );
      parts.push(
        `commit refs/heads/campaign/${id}\nauthor ${stamp(rec.recordedAt)}\ncommitter ${stamp(rec.recordedAt)}\n`,
        data(experimentMessage(rec)),
      );
      if (n === N) parts.push(...files, `M 100644 inline results.jsonl\n${data(`${lines.join('\n')}\n`)}`);
    }
    await execa('git', ['fast-import', '--quiet'], { cwd: repo.dir, input: parts.join('') });
    expect(await count(repo, id)).toBe(N + 1);

    const results = await readResults(repo, id);
    expect(results).toHaveLength(N);
    expect(results.map((r) => r.n)).toEqual(Array.from({ length: N }, (_, i) => i + 1));
    const shas = (await sh(repo.dir, 'rev-list', '--reverse', `campaign/${id}`)).split('\n').slice(1);
    expect(results.map((r) => r.commit)).toEqual(shas);
    expect(results[1233]).toMatchObject({ n: 1234, status: 'discarded', specHash: 'spec-1234' });

    const rec1500 = experiment(id, 1500);
    expect(await readExperiment(repo, id, 1500)).toEqual(rec1500);

    const next = await recordExperiment(repo, experiment(id, N + 1));
    expect(next.created).toBe(true);
    expect(await recordExperiment(repo, experiment(id, 7))).toEqual({ commit: shas[6], created: false });
    const after = await readResults(repo, id);
    expect(after).toHaveLength(N + 1);
    expect(after.at(-1)).toMatchObject({ n: N + 1, commit: next.commit });
    expect(await sh(repo.dir, 'ls-tree', '--name-only', `campaign/${id}`)).toContain('2001-try-change-number-2001-on-big');
  });
});
