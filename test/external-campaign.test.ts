import { join } from 'node:path';
import { NativeConnection, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../activities/index.ts';
import { createTrainActivity } from '../activities/train.ts';
import type { CampaignConfig } from '../config/campaign-config.ts';
import { getTemplate } from '../experiments/index.ts';
import type { ExperimentTemplate } from '../experiments/template.ts';
import { openHistory, readResults } from '../history/index.ts';
import { readExperimentFiles } from '../history/read.ts';
import { createArloWorker, workflowBundle } from '../worker.ts';
import { statusQuery, unpauseSignal } from '../workflows/messages.ts';
import type { CampaignInput, CampaignResult, CampaignStatus } from '../workflows/types.ts';
import { standInFolder, standInTemplate } from './helpers/external-jobs.ts';
import { startTestServer, tempHome, waitFor } from './helpers/temporal-env.ts';

// Campaigns whose experiments are external jobs, through the real Temporal dev server and real
// git: a real PyTorch campaign (charlm-torch, evolution agent), and stand-in jobs that fail in
// each way, which are recorded with their class and log tail and pause the campaign.

const DATA_DIR = process.env.ARLO_DATA_DIR ?? join(import.meta.dirname, '..', '..', 'shared', 'data');

let env: TestWorkflowEnvironment;
let bundle: WorkflowBundleWithSourceMap;

beforeAll(async () => {
  env = await startTestServer();
  bundle = await workflowBundle();
});

afterAll(async () => {
  await env?.teardown();
});

let queueCounter = 0;
function taskQueues() {
  queueCounter++;
  return { main: `ext-main-${queueCounter}`, training: `ext-train-${queueCounter}` };
}

function config(id: string, experiment: string, overrides: Partial<CampaignConfig> = {}): CampaignConfig {
  return {
    id,
    experiment,
    agent: 'evolution',
    seed: 11,
    budget: { experiments: 6, minutes: null },
    concurrency: 1,
    agentOptions: {},
    ...overrides,
  };
}

/** A worker whose training activity looks templates up with `lookup` (stand-in jobs). */
async function withCustomWorker<T>(
  home: string,
  queues: ReturnType<typeof taskQueues>,
  lookup: (name: string) => ExperimentTemplate,
  fn: () => Promise<T>,
): Promise<T> {
  const connection = await NativeConnection.connect({ address: env.address });
  const ctx = { home, dataDir: DATA_DIR };
  const { trainExperiment: _real, ...cheap } = createActivities(ctx);
  const main = await Worker.create({ connection, taskQueue: queues.main, workflowBundle: bundle, activities: cheap });
  const training = await Worker.create({
    connection,
    taskQueue: queues.training,
    activities: { trainExperiment: createTrainActivity(ctx, { getTemplate: lookup }).trainExperiment },
    maxConcurrentActivityTaskExecutions: 1,
  });
  const running = Promise.all([main.run(), training.run()]);
  try {
    return await fn();
  } finally {
    main.shutdown();
    training.shutdown();
    await running;
    await connection.close();
  }
}

describe('campaigns of external jobs on the real dev server', () => {
  it('charlm-torch, evolution agent: 6 PyTorch experiments, each with val_bpc and log.txt in git', async () => {
    const home = tempHome('arlo-charlm-');
    const queues = taskQueues();
    const id = 'charlm';
    const input: CampaignInput = { config: config(id, 'charlm-torch'), metric: getTemplate('charlm-torch').metric, taskQueues: queues };
    const worker = await createArloWorker({
      address: env.address,
      namespace: 'default',
      slots: 1,
      taskQueues: queues,
      workflowBundle: bundle,
      context: { home, dataDir: DATA_DIR },
    });
    const running = worker.run();
    const started = Date.now();
    let result: CampaignResult;
    try {
      result = (await env.client.workflow.execute('campaignWorkflow', {
        workflowId: `campaign-${id}`,
        taskQueue: queues.main,
        args: [input],
      })) as CampaignResult;
    } finally {
      worker.shutdown();
      await running;
    }
    const seconds = (Date.now() - started) / 1000;

    expect(result.done).toBe(6);
    expect(result.failed).toBe(0);
    const repo = await openHistory(home);
    const lines = await readResults(repo, id);
    expect(lines.map((l) => l.n)).toEqual([1, 2, 3, 4, 5, 6]);
    const files = await readExperimentFiles(repo, id);
    for (const line of lines) {
      expect(line.metricName).toBe('val_bpc');
      // bits per character of English text: well below log2(65) = 6.02, well above 1
      expect(line.metric).toBeGreaterThan(1.5);
      expect(line.metric).toBeLessThan(4.5);
      const f = files.get(line.n)!.files;
      expect(JSON.parse(f['metrics.json']!).metrics.val_bpc).toBe(line.metric);
      expect(f['log.txt']).toContain('charlm: vocab 65, context 16');
      expect(f['log.txt']).toMatch(/\[arlo\] exit code 0 after \d+\.\d s\n$/);
      expect(f['curve.csv']!.split('\n')[0]).toContain('val_bpc');
    }
    // experiments 2..6 are edits of earlier ones: the job trained a different network each time
    expect(new Set(lines.map((l) => l.specHash)).size).toBe(6);
    expect(result.champion!.metric).toBeLessThanOrEqual(result.baseline!.metric);
    console.log(
      `charlm-torch campaign: 6 experiments in ${seconds.toFixed(1)} s; val_bpc ${lines.map((l) => l.metric!.toFixed(3)).join(', ')}; ` +
        `per experiment ${lines.map((l) => (l.durationMs / 1000).toFixed(1)).join(', ')} s`,
    );
  });

  it('each failure class is recorded with its log tail; 3 failures in a row pause the campaign, naming the classes', async () => {
    const home = tempHome('arlo-fail-');
    const queues = taskQueues();
    const id = 'failing';
    const folder = standInFolder();
    // Experiment n fails in the way given here; 1 (the baseline) succeeds.
    const modes = { 2: 'sigkill', 3: 'nan', 4: 'noresult', 5: 'exit3', 6: 'exit3', 7: 'exit3', 8: 'slow' };
    const template = standInTemplate(folder, ['--modes', JSON.stringify(modes)], { timeoutSeconds: 2 });
    const input: CampaignInput = {
      config: config(id, 'digits-torch', { budget: { experiments: 8, minutes: null } }),
      metric: template.metric,
      taskQueues: queues,
    };
    await withCustomWorker(home, queues, () => template, async () => {
      const handle = await env.client.workflow.start('campaignWorkflow', {
        workflowId: `campaign-${id}`,
        taskQueue: queues.main,
        args: [input],
      });
      const paused1 = await waitFor(async () => {
        const s = await handle.query(statusQuery);
        return s.phase === 'paused' && s.running.length === 0 ? s : undefined;
      }, 'the first pause', 60_000);
      expect(paused1.done).toBe(4);
      expect(paused1.message).toContain('3 experiments failed in a row (JobKilled, JobNonFiniteMetric, JobNoResult)');
      expect(paused1.message).toContain(`arlo unpause ${id}`);

      await handle.signal(unpauseSignal);
      const paused2 = await waitFor(async () => {
        const s: CampaignStatus = await handle.query(statusQuery);
        return s.phase === 'paused' && s.done === 7 && s.running.length === 0 ? s : undefined;
      }, 'the second pause', 60_000);
      expect(paused2.message).toContain('3 experiments failed in a row, the same way (JobExitNonZero)');
      expect(paused2.message).toContain('the job exited with code 3');

      // The last experiment times out; then the budget is spent and the campaign ends.
      await handle.signal(unpauseSignal);
      const result = (await handle.result()) as CampaignResult;
      expect(result.done).toBe(8);
      expect(result.failed).toBe(7);
      expect(result.stopped).toBe(false);
    });

    const repo = await openHistory(home);
    const lines = await readResults(repo, id);
    const classOf = Object.fromEntries(lines.map((l) => [l.n, l.error?.split(':')[0] ?? null]));
    expect(classOf).toEqual({
      1: null,
      2: 'JobKilled',
      3: 'JobNonFiniteMetric',
      4: 'JobNoResult',
      5: 'JobExitNonZero',
      6: 'JobExitNonZero',
      7: 'JobExitNonZero',
      8: 'JobTimeout',
    });
    const files = await readExperimentFiles(repo, id);
    const log = (n: number) => files.get(n)!.files['log.txt'] ?? '';
    expect(log(1)).toContain('this line is not JSON and must end up in the log');
    expect(log(2)).toContain('about to be killed');
    expect(log(2)).toContain('[arlo] killed by SIGKILL');
    expect(log(3)).toContain('"val_accuracy": NaN');
    expect(log(4)).toContain('finished, but forgot to report');
    expect(log(5)).toContain('Traceback: something broke in the stand-in job');
    expect(log(8)).toContain('time limit of 2 s reached');
    for (let n = 2; n <= 8; n++) {
      const metrics = JSON.parse(files.get(n)!.files['metrics.json']!);
      expect(metrics.status).toBe('failed');
      expect(metrics.error.class).toBe(classOf[n]);
    }
  });
});
