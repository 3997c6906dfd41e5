import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Spec } from '../arch/spec.ts';
import { copySlice, initBackend } from '../training/backend.ts';
import { buildModel } from '../training/compile.ts';

// Numerical checks of the wasm kernel fixes against the pure-JS cpu backend, and a check that
// every gradient our node ops need exists on wasm.

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/** Runs fn on the cpu backend, then on wasm, with the same inputs; returns both outputs. */
async function onBoth(fn: () => tf.Tensor | tf.Tensor[]): Promise<{ cpu: Float32Array[]; wasm: Float32Array[] }> {
  const run = (): Float32Array[] =>
    tf.tidy(() => {
      const out = fn();
      return (Array.isArray(out) ? out : [out]).map((t) => t.dataSync() as Float32Array);
    });
  await initBackend('cpu');
  const cpu = run();
  await initBackend('wasm');
  const wasm = run();
  return { cpu, wasm };
}

describe('initBackend', () => {
  it('picks wasm here (no tfjs-node) and is idempotent', async () => {
    const a = await initBackend();
    const b = await initBackend();
    expect(a).toBe('wasm');
    expect(b).toBe('wasm');
    expect(await Promise.all([initBackend(), initBackend('wasm')])).toEqual(['wasm', 'wasm']);
    const k = tf.getKernel('BatchMatMul', 'wasm') as unknown as Record<string, unknown>;
    expect(k.__arloFixed).toBe(true);
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeDefined();
  });
});

describe('wasm kernel fixes match the cpu backend', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  const convCases: Array<{ x: number[]; f: number[]; s: number | [number, number]; pad: 'same' | 'valid' }> = [
    { x: [2, 8, 8, 3], f: [3, 3, 3, 4], s: 1, pad: 'same' },
    { x: [2, 8, 8, 3], f: [3, 3, 3, 4], s: 1, pad: 'valid' },
    { x: [2, 8, 8, 3], f: [3, 3, 3, 4], s: 2, pad: 'same' },
    { x: [2, 9, 7, 3], f: [3, 2, 3, 5], s: 2, pad: 'valid' },
    { x: [3, 10, 10, 2], f: [5, 5, 2, 3], s: [2, 3], pad: 'same' },
    { x: [1, 6, 6, 1], f: [1, 1, 1, 2], s: 1, pad: 'valid' },
    { x: [4, 7, 7, 16], f: [3, 3, 16, 8], s: 1, pad: 'same' },
  ];
  for (const c of convCases) {
    it(`Conv2DBackpropFilter x=${c.x} f=${c.f} strides=${c.s} ${c.pad}`, async () => {
      const x = tf.randomNormal(c.x, 0, 1, 'float32', 11);
      const w = tf.randomNormal(c.f, 0, 1, 'float32', 12);
      const outShape = tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.s, c.pad).shape;
      const dy = tf.randomNormal(outShape, 0, 1, 'float32', 13);
      // d/dw sum(conv2d(x, w) * dy) is exactly Conv2DBackpropFilter(x, dy).
      const { cpu, wasm } = await onBoth(() =>
        tf.grad((ww: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(x as tf.Tensor4D, ww as tf.Tensor4D, c.s, c.pad), dy)))(w),
      );
      const scale = Math.max(1, maxAbs(cpu[0]));
      expect(maxAbsDiff(cpu[0], wasm[0]) / scale).toBeLessThan(1e-4);
      tf.dispose([x, w, dy]);
    });
  }

  it('BatchMatMul with transposed operands (rank 2 and batched/broadcast rank 3)', async () => {
    const a = tf.randomNormal([37, 29], 0, 1, 'float32', 1);
    const b = tf.randomNormal([37, 29], 0, 1, 'float32', 2);
    const a3 = tf.randomNormal([3, 5, 7], 0, 1, 'float32', 3);
    const b3 = tf.randomNormal([1, 6, 7], 0, 1, 'float32', 4);
    const c3 = tf.randomNormal([3, 6, 5], 0, 1, 'float32', 6);
    const { cpu, wasm } = await onBoth(() => [
      tf.matMul(a, b, true, false),
      tf.matMul(a, b, false, true),
      tf.matMul(a, tf.transpose(b), true, true),
      tf.matMul(a3, b3, false, true),
      tf.matMul(b3, c3, true, false),
    ]);
    for (let i = 0; i < cpu.length; i++) expect(maxAbsDiff(cpu[i], wasm[i])).toBeLessThan(1e-4);
    tf.dispose([a, b, a3, b3, c3]);
  });

  it('Slice copies only the slice and matches cpu for ranks 1-5', async () => {
    const cases: Array<[number[], number[], number[]]> = [
      [[100], [13], [40]],
      [[6, 7], [2, 0], [3, 7]],
      [[6, 7], [1, 2], [4, 3]],
      [[4, 5, 6], [1, 2, 0], [2, 3, 6]],
      [[3, 4, 5, 6], [1, 0, 2, 1], [2, 4, 2, 4]],
      [[2, 3, 4, 5, 6], [1, 1, 0, 2, 3], [1, 2, 4, 3, 2]],
    ];
    const xs = cases.map(([shape]) => tf.range(0, shape.reduce((p, q) => p * q, 1)).reshape(shape));
    const { cpu, wasm } = await onBoth(() => cases.map(([, begin, size], i) => tf.slice(xs[i], begin, size)));
    for (let i = 0; i < cases.length; i++) expect(Array.from(wasm[i])).toEqual(Array.from(cpu[i]));
    // split (SplitV) goes through Slice too
    const v = tf.range(0, 100);
    const parts = tf.split(v, [10, 30, 60]);
    expect(Array.from(parts[1].dataSync())).toEqual(Array.from({ length: 30 }, (_, i) => i + 10));
    // Unpack (unstack) too
    const m = tf.range(0, 12).reshape([3, 4]);
    const cols = tf.unstack(m, 1);
    expect(cols.map((c) => Array.from(c.dataSync()))).toEqual([
      [0, 4, 8],
      [1, 5, 9],
      [2, 6, 10],
      [3, 7, 11],
    ]);
    expect(cols[0].shape).toEqual([3]);
    tf.dispose([...xs, v, ...parts, m, ...cols]);
    // the helper on plain arrays
    const out = new Float32Array(4);
    copySlice(new Float32Array([0, 1, 2, 3, 4, 5, 6, 7, 8]), [3, 3], out, [1, 1], [2, 2]);
    expect(Array.from(out)).toEqual([4, 5, 7, 8]);
  });

  it('every node op has working gradients on wasm, equal to cpu', async () => {
    // One graph that uses every op and activation: dense, add, concat, layerNorm, dropout,
    // activation, conv2d, maxPool2d, flatten; relu tanh sigmoid elu selu gelu swish linear.
    const spec: Spec = {
      arch: {
        nodes: [
          { id: 'x', op: 'input', shape: [6, 6, 2] },
          { id: 'c1', op: 'conv2d', inputs: ['x'], filters: 4, kernelSize: 3, strides: 1, padding: 'same', activation: 'relu' },
          { id: 'p1', op: 'maxPool2d', inputs: ['c1'], poolSize: 2, strides: 2 },
          { id: 'c2', op: 'conv2d', inputs: ['p1'], filters: 4, kernelSize: 2, strides: 1, padding: 'valid', activation: 'elu' },
          { id: 'f', op: 'flatten', inputs: ['c2'] },
          { id: 'd1', op: 'dense', inputs: ['f'], units: 12, activation: 'tanh' },
          { id: 'd2', op: 'dense', inputs: ['d1'], units: 12, activation: 'gelu' },
          { id: 'd3', op: 'dense', inputs: ['d1'], units: 12, activation: 'swish' },
          { id: 'a', op: 'add', inputs: ['d2', 'd3'] },
          { id: 'n', op: 'layerNorm', inputs: ['a'] },
          { id: 'd4', op: 'dense', inputs: ['n'], units: 8, activation: 'selu' },
          { id: 'd5', op: 'dense', inputs: ['n'], units: 8, activation: 'sigmoid' },
          { id: 'cat', op: 'concat', inputs: ['d4', 'd5'] },
          { id: 'drop', op: 'dropout', inputs: ['cat'], rate: 0.25 },
          { id: 'act', op: 'activation', inputs: ['drop'], activation: 'relu' },
          { id: 'logits', op: 'dense', inputs: ['act'], units: 3, activation: 'linear' },
        ],
        output: 'logits',
      },
      recipe: { optimizer: 'adam', learningRate: 1e-3, batchSize: 8, epochs: 1 },
    };
    const xData = tf.randomNormal([8, 6, 6, 2], 0, 1, 'float32', 5).dataSync();
    const labels = tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2, 0, 1], 'int32'), 3).dataSync();
    const grads = async (backend: 'cpu' | 'wasm'): Promise<Float32Array[]> => {
      await initBackend(backend);
      const model = buildModel(spec, 3, { numClasses: 3 });
      const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
      const out = tf.tidy(() => {
        const x = tf.tensor(xData, [8, 6, 6, 2]);
        const y = tf.tensor(labels, [8, 3]);
        const { grads: g } = tf.variableGrads(
          () => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar,
          vars,
        );
        return vars.map((v) => g[v.name].dataSync() as Float32Array);
      });
      model.dispose();
      return out;
    };
    const cpu = await grads('cpu');
    const wasm = await grads('wasm');
    expect(wasm.length).toBe(cpu.length);
    for (let i = 0; i < cpu.length; i++) {
      expect(wasm[i].every(Number.isFinite)).toBe(true);
      const scale = Math.max(1e-3, maxAbs(cpu[i]));
      expect(maxAbsDiff(cpu[i], wasm[i]) / scale).toBeLessThan(1e-3);
    }
    // Gradients actually flow to every layer.
    expect(cpu.every((g) => maxAbs(g) > 0)).toBe(true);
  });
});
