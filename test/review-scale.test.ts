import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { openHistory, readExperiment, readResults } from '../history/index.ts';
import {
  forEachBlob,
  listExperimentBlobs,
  readBlobsById,
  readCampaignAndResults,
  readChampionTags,
  readExperimentFiles,
  readResultLines,
} from '../history/read.ts';
import type { HistoryRepo } from '../history/types.ts';
import { collectReportData } from '../report/collect.ts';
import { generateHistory, type GeneratedHistory } from '../scripts/generate-history.ts';
import { tempHome } from './helpers/temporal-env.ts';

// A generated history (scripts/generate-history.ts: real specs from real edits, synthetic metrics,
// written in recordExperiment's formats with git fast-import): the bulk readers agree with the
// one-experiment readers, and the review commands and the report work on it. The 10,000-experiment
// timings are measured by scripts/bench-history.ts, not here.

const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'arlo.js');
const ARTIFACTS = join(ROOT, '.ci', 'artifacts');
const N = 240;
const ID = 'generated';

let home: string;
let repo: HistoryRepo;
let generated: GeneratedHistory;

function arlo(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', ARLO_HOME: home, COLUMNS: '80', ...env },
    timeout: 60_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

beforeAll(async () => {
  home = tempHome('arlo-review-scale-');
  generated = await generateHistory({ home, campaignId: ID, experiments: N, seed: 3, flushEvery: 100 });
  repo = await openHistory(home);
});

describe('generated history', () => {
  it('has one commit per experiment, trailers, champion tags and the recorded formats', async () => {
    expect(generated).toMatchObject({ campaignId: ID, experiments: N });
    expect(generated.kept).toBeGreaterThan(3);
    const git = (...args: string[]) => spawnSync('git', ['-C', join(home, 'history'), ...args], { encoding: 'utf8' }).stdout;
    expect(Number(git('rev-list', '--count', `campaign/${ID}`).trim())).toBe(N + 1);
    const tags = git('tag', '--list', `champion/${ID}/*`).trim().split('\n');
    expect(tags).toHaveLength(generated.kept);
    const results = await readResults(repo, ID);
    expect(results.map((r) => r.n)).toEqual(Array.from({ length: N }, (_, i) => i + 1));
    expect(results.filter((r) => r.status === 'kept')).toHaveLength(generated.kept);
  });
});

describe('bulk readers', () => {
  it('readResultLines and readCampaignAndResults match readResults without the commit walk', async () => {
    const full = await readResults(repo, ID);
    const lines = await readResultLines(repo, ID);
    expect(lines).toEqual(full.map(({ commit: _commit, ...rest }) => rest));
    const both = await readCampaignAndResults(repo, ID);
    expect(both.campaign).toMatchObject({ campaignId: ID, config: { experiment: 'deep-mlp', metric: { name: 'val_accuracy' } } });
    expect(both.lines).toEqual(lines);
    expect(await readCampaignAndResults(repo, 'no-such-campaign')).toEqual({ campaign: null, lines: [] });
    expect(await readResultLines(repo, 'no-such-campaign')).toEqual([]);
  });

  it('readExperimentFiles returns what readExperiment reads, for all experiments or a few', async () => {
    const all = await readExperimentFiles(repo, ID);
    expect(all.size).toBe(N);
    for (const n of [1, 10, 77, 150, N]) {
      const rec = (await readExperiment(repo, ID, n))!;
      const files = all.get(n)!.files;
      expect(JSON.parse(files['spec.json']!)).toEqual(rec.spec);
      expect(JSON.parse(files['proposal.json']!)).toEqual(rec.proposal);
      expect(JSON.parse(files['metrics.json']!)).toMatchObject({ n, metric: rec.metric, status: rec.status });
    }
    const few = await readExperimentFiles(repo, ID, { ns: [10, 11, 9999] });
    expect([...few.keys()].sort((a, b) => a - b)).toEqual([10, 11]);
    expect(Object.keys(few.get(10)!.files).sort()).toEqual(['curve.csv', 'log.txt', 'metrics.json', 'proposal.json', 'spec.json']);
    expect(Object.keys(few.get(11)!.files)).not.toContain('log.txt');
    const specsOnly = await readExperimentFiles(repo, ID, { names: ['spec.json'] });
    expect(Object.keys(specsOnly.get(5)!.files)).toEqual(['spec.json']);
  });

  it('forEachBlob streams the same contents readBlobsById returns, in order, skipping missing ids', async () => {
    const shas = (await listExperimentBlobs(repo, ID, { names: ['spec.json'] })).map((b) => b.sha);
    expect(shas).toHaveLength(N);
    const batch = await readBlobsById(repo, shas);
    const streamed: Array<[string, string]> = [];
    await forEachBlob(repo, [...shas, '0'.repeat(40)], (sha, text) => streamed.push([sha, text]));
    expect(streamed.map(([sha]) => sha)).toEqual([...new Set(shas)]);
    for (const [sha, text] of streamed) expect(text).toBe(batch.get(sha));
  });

  it('readChampionTags maps kept experiments to their commits', async () => {
    const tags = await readChampionTags(repo, ID);
    const results = await readResults(repo, ID);
    expect(tags.size).toBe(generated.kept);
    for (const r of results.filter((l) => l.status === 'kept')) expect(tags.get(r.n)).toBe(r.commit);
  });
});

describe('review commands on a generated history (real bin)', () => {
  it('are listed in --help, and name the campaigns there are when the id is unknown', () => {
    const help = arlo(['--help']);
    for (const cmd of ['history', 'show', 'diff', 'report', 'rerun', 'list']) expect(help.out).toMatch(new RegExp(`\\n\\s+${cmd}\\b`));
    const unknown = arlo(['report', 'nope']);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain('no history for campaign "nope"');
    expect(unknown.err).toContain(`campaigns recorded here: ${ID}`);
    expect(unknown.err).not.toMatch(/at .*\.ts:\d+/); // no stack trace
    const bad = arlo(['diff', ID, '1', '0']);
    expect(bad.code).not.toBe(0);
    expect(bad.err).toContain('must be a whole number');
  });

  it('history filters and sorts: kept, best first, at most 5', () => {
    const r = arlo(['history', ID, '--status', 'kept', '--sort', 'metric', '--limit', '5']);
    expect(r.code, r.err).toBe(0);
    const rows = r.out.split('\n').slice(1, 6);
    const metrics = rows.map((row) => Number(/ (\d\.\d{4}) ± /.exec(row)![1]));
    expect(metrics).toEqual([...metrics].sort((a, b) => b - a));
    for (const row of rows) expect(row).toMatch(/ kept /);
    expect(r.out).toContain(`showing 5, sorted by metric`);
    for (const line of r.out.split('\n')) expect([...line].length).toBeLessThanOrEqual(80);
    const bad = arlo(['history', ID, '--status', 'won']);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('kept, discarded, failed');
  });

  it('show prints the log tail of an experiment that has one', () => {
    const r = arlo(['show', ID, '20']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('log tail (log.txt, last 3 lines)');
    expect(r.out).toMatch(/log tail[^\n]*\n {2}epoch 1\/\d\n {2}epoch \d\/\d\n {2}done/);
    expect(r.out).toMatch(/spec diff against #\d+/);
    expect(r.out).toContain('workflow    generated-exp-20');
  });
});

describe('report on a generated history', () => {
  it('caches model sizes by spec blob id and uses the cache on the next report', async () => {
    const c = {
      repo,
      campaignId: ID,
      createdAt: null,
      template: 'deep-mlp',
      agent: 'evolution',
      seed: 3,
      metricName: 'val_accuracy',
      direction: 'max' as const,
    };
    const first = await collectReportData(c);
    expect(first.scatter.kept.length + first.scatter.discarded.length + first.counts.failed).toBe(N);
    const cacheFile = join(repo.gitDir, 'arlo-cache', 'spec-costs-v1.json');
    const cache = JSON.parse(readFileSync(cacheFile, 'utf8')) as { costs: Record<string, [number, number, number]> };
    const specShas = new Set((await listExperimentBlobs(repo, ID, { names: ['spec.json'] })).map((b) => b.sha));
    expect(Object.keys(cache.costs).sort()).toEqual([...specShas].sort()); // one entry per distinct spec
    // Plant a marker in the cache: the next report must read it instead of the spec.
    const spec1 = (await listExperimentBlobs(repo, ID, { ns: [1], names: ['spec.json'] }))[0]!.sha;
    cache.costs[spec1] = [424242, 1, 1];
    writeFileSync(cacheFile, JSON.stringify(cache));
    const mtime = statSync(cacheFile).mtimeMs;
    const second = await collectReportData(c);
    expect(second.scatter.kept.find((p) => p.n === 1)!.p).toBe(424242);
    expect(statSync(cacheFile).mtimeMs).toBe(mtime); // nothing new to cache: not rewritten
  });

  it('renders in headless Chromium with every experiment plotted', async () => {
    const out = join(home, 'generated.html');
    const r = arlo(['report', ID, '--out', out]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain(out);
    const html = readFileSync(out, 'utf8');
    const data = JSON.parse(html.slice(html.indexOf('id="report-data">') + 17, html.indexOf('</script>', html.indexOf('id="report-data">'))));
    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const errors: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(`file://${out}`);
      await page.waitForFunction(() => (window as unknown as { arloReport?: { ready: boolean } }).arloReport?.ready === true);
      const counts = await page.evaluate(() => {
        const get = (id: string) =>
          (window as unknown as { Chart: { getChart(c: HTMLCanvasElement): { data: { datasets: Array<{ data: unknown[] }> } } } }).Chart.getChart(
            document.getElementById(id) as HTMLCanvasElement,
          ).data.datasets.map((d) => d.data.length);
        return { best: get('chart-best'), cost: get('chart-cost'), curves: get('chart-curves') };
      });
      expect(errors).toEqual([]);
      expect(counts.best).toEqual([N, N - generated.failed]);
      expect(counts.cost).toEqual([generated.kept, N - generated.kept - generated.failed]);
      expect(counts.curves).toEqual([3, 3, 3, 3]); // deep-mlp: 3 epochs; metric and loss of baseline and champion
      expect(data.counts).toEqual({ total: N, kept: generated.kept, discarded: N - generated.kept - generated.failed, failed: generated.failed });
      expect(await page.locator('#lineage > li').count()).toBeGreaterThan(0);
      mkdirSync(ARTIFACTS, { recursive: true });
      const shot = join(ARTIFACTS, 'report-generated.png');
      await page.screenshot({ path: shot, fullPage: true });
      console.log(`report screenshot (generated history, ${N} experiments): ${shot}`);
    } finally {
      await browser.close();
    }
  });
});
