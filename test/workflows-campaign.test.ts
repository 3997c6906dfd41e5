import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { join } from 'node:path';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CampaignConfig } from '../config/campaign-config.ts';
import { getTemplate } from '../experiments/index.ts';
import { openHistory, readResults } from '../history/index.ts';
import { workflowBundle } from '../worker.ts';
import { pauseSignal, statusQuery, stopSignal, unpauseSignal } from '../workflows/messages.ts';
import type { CampaignInput, CampaignResult } from '../workflows/types.ts';
import { startTestServer, tempHome, waitFor, withWorker as withTestWorker } from './helpers/temporal-env.ts';

// A real campaign through the real Temporal dev server, with real TF.js training on the small
// `smoke` template and real git recording.

const DATA_DIR = process.env.ARLO_DATA_DIR ?? join(import.meta.dirname, '..', '..', 'shared', 'data');

const FIXTURES = join(import.meta.dirname, 'fixtures', 'histories');

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
  return { main: `test-main-${queueCounter}`, training: `test-train-${queueCounter}` };
}

function config(id: string, overrides: Partial<CampaignConfig> = {}): CampaignConfig {
  return {
    id,
    experiment: 'smoke',
    agent: 'evolution',
    seed: 7,
    budget: { experiments: 3, minutes: null },
    concurrency: 1,
    agentOptions: {},
    ...overrides,
  };
}

function withWorker<T>(home: string, queues: ReturnType<typeof taskQueues>, fn: () => Promise<T>): Promise<T> {
  return withTestWorker({ env, bundle, home, dataDir: DATA_DIR, queues }, fn);
}

function gitCount(home: string, id: string): number {
  const out = execFileSync('git', ['-C', join(home, 'history'), 'rev-list', '--count', `campaign/${id}`], {
    encoding: 'utf8',
  });
  return Number(out.trim());
}

describe('campaign workflow on the real dev server', () => {
  it('runs 3 experiments, records each exactly once, and replays deterministically', async () => {
    const home = tempHome();
    const queues = taskQueues();
    const id = 'three-fast';
    const input: CampaignInput = { config: config(id), metric: getTemplate('smoke').metric, taskQueues: queues };

    const result = await withWorker(home, queues, () =>
      env.client.workflow.execute('campaignWorkflow', {
        workflowId: `campaign-${id}`,
        taskQueue: queues.main,
        args: [input],
      }) as Promise<CampaignResult>,
    );

    expect(result.done).toBe(3);
    expect(result.baseline?.n).toBe(1);
    expect(result.champion).not.toBeNull();
    expect(result.champion!.metric).toBeGreaterThanOrEqual(result.baseline!.metric);

    const repo = await openHistory(home);
    const lines = await readResults(repo, id);
    expect(lines.map((l) => l.n).sort()).toEqual([1, 2, 3]);
    expect(lines[0]!.status).toBe('kept');
    for (const line of lines) expect(['kept', 'discarded', 'failed']).toContain(line.status);
    // one commit per experiment, plus the commit that opened the campaign branch
    expect(gitCount(home, id)).toBe(4);

    // the experiment child workflows exist under their documented ids
    for (const n of [1, 2, 3]) {
      const d = await env.client.workflow.getHandle(`${id}-exp-${n}`).describe();
      expect(d.status.name).toBe('COMPLETED');
    }

    // the recorded history replays against the current workflow code
    const history = await env.client.workflow.getHandle(`campaign-${id}`).fetchHistory();
    await Worker.runReplayHistory({ workflowBundle: bundle }, history, `campaign-${id}`);
    if (process.env.ARLO_REFRESH_REPLAY_FIXTURES === '1') {
      // `ARLO_REFRESH_REPLAY_FIXTURES=1 npx vitest run test/workflows-campaign` re-records the fixtures
      // that test/workflows-replay.test.ts replays (see README, "Replay fixtures").
      writeFileSync(join(FIXTURES, 'campaign-3-smoke.json'), historyToJSON(history));
      const child = await env.client.workflow.getHandle(`${id}-exp-2`).fetchHistory();
      writeFileSync(join(FIXTURES, 'experiment-smoke.json'), historyToJSON(child));
    }
  });

  it('continues as new every few experiments, carrying its state', async () => {
    const home = tempHome();
    const queues = taskQueues();
    const id = 'carried';
    const input: CampaignInput = {
      config: config(id, { budget: { experiments: 5, minutes: null }, agent: 'random' }),
      metric: getTemplate('smoke').metric,
      taskQueues: queues,
      experimentsPerRun: 2,
    };
    const result = await withWorker(home, queues, () =>
      env.client.workflow.execute('campaignWorkflow', {
        workflowId: `campaign-${id}`,
        taskQueue: queues.main,
        args: [input],
      }) as Promise<CampaignResult>,
    );
    expect(result.done).toBe(5);
    const lines = await readResults(await openHistory(home), id);
    expect(lines.map((l) => l.n)).toEqual([1, 2, 3, 4, 5]);
    expect(result.champion?.metric).toBe(Math.max(...lines.map((l) => l.metric ?? -1)));
    // 5 experiments at 2 per run: three runs, the first two ended by continue-as-new
    const runs = [];
    for await (const wf of env.client.workflow.list({ query: `WorkflowId = 'campaign-${id}'` })) runs.push(wf.status.name);
    expect(runs.sort()).toEqual(['COMPLETED', 'CONTINUED_AS_NEW', 'CONTINUED_AS_NEW']);
  });

  it('answers status and obeys pause, unpause and stop', async () => {
    const home = tempHome();
    const queues = taskQueues();
    const id = 'steered';
    const input: CampaignInput = {
      config: config(id, { budget: { experiments: 40, minutes: null } }),
      metric: getTemplate('smoke').metric,
      taskQueues: queues,
    };

    await withWorker(home, queues, async () => {
      const handle = await env.client.workflow.start('campaignWorkflow', {
        workflowId: `campaign-${id}`,
        taskQueue: queues.main,
        args: [input],
      });
      const first = await waitFor(async () => {
        const s = await handle.query(statusQuery);
        return s.done >= 1 ? s : undefined;
      }, 'the first experiment');
      expect(first.phase).toBe('running');
      expect(first.budget.experiments).toBe(40);
      expect(first.baseline?.n).toBe(1);

      await handle.signal(pauseSignal, 'test pause');
      const paused = await waitFor(async () => {
        const s = await handle.query(statusQuery);
        return s.phase === 'paused' && s.running.length === 0 ? s : undefined;
      }, 'the pause to settle');
      expect(paused.message).toBe('test pause');
      await new Promise((r) => setTimeout(r, 2500));
      const stillPaused = await handle.query(statusQuery);
      expect(stillPaused.done).toBe(paused.done);
      expect(stillPaused.running).toHaveLength(0);

      await handle.signal(unpauseSignal);
      await waitFor(async () => {
        const s = await handle.query(statusQuery);
        return s.done > paused.done ? s : undefined;
      }, 'progress after unpause');

      await handle.signal(stopSignal);
      const result = (await handle.result()) as CampaignResult;
      expect(result.stopped).toBe(true);
      expect(result.done).toBeLessThan(40);

      const lines = await readResults(await openHistory(home), id);
      expect(lines).toHaveLength(result.done);
      expect(new Set(lines.map((l) => l.n)).size).toBe(result.done);
      const final = await handle.query(statusQuery);
      expect(final.phase).toBe('finished');
    });
  });

  it('resumes a terminated campaign without re-running recorded experiments', async () => {
    const home = tempHome();
    const queues = taskQueues();
    const id = 'resumed';
    const input: CampaignInput = {
      config: config(id, { budget: { experiments: 5, minutes: null } }),
      metric: getTemplate('smoke').metric,
      taskQueues: queues,
    };
    await withWorker(home, queues, async () => {
      const handle = await env.client.workflow.start('campaignWorkflow', {
        workflowId: `campaign-${id}`,
        taskQueue: queues.main,
        args: [input],
      });
      await waitFor(async () => ((await readResults(await openHistory(home), id)).length >= 2 ? true : undefined), 'two records');
      await handle.terminate('test: simulate a campaign that died');

      const again = await env.client.workflow.start('campaignWorkflow', {
        workflowId: `campaign-${id}`,
        taskQueue: queues.main,
        args: [input],
      });
      const result = (await again.result()) as CampaignResult;
      expect(result.done).toBe(5);
    });
    const lines = await readResults(await openHistory(home), id);
    expect(lines.map((l) => l.n).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5]);
    expect(gitCount(home, id)).toBe(6);
    // experiment 1 was recorded before the termination: its child workflow ran exactly once
    const runs = [];
    for await (const wf of env.client.workflow.list({ query: `WorkflowId = '${id}-exp-1'` })) runs.push(wf);
    expect(runs).toHaveLength(1);
  });
});
