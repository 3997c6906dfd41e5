import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRng } from '../agents/rng.ts';
import { getTemplate } from '../experiments/index.ts';
import { openHistory, readResults } from '../history/index.ts';
import { initBackend } from '../training/backend.ts';
import { loadDataset } from '../training/datasets.ts';
import { trainSpec } from '../training/train.ts';
import { createArloWorker, workflowBundle } from '../worker.ts';
import type { CampaignInput, CampaignResult } from '../workflows/types.ts';
import { startTestServer, tempHome } from './helpers/temporal-env.ts';

// The `csv:<file>` template on files of our own making: three Gaussian clusters, a header row,
// and a catalogue of broken files.

const dir = mkdtempSync(join(tmpdir(), 'arlo-csv-'));

function clusters(rows: number, seed: number): string {
  const rng = createRng(seed);
  const centres = [
    [0, 0, 0, 0],
    [3, 3, 0, 1],
    [0, 3, 3, -2],
  ];
  const lines = ['f1,f2,f3,f4,species'];
  for (let i = 0; i < rows; i++) {
    const label = i % 3;
    const x = centres[label]!.map((c) => (c + (rng.next() - 0.5) * 2).toFixed(3));
    lines.push([...x, String(label)].join(','));
  }
  return `${lines.join('\n')}\n`;
}

function write(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('csv:<file> templates', () => {
  it('detects the header, classes and features, and splits train / validation / holdout by seed', () => {
    const file = write('clusters.csv', clusters(300, 1));
    const t = getTemplate(`csv:${file}`);
    expect(t.name).toBe(`csv:${file}`);
    expect(t.numClasses).toBe(3);
    expect(t.baseline.arch.nodes[0]).toMatchObject({ op: 'input', shape: [4] });
    const ds = loadDataset(t, '/nonexistent-data-dir');
    expect(ds.yVal.length).toBe(60);
    expect(ds.yHoldout.length).toBe(30);
    expect(ds.yTrain.length).toBe(210);
    // features scaled into [-1, 1]
    expect(Math.max(...ds.xTrain.map(Math.abs))).toBeLessThanOrEqual(1);
    // the same seed gives the same split
    const again = loadDataset(getTemplate(`csv:${file}`), '/elsewhere');
    expect(Array.from(again.yHoldout)).toEqual(Array.from(ds.yHoldout));
  });

  it('trains on it, and evaluates the hidden holdout only when asked', async () => {
    const file = write('clusters-train.csv', clusters(300, 2));
    const t = getTemplate(`csv:${file}`);
    await initBackend();
    const data = loadDataset(t, dir);
    const spec = { ...t.baseline, recipe: { ...t.baseline.recipe, epochs: 15 } };
    const plain = await trainSpec({ spec, data, seed: 1 });
    expect(plain.metrics.val_accuracy).toBeGreaterThan(0.8);
    expect(plain.metrics.holdout_accuracy).toBeUndefined();
    const withHoldout = await trainSpec({ spec, data, seed: 1, evaluateHoldout: true });
    expect(withHoldout.metrics.val_accuracy).toBe(plain.metrics.val_accuracy);
    expect(withHoldout.metrics.holdout_accuracy).toBeGreaterThan(0.8);
  });

  it.each([
    ['empty.csv', '', /empty/],
    ['header-only.csv', 'a,b,label\n', /empty/],
    ['ragged.csv', '1,2,0\n3,4,1\n5,1\n', /row 3 has 2 columns, expected 3/],
    ['text.csv', '1,2,0\n3,x,1\n', /row 2, column 2: not a number: "x"/],
    ['one-class.csv', '1,2,0\n3,4,0\n5,6,0\n', /need.* at least 2 classes|at least 2 classes/],
    ['bad-label.csv', '1,2,0\n3,4,1.5\n', /row 2, column 3: label 1.5/],
  ])('rejects %s with the row and column named', (name, text, message) => {
    const file = write(name, text);
    expect(() => getTemplate(`csv:${file}`)).toThrow(message);
  });

  it('says which file it could not read', () => {
    expect(() => getTemplate(`csv:${join(dir, 'missing.csv')}`)).toThrow(/cannot read CSV file .*missing\.csv: ENOENT/);
  });
});

describe('a campaign on a CSV file of our own making', () => {
  let env: TestWorkflowEnvironment;
  beforeAll(async () => {
    env = await startTestServer();
  });
  afterAll(async () => {
    await env?.teardown();
  });

  it('runs 3 experiments and records them', async () => {
    const file = write('campaign.csv', clusters(240, 3));
    const home = tempHome();
    const queues = { main: 'csv-main', training: 'csv-train' };
    const template = getTemplate(`csv:${file}`);
    const worker = await createArloWorker({
      address: env.address,
      namespace: 'default',
      slots: 1,
      taskQueues: queues,
      workflowBundle: await workflowBundle(),
      context: { home, dataDir: dir },
    });
    const running = worker.run();
    try {
      const input: CampaignInput = {
        config: {
          id: 'csv-campaign',
          experiment: template.name,
          agent: 'random',
          seed: 4,
          budget: { experiments: 3, minutes: null },
          concurrency: 1,
          agentOptions: {},
        },
        metric: template.metric,
        taskQueues: queues,
      };
      const result = (await env.client.workflow.execute('campaignWorkflow', {
        workflowId: 'campaign-csv-campaign',
        taskQueue: queues.main,
        args: [input],
      })) as CampaignResult;
      expect(result.done).toBe(3);
      expect(result.failed).toBe(0);
      const lines = await readResults(await openHistory(home), 'csv-campaign');
      expect(lines.map((l) => l.n)).toEqual([1, 2, 3]);
      expect(lines[0]!.metric).toBeGreaterThan(0.5);
    } finally {
      worker.shutdown();
      await running;
    }
  });
});
