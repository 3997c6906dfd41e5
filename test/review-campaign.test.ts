import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diffSpecs, formatSpecDiff } from '../arch/diff.ts';
import type { CampaignConfig } from '../config/campaign-config.ts';
import { getTemplate } from '../experiments/index.ts';
import { openHistory, readExperiment, readResults, type ResultLine } from '../history/index.ts';
import { createArloWorker, workflowBundle } from '../worker.ts';
import type { CampaignInput, CampaignResult } from '../workflows/types.ts';
import { startTestServer, tempHome } from './helpers/temporal-env.ts';

// Reviewing a campaign that the real loop recorded: a `smoke` campaign through the real Temporal
// dev server, real TF.js training and real git; then every review command through the real
// `arlo` entry point (a child process with ARLO_HOME set to the campaign's home).

const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'arlo.js');
const ARTIFACTS = join(ROOT, '.ci', 'artifacts');
const DATA_DIR = process.env.ARLO_DATA_DIR ?? join(ROOT, '..', 'shared', 'data');
const ID = 'review-smoke';
const EXPERIMENTS = 5;
/** Largest |rerun - recorded| accepted: seeded TF.js on the same backend (measured: see the log). */
const RERUN_TOLERANCE = 1e-4;

let env: TestWorkflowEnvironment;
let bundle: WorkflowBundleWithSourceMap;
let home: string;
let result: CampaignResult;
let lines: ResultLine[];

function arlo(args: string[], extraEnv: NodeJS.ProcessEnv = {}) {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ARLO_HOME: home, ARLO_DATA_DIR: DATA_DIR, COLUMNS: '80' };
  delete childEnv.TEMPORAL_ADDRESS;
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...childEnv, ...extraEnv }, timeout: 90_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

beforeAll(async () => {
  [env, bundle] = await Promise.all([startTestServer(), workflowBundle()]);
  home = tempHome('arlo-review-');
  const queues = { main: `review-main-${process.pid}`, training: `review-train-${process.pid}` };
  const config: CampaignConfig = {
    id: ID,
    experiment: 'smoke',
    agent: 'evolution',
    seed: 7,
    budget: { experiments: EXPERIMENTS, minutes: null },
    concurrency: 1,
    agentOptions: {},
  };
  const input: CampaignInput = { config, metric: getTemplate('smoke').metric, taskQueues: queues };
  const worker = await createArloWorker({
    address: env.address,
    namespace: 'default',
    slots: 1,
    taskQueues: queues,
    workflowBundle: bundle,
    context: { home, dataDir: DATA_DIR },
  });
  const running = worker.run();
  try {
    result = (await env.client.workflow.execute('campaignWorkflow', {
      workflowId: `campaign-${ID}`,
      taskQueue: queues.main,
      args: [input],
    })) as CampaignResult;
  } finally {
    worker.shutdown();
    await running;
  }
  lines = await readResults(await openHistory(home), ID);
});

afterAll(async () => {
  await env?.teardown();
});

describe('after a smoke campaign on the real loop', () => {
  it('recorded every experiment', () => {
    expect(result.done).toBe(EXPERIMENTS);
    expect(lines.map((l) => l.n)).toEqual([1, 2, 3, 4, 5]);
  });

  it('arlo history: a table that fits 80 columns, filters, sorts, --json and --csv', () => {
    const table = arlo(['history', ID]);
    expect(table.code, table.err).toBe(0);
    const rows = table.out.split('\n');
    expect(rows[0]).toMatch(/^\s*n\s+hypothesis\s+edits\s+metric ± sd\s+decision\s+rung\s+time\s+tokens$/);
    for (const row of rows) expect([...row].length).toBeLessThanOrEqual(80);
    for (const l of lines) {
      const row = rows.find((r) => new RegExp(`^\\s*${l.n} `).test(r))!;
      expect(row).toBeDefined();
      expect(row).toContain(l.status);
      if (l.metric !== null) expect(row).toContain(`${l.metric.toFixed(4)} ± —`);
    }
    expect(table.out).toContain(`${EXPERIMENTS} experiments (`);
    expect(table.out).toContain('metric: val_accuracy (higher is better)');

    const kept = arlo(['history', ID, '--status', 'kept', '--sort', 'metric']);
    const keptRows = kept.out.split('\n').slice(1).filter((r) => /^\s*\d+ /.test(r) && !r.includes(' experiments ('));
    expect(keptRows).toHaveLength(lines.filter((l) => l.status === 'kept').length);
    const keptMetrics = keptRows.map((r) => Number(/ (\d\.\d{4}) ± /.exec(r)![1]));
    expect(keptMetrics).toEqual([...keptMetrics].sort((a, b) => b - a));

    const json = arlo(['history', ID, '--json']);
    expect(JSON.parse(json.out)).toEqual(JSON.parse(JSON.stringify(lines)));
    const csv = arlo(['history', ID, '--csv', '--sort', 'duration']).out.trimEnd().split('\n');
    expect(csv[0]).toMatch(/^n,status,hypothesis,edits,metric_name,metric,spread,/);
    expect(csv).toHaveLength(EXPERIMENTS + 1);
    const durations = csv.slice(1).map((row) => Number(lines.find((l) => l.n === Number(row.split(',')[0]))!.durationMs));
    expect(durations).toEqual([...durations].sort((a, b) => b - a));
    for (const l of lines) expect(csv.join('\n')).toContain(l.commit!);
  });

  it('arlo show: proposal, spec diff against the parent, metrics, sparkline, commit and workflow id', async () => {
    const child = lines.find((l) => l.parent !== null && l.parent !== undefined && l.status !== 'failed')!;
    const r = arlo(['show', ID, String(child.n)]);
    expect(r.code, r.err).toBe(0);
    const repo = await openHistory(home);
    const rec = (await readExperiment(repo, ID, child.n))!;
    const parent = (await readExperiment(repo, ID, child.parent!))!;
    expect(r.out).toContain(`experiment ${child.n} of campaign ${ID} — ${child.status}`);
    expect(r.out).toContain(`hypothesis  ${rec.hypothesis.slice(0, 40)}`);
    expect(r.out).toMatch(/rationale {3}\S/);
    expect(r.out).toContain(`spec diff against #${child.parent}`);
    for (const line of formatSpecDiff(diffSpecs(parent.spec, rec.spec))) expect(r.out).toContain(`  ${line}`);
    expect(r.out).toMatch(/\n {2}val_accuracy +\d\.\d{4}\n/);
    expect(r.out).toMatch(/training curve \(2 epochs\)\n {2}loss +[▁▂▃▄▅▆▇█]{2} /);
    expect(r.out).toContain(`commit      ${child.commit}`);
    expect(r.out).toContain(`workflow    ${ID}-exp-${child.n}  (Temporal; campaign workflow campaign-${ID})`);
    if (child.status === 'kept') expect(r.out).toContain(`(tag champion/${ID}/${child.n})`);

    // the workflow id shown is the real Temporal workflow that trained it
    const d = await env.client.workflow.getHandle(`${ID}-exp-${child.n}`).describe();
    expect(d.status.name).toBe('COMPLETED');

    const json = JSON.parse(arlo(['show', ID, '1', '--json']).out);
    expect(json).toMatchObject({ n: 1, parent: null, status: 'kept', workflowId: `${ID}-exp-1`, commit: lines[0]!.commit });
    const missing = arlo(['show', ID, '99']);
    expect(missing.code).toBe(1);
    expect(missing.err).toContain(`campaign ${ID} has no experiment 99`);
  });

  it('arlo diff: spec diff and metric deltas between two experiments', async () => {
    const champion = result.champion!.n;
    const other = lines.find((l) => l.n !== 1 && l.metric !== null)!.n;
    const r = arlo(['diff', ID, '1', String(other)]);
    expect(r.code, r.err).toBe(0);
    const repo = await openHistory(home);
    const a = (await readExperiment(repo, ID, 1))!;
    const b = (await readExperiment(repo, ID, other))!;
    expect(r.out).toContain(`#1 → #${other} on campaign ${ID}`);
    for (const line of formatSpecDiff(diffSpecs(a.spec, b.spec))) expect(r.out).toContain(`  ${line}`);
    const delta = (b.metrics.val_accuracy as number) - (a.metrics.val_accuracy as number);
    expect(r.out).toMatch(new RegExp(`val_accuracy +${(a.metrics.val_accuracy as number).toFixed(4)} +${(b.metrics.val_accuracy as number).toFixed(4)} +[+-]${Math.abs(delta).toFixed(4)}`));
    const json = JSON.parse(arlo(['diff', ID, '1', String(champion), '--json']).out);
    expect(json.gain).toBeCloseTo(result.champion!.metric - result.baseline!.metric, 10);
    if (champion !== 1) expect(json.lineage[0]).toBe(1);
  });

  it('git log reads as a lab notebook with metric trailers, and champions are tagged', () => {
    const git = (...args: string[]) => spawnSync('git', ['-C', join(home, 'history'), ...args], { encoding: 'utf8' }).stdout;
    const log = git('log', '--format=%s%n%(trailers:key=Arlo-Metric,key=Arlo-Status)%x1e', `campaign/${ID}`);
    for (const l of lines) {
      expect(log).toContain(`exp ${l.n}: ${l.status} val_accuracy=${l.metric === null ? 'failed' : l.metric.toFixed(4)} — `);
      expect(log).toContain(`Arlo-Metric: val_accuracy=${l.metric === null ? 'null' : String(l.metric)}`);
    }
    const tags = git('tag', '--list', `champion/${ID}/*`).trim().split('\n').sort();
    expect(tags).toEqual(lines.filter((l) => l.status === 'kept').map((l) => `champion/${ID}/${l.n}`).sort());
    for (const l of lines.filter((x) => x.status === 'kept')) expect(git('rev-parse', `champion/${ID}/${l.n}^{commit}`).trim()).toBe(l.commit);
  });

  it('arlo report: one self-contained HTML file that renders in headless Chromium', async () => {
    const out = join(home, 'report.html');
    const r = arlo(['report', ID, '--out', out]);
    expect(r.code, r.err).toBe(0);
    const html = readFileSync(out, 'utf8');
    expect(html).not.toMatch(/<script[^>]+src=/);
    expect(html).toContain('Chart.js v4');
    const withMetric = lines.filter((l) => l.metric !== null);
    const kept = lines.filter((l) => l.status === 'kept');
    const champion = result.champion!.n;

    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const errors: string[] = [];
      const requests: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      page.on('pageerror', (e) => errors.push(String(e)));
      page.on('request', (req) => requests.push(req.url()));
      await page.goto(`file://${out}`);
      await page.waitForFunction(() => (window as unknown as { arloReport?: { ready: boolean } }).arloReport?.ready === true);
      const charts = await page.evaluate(() => {
        const get = (id: string) =>
          (window as unknown as { Chart: { getChart(c: HTMLCanvasElement): { data: { datasets: Array<{ label: string; data: unknown[] }> } } } }).Chart.getChart(
            document.getElementById(id) as HTMLCanvasElement,
          ).data.datasets.map((d) => ({ label: d.label, points: d.data.length }));
        return { best: get('chart-best'), cost: get('chart-cost'), curves: get('chart-curves') };
      });
      expect(errors).toEqual([]);
      expect(requests).toEqual([`file://${out}`]); // nothing but the file itself: no network
      expect(charts.best.map((d) => d.points)).toEqual([EXPERIMENTS, withMetric.length]);
      expect(charts.cost.map((d) => d.points)).toEqual([kept.length, withMetric.length - kept.length]);
      // smoke trains 2 epochs; metric and loss per curve; the champion's own only when it is not the baseline
      const curves = champion === 1 ? 2 : 4;
      expect(charts.curves.map((d) => d.points)).toEqual(Array(curves).fill(2));
      expect(charts.curves[0]!.label).toBe('baseline #1 val_accuracy');
      if (champion !== 1) expect(charts.curves[2]!.label).toBe(`champion #${champion} val_accuracy`);

      const summary = await page.locator('#summary').innerText();
      expect(summary).toContain(String(EXPERIMENTS));
      expect(summary).toContain(result.champion!.metric.toFixed(4));
      expect(await page.locator('#lineage li:not(.fork)').count()).toBe(kept.length);
      const edits = await page.locator('#edit-effects tbody tr').count();
      expect(edits).toBeGreaterThan(0);

      mkdirSync(ARTIFACTS, { recursive: true });
      const shot = join(ARTIFACTS, 'report.png');
      await page.screenshot({ path: shot, fullPage: true });
      console.log(`report screenshot (smoke campaign ${ID}): ${shot}`);
    } finally {
      await browser.close();
    }
  });

  it('arlo rerun: re-trains the champion from its recorded spec and seed and reproduces its metric', () => {
    const champion = result.champion!;
    const r = arlo(['rerun', ID, String(champion.n), '--json', '--tolerance', String(RERUN_TOLERANCE)]);
    expect(r.code, r.err).toBe(0);
    const rerun = JSON.parse(r.out);
    console.log(
      `rerun of ${ID} #${champion.n} on ${rerun.backend}: recorded ${rerun.recorded}, rerun ${rerun.rerun}, |Δ| = ${rerun.difference} (tolerance ${RERUN_TOLERANCE})`,
    );
    expect(rerun).toMatchObject({ n: champion.n, template: 'smoke', seed: 7, epochs: 2, reproduced: true, recorded: champion.metric });
    expect(rerun.difference).toBeLessThanOrEqual(RERUN_TOLERANCE);
    expect(rerun.metrics.map((m: { name: string }) => m.name)).toEqual(expect.arrayContaining(['val_accuracy', 'val_loss', 'train_loss']));
    // the human-readable form says the same
    const text = arlo(['rerun', ID, '1']);
    expect(text.code, text.err).toBe(0);
    expect(text.out).toMatch(/val_accuracy: recorded \d\.\d{6}, rerun \d\.\d{6}: reproduced/);
  });

  it('arlo list: the campaign from Temporal visibility, on a remote TEMPORAL_ADDRESS and as the embedded server', () => {
    const port = env.address.split(':').at(-1)!;
    for (const how of [{ TEMPORAL_ADDRESS: env.address }, { ARLO_TEMPORAL_PORT: port }]) {
      const r = arlo(['list', '--json'], how);
      expect(r.code, r.err).toBe(0);
      const row = (JSON.parse(r.out) as Array<Record<string, unknown>>).find((x) => x.id === ID)!;
      expect(row).toMatchObject({ id: ID, status: 'completed', done: EXPERIMENTS, best: result.champion!.metric });
      expect(String(row.started)).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    }
    const table = arlo(['list'], { TEMPORAL_ADDRESS: env.address });
    expect(table.code, table.err).toBe(0);
    expect(table.out).toMatch(/campaign\s.*status\s.*done\s.*best\s.*started/);
    expect(table.out).toMatch(new RegExp(`${ID}\\s.*completed\\s.*${EXPERIMENTS}\\s.*${result.champion!.metric.toFixed(4)}`));
  });
});
