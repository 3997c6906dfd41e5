import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ArchNode, Spec } from '../arch/spec.ts';
import { initBackend } from '../training/backend.ts';
import { buildModel, CompileError, topoOrder } from '../training/compile.ts';

const recipe = { optimizer: 'adam' as const, learningRate: 1e-3, batchSize: 32, epochs: 1 };

function mlp(nodes: ArchNode[], output = 'logits'): Spec {
  return { arch: { nodes, output }, recipe };
}

const residual = mlp([
  { id: 'x', op: 'input', shape: [16] },
  { id: 'h1', op: 'dense', inputs: ['x'], units: 8, activation: 'relu' },
  { id: 'h2', op: 'dense', inputs: ['h1'], units: 8, activation: 'gelu' },
  { id: 'b', op: 'add', inputs: ['h2', 'h1'] },
  { id: 'logits', op: 'dense', inputs: ['b'], units: 4, activation: 'linear' },
]);

function weightsOf(m: tf.LayersModel): Float32Array[] {
  return m.getWeights().map((w) => w.dataSync() as Float32Array);
}

describe('buildModel', () => {
  beforeAll(async () => {
    await initBackend();
  });

  it('builds in topological order regardless of node order, with deterministic seeded weights', () => {
    const shuffled: Spec = { ...residual, arch: { ...residual.arch, nodes: [...residual.arch.nodes].reverse() } };
    const a = buildModel(residual, 42);
    const b = buildModel(shuffled, 42);
    const c = buildModel(residual, 43);
    expect(a.countParams()).toBe(16 * 8 + 8 + 8 * 8 + 8 + 8 * 4 + 4);
    const wa = weightsOf(a);
    const wb = weightsOf(b);
    const wc = weightsOf(c);
    expect(wa.length).toBe(wb.length);
    // Same seed: identical weights per layer (seeds come from (seed, node id), not position).
    const byName = (m: tf.LayersModel) => new Map(m.weights.map((w, i) => [w.originalName, weightsOf(m)[i]]));
    const mb = byName(b);
    a.weights.forEach((w, i) => expect(Array.from(mb.get(w.originalName)!)).toEqual(Array.from(wa[i])));
    // Different seed: different kernels.
    expect(Array.from(wc[0])).not.toEqual(Array.from(wa[0]));
    // glorot-uniform limit sqrt(6 / (16 + 8)) and zero biases
    const limit = Math.sqrt(6 / 24);
    expect(Math.max(...Array.from(wa[0]).map(Math.abs))).toBeLessThanOrEqual(limit + 1e-6);
    expect(Array.from(wa[1]).every((v) => v === 0)).toBe(true);
    tf.dispose([]);
    a.dispose();
    b.dispose();
    c.dispose();
  });

  it('maps every activation, including gelu and swish', () => {
    for (const activation of ['linear', 'relu', 'tanh', 'sigmoid', 'elu', 'selu', 'gelu', 'swish'] as const) {
      const m = buildModel(
        mlp([
          { id: 'x', op: 'input', shape: [3] },
          { id: 'h', op: 'dense', inputs: ['x'], units: 3, activation },
          { id: 'a', op: 'activation', inputs: ['h'], activation },
          { id: 'logits', op: 'dense', inputs: ['a'], units: 2, activation: 'linear' },
        ]),
        1,
      );
      const y = tf.tidy(() => (m.predict(tf.tensor2d([[0.5, -1, 2]])) as tf.Tensor).dataSync());
      expect(Array.from(y).every(Number.isFinite)).toBe(true);
      m.dispose();
    }
  });

  it('gelu is the exact erf form and swish is x * sigmoid(x)', () => {
    const m = buildModel(
      mlp(
        [
          { id: 'x', op: 'input', shape: [3] },
          { id: 'g', op: 'activation', inputs: ['x'], activation: 'gelu' },
          { id: 's', op: 'activation', inputs: ['x'], activation: 'swish' },
          { id: 'logits', op: 'concat', inputs: ['g', 's'] },
        ],
        'logits',
      ),
      1,
    );
    const out = tf.tidy(() => (m.predict(tf.tensor2d([[-1, 0.5, 2]])) as tf.Tensor).dataSync());
    const erf = (x: number): number => {
      // Abramowitz-Stegun 7.1.26 (|error| < 1.5e-7)
      const t = 1 / (1 + 0.3275911 * Math.abs(x));
      const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
      return x >= 0 ? y : -y;
    };
    [-1, 0.5, 2].forEach((x, i) => {
      expect(out[i]).toBeCloseTo(0.5 * x * (1 + erf(x / Math.SQRT2)), 5);
      expect(out[3 + i]).toBeCloseTo(x / (1 + Math.exp(-x)), 5);
    });
    m.dispose();
  });

  it('dropout is active only in training mode, with a fresh seeded mask per call', () => {
    const m = buildModel(
      mlp([
        { id: 'x', op: 'input', shape: [64] },
        { id: 'logits', op: 'dropout', inputs: ['x'], rate: 0.5 },
      ]),
      1,
    );
    const run = (training: boolean): number[] =>
      tf.tidy(() => Array.from((m.apply(tf.ones([1, 64]), { training }) as tf.Tensor).dataSync()));
    expect(run(false)).toEqual(new Array(64).fill(1));
    const a = run(true);
    const b = run(true);
    expect(a.every((v) => v === 0 || v === 2)).toBe(true);
    expect(a.filter((v) => v === 0).length).toBeGreaterThan(10);
    expect(b).not.toEqual(a);
    // the same seed gives the same mask sequence
    const m2 = buildModel(
      mlp([
        { id: 'x', op: 'input', shape: [64] },
        { id: 'logits', op: 'dropout', inputs: ['x'], rate: 0.5 },
      ]),
      1,
    );
    expect(tf.tidy(() => Array.from((m2.apply(tf.ones([1, 64]), { training: true }) as tf.Tensor).dataSync()))).toEqual(a);
    m.dispose();
    m2.dispose();
  });

  it('does not build (or leak) layers the output does not depend on', () => {
    const before = tf.memory().numTensors;
    const m = buildModel(
      mlp([
        ...residual.arch.nodes,
        { id: 'dangling', op: 'dense', inputs: ['h1'], units: 100, activation: 'relu' },
      ]),
      1,
    );
    expect(m.layers.map((l) => l.name)).not.toContain('dangling');
    m.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects broken graphs with messages naming the node', () => {
    const bad = (nodes: ArchNode[], output = 'logits') => () => buildModel(mlp(nodes, output), 1);
    expect(
      bad([
        { id: 'x', op: 'input', shape: [4] },
        { id: 'a', op: 'dense', inputs: ['b'], units: 4, activation: 'relu' },
        { id: 'b', op: 'dense', inputs: ['a'], units: 4, activation: 'relu' },
        { id: 'logits', op: 'add', inputs: ['a', 'x'] },
      ]),
    ).toThrow(/cycle: .*a -> b -> a|cycle: .*b -> a -> b/);
    expect(
      bad([
        { id: 'x', op: 'input', shape: [4] },
        { id: 'logits', op: 'dense', inputs: ['nope'], units: 2, activation: 'linear' },
      ]),
    ).toThrow(/node logits: input nope does not exist/);
    expect(bad([{ id: 'x', op: 'input', shape: [4] }], 'missing')).toThrow(/output node missing does not exist/);
    expect(
      bad([
        { id: 'x', op: 'input', shape: [4] },
        { id: 'x', op: 'dense', inputs: ['x'], units: 2, activation: 'linear' },
      ]),
    ).toThrow(/duplicate node id x/);
    // Shape errors from TF.js are re-thrown naming the node and its input shapes.
    expect(
      bad([
        { id: 'x', op: 'input', shape: [4] },
        { id: 'h', op: 'dense', inputs: ['x'], units: 3, activation: 'relu' },
        { id: 'logits', op: 'add', inputs: ['h', 'x'] },
      ]),
    ).toThrow(/node logits \(add\) on input shape \[batch, 3\], \[batch, 4\]/);
    expect(
      bad([
        { id: 'x', op: 'input', shape: [4, 4, 1] },
        { id: 'logits', op: 'conv2d', inputs: ['x'], filters: 2, kernelSize: 3, strides: 1, padding: 'same', activation: 'linear' },
      ]),
    ).toThrow(/must give one vector of logits per sample.*flatten first/);
    expect(() => buildModel(residual, 1, { numClasses: 10 })).toThrow(/has 4 units but the task has 10 classes/);
  });

  it('accepts ids that are not valid TF.js layer names', () => {
    const m = buildModel(
      mlp([
        { id: 'in put', op: 'input', shape: [4] },
        { id: '#1', op: 'dense', inputs: ['in put'], units: 4, activation: 'relu' },
        { id: 'logits', op: 'dense', inputs: ['#1'], units: 2, activation: 'linear' },
      ]),
      1,
    );
    expect(m.countParams()).toBe(4 * 4 + 4 + 4 * 2 + 2);
    m.dispose();
  });

  it('topoOrder lists inputs before their consumers', () => {
    const order = topoOrder({ ...residual, arch: { ...residual.arch, nodes: [...residual.arch.nodes].reverse() } }).map((n) => n.id);
    expect(order.indexOf('x')).toBe(0);
    expect(order.indexOf('h1')).toBeLessThan(order.indexOf('h2'));
    expect(order.indexOf('b')).toBeLessThan(order.indexOf('logits'));
    expect(() => topoOrder(mlp([{ id: 'x', op: 'dense', inputs: ['x'], units: 1, activation: 'relu' }], 'x'))).toThrow(
      CompileError,
    );
  });
});
