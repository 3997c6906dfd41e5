import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Spec } from '../arch/spec.ts';
import { makeDeepMlpTemplate } from '../experiments/deep-mlp.ts';
import { getTemplate } from '../experiments/index.ts';
import { initBackend } from '../training/backend.ts';
import { loadDataset, makeTeacherDataset, type Dataset } from '../training/datasets.ts';
import { DIVERGED_LOSS, trainSpec, TrainingCancelled, type EpochReport } from '../training/train.ts';

const DATA_DIR = process.env.ARLO_DATA_DIR ?? '/work/shared/data';

const smallDeep = makeDeepMlpTemplate({
  depth: 4,
  width: 32,
  trainSamples: 2048,
  validationSamples: 512,
  epochs: 3,
  batchSize: 64,
  learningRate: 1e-3,
  dataSeed: 7,
});

function backendDataIds(): number {
  return (tf.engine().backend as unknown as { numDataIds(): number }).numDataIds();
}

describe('trainSpec', () => {
  beforeAll(async () => {
    expect(await initBackend()).toBe('wasm');
  });

  it('loss falls on a shrunk deep-mlp and reports every epoch', async () => {
    const data = loadDataset(smallDeep, DATA_DIR);
    const reports: EpochReport[] = [];
    const r = await trainSpec({ spec: smallDeep.baseline, data, seed: 1, onEpoch: (e) => reports.push(e) });
    expect(r.backend).toBe('wasm');
    expect(r.diverged).toBe(false);
    expect(r.stoppedEarly).toBe(false);
    expect(reports).toEqual(r.curve);
    expect(r.curve.map((e) => e.epoch)).toEqual([1, 2, 3]);
    expect(r.curve.every((e) => e.epochs === 3 && e.seconds > 0)).toBe(true);
    expect(r.curve[2].loss).toBeLessThan(r.curve[0].loss);
    expect(r.curve[2].loss).toBeLessThan(Math.log(10));
    // clearly better than always answering the most frequent class
    const counts = new Array(10).fill(0);
    for (const y of data.yVal) counts[y]++;
    expect(r.metrics.val_accuracy).toBeGreaterThan(Math.max(...counts) / data.yVal.length + 0.05);
    expect(r.metrics.train_loss).toBe(r.curve[2].loss);
    expect(r.metrics.val_loss).toBe(r.curve[2].val_loss);
    expect(r.params).toBe(64 * 32 + 32 + 3 * (32 * 32 + 32) + 32 * 10 + 10);
  });

  it('digits baseline learns (loss falls, accuracy well above chance)', async () => {
    const t = getTemplate('digits');
    const data = loadDataset(t, DATA_DIR);
    const spec: Spec = { ...t.baseline, recipe: { ...t.baseline.recipe, epochs: 5 } };
    const r = await trainSpec({ spec, data, seed: 2 });
    expect(r.curve[4].loss).toBeLessThan(r.curve[0].loss);
    expect(r.metrics.val_accuracy).toBeGreaterThan(0.8);
  });

  it('is deterministic: same seed gives the same metrics, another seed differs', async () => {
    const data = loadDataset(smallDeep, DATA_DIR);
    const spec: Spec = {
      arch: {
        nodes: [
          ...smallDeep.baseline.arch.nodes.filter((n) => n.id !== 'logits'),
          { id: 'drop', op: 'dropout', inputs: ['h4'], rate: 0.2 },
          { id: 'logits', op: 'dense', inputs: ['drop'], units: 10, activation: 'linear' },
        ],
        output: 'logits',
      },
      recipe: { ...smallDeep.baseline.recipe, epochs: 2 },
    };
    const a = await trainSpec({ spec, data, seed: 5 });
    const b = await trainSpec({ spec, data, seed: 5 });
    const c = await trainSpec({ spec, data, seed: 6 });
    for (const k of ['val_accuracy', 'val_loss', 'train_loss'] as const) {
      expect(Math.abs(a.metrics[k] - b.metrics[k])).toBeLessThan(1e-6);
    }
    expect(a.curve.map((e) => e.loss)).toEqual(b.curve.map((e) => e.loss));
    expect(c.metrics.train_loss).not.toBe(a.metrics.train_loss);
  });

  it('reports divergence (NaN/inf loss) as diverged, not as an error', async () => {
    const t = getTemplate('digits');
    const data = loadDataset(t, DATA_DIR);
    const before = tf.memory().numTensors;
    const spec: Spec = { ...t.baseline, recipe: { optimizer: 'sgd', learningRate: 1e12, batchSize: 32, epochs: 3 } };
    const r = await trainSpec({ spec, data, seed: 1 });
    expect(r.diverged).toBe(true);
    expect(r.stoppedEarly).toBe(true);
    expect(r.curve.length).toBeLessThanOrEqual(3);
    expect(r.metrics.train_loss).toBe(DIVERGED_LOSS);
    expect(Number.isFinite(r.metrics.val_loss)).toBe(true);
    expect(JSON.parse(JSON.stringify(r.metrics))).toEqual(r.metrics);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('stops between batches with TrainingCancelled when shouldStop() turns true', async () => {
    const data = loadDataset(smallDeep, DATA_DIR);
    const before = tf.memory().numTensors;
    let polls = 0;
    const p = trainSpec({ spec: smallDeep.baseline, data, seed: 1, shouldStop: () => ++polls > 5 });
    await expect(p).rejects.toBeInstanceOf(TrainingCancelled);
    await expect(p).rejects.toMatchObject({ name: 'TrainingCancelled' });
    expect(polls).toBe(6); // stopped inside the first epoch (32 batches)
    expect(tf.memory().numTensors).toBe(before);
  });

  it('stops at the time budget with stoppedEarly and real metrics', async () => {
    const data = loadDataset(smallDeep, DATA_DIR);
    const r = await trainSpec({ spec: { ...smallDeep.baseline, recipe: { ...smallDeep.baseline.recipe, epochs: 50 } }, data, seed: 1, maxSeconds: 0.3 });
    expect(r.stoppedEarly).toBe(true);
    expect(r.diverged).toBe(false);
    expect(r.curve.length).toBeLessThan(50);
    expect(r.metrics.val_accuracy).toBeGreaterThan(0);
  });

  it('rejects data whose sample shape does not match the input node', async () => {
    const t = getTemplate('digits-conv');
    const data = loadDataset(t, DATA_DIR);
    await expect(trainSpec({ spec: getTemplate('digits').baseline, data, seed: 1 })).rejects.toThrow(
      /input node x has shape \[64\] but the data samples have shape \[8, 8, 1\]/,
    );
  });

  it('leaks no tensors across 20 trainings (model and Adam state disposed)', async () => {
    const data: Dataset = makeTeacherDataset({
      kind: 'teacher',
      features: 8,
      classes: 3,
      hidden: 8,
      inputScale: 3,
      trainSamples: 64,
      validationSamples: 32,
      seed: 1,
    });
    const spec = (i: number): Spec => ({
      arch: {
        nodes: [
          { id: 'x', op: 'input', shape: [8] },
          { id: 'h1', op: 'dense', inputs: ['x'], units: 8, activation: 'relu' },
          { id: 'n1', op: 'layerNorm', inputs: ['h1'] },
          { id: 'h2', op: 'dense', inputs: ['n1'], units: 8, activation: 'gelu' },
          { id: 'b', op: 'add', inputs: ['h2', 'h1'] },
          { id: 'c', op: 'concat', inputs: ['b', 'x'] },
          { id: 'd', op: 'dropout', inputs: ['c'], rate: 0.1 },
          { id: 'logits', op: 'dense', inputs: ['d'], units: 3, activation: 'linear' },
        ],
        output: 'logits',
      },
      recipe: { optimizer: i % 2 ? 'sgd' : 'adam', learningRate: 1e-2, batchSize: 16, epochs: 2 },
    });
    // warm up (lazily created constants, kernels' first use)
    await trainSpec({ spec: spec(0), data, seed: 0 });
    const tensors = tf.memory().numTensors;
    const ids = backendDataIds();
    for (let i = 0; i < 20; i++) await trainSpec({ spec: spec(i), data, seed: i });
    expect(tf.memory().numTensors).toBe(tensors);
    expect(backendDataIds()).toBe(ids);
  });

  it('trains a conv net on wasm (Conv2DBackpropFilter registered) without leaking', async () => {
    const t = getTemplate('digits-conv');
    const data = loadDataset(t, DATA_DIR);
    const spec: Spec = { ...t.baseline, recipe: { ...t.baseline.recipe, epochs: 3 } };
    const tensors = tf.memory().numTensors;
    const ids = backendDataIds();
    const r = await trainSpec({ spec, data, seed: 1 });
    expect(r.backend).toBe('wasm');
    expect(r.curve[2].loss).toBeLessThan(r.curve[0].loss);
    expect(r.metrics.val_accuracy).toBeGreaterThan(0.6);
    expect(tf.memory().numTensors).toBe(tensors);
    expect(backendDataIds()).toBe(ids);
  });
});
