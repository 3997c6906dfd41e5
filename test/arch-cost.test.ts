import { describe, it, expect } from 'vitest';
import {
  inferShapes,
  countParams,
  forwardMacs,
  trainingFlops,
  depth,
  weightLayerIds,
  topoOrder,
  consumers,
  SpecError,
  type Spec,
} from '../arch/index.ts';

// Expected numbers below are computed by hand in the comments.

function mlp(): Spec {
  return {
    arch: {
      nodes: [
        { id: 'x', op: 'input', shape: [4] },
        { id: 'h1', op: 'dense', inputs: ['x'], units: 8, activation: 'relu' },
        { id: 'h2', op: 'dense', inputs: ['h1'], units: 8, activation: 'relu' },
        { id: 'out', op: 'dense', inputs: ['h2'], units: 3, activation: 'linear' },
      ],
      output: 'out',
    },
    recipe: { optimizer: 'adam', learningRate: 0.001, batchSize: 32, epochs: 5 },
  };
}

function convNet(): Spec {
  return {
    arch: {
      nodes: [
        { id: 'img', op: 'input', shape: [8, 8, 1] },
        // same padding, stride 1: [8,8,4]; params 3*3*1*4+4 = 40; MACs 8*8*3*3*1*4 = 2304
        { id: 'c1', op: 'conv2d', inputs: ['img'], filters: 4, kernelSize: 3, strides: 1, padding: 'same', activation: 'relu' },
        // pool 2 stride 2 (valid): [4,4,4]
        { id: 'p1', op: 'maxPool2d', inputs: ['c1'], poolSize: 2, strides: 2 },
        // valid, k3: [2,2,8]; params 3*3*4*8+8 = 296; MACs 2*2*3*3*4*8 = 1152
        { id: 'c2', op: 'conv2d', inputs: ['p1'], filters: 8, kernelSize: 3, strides: 1, padding: 'valid', activation: 'relu' },
        { id: 'f', op: 'flatten', inputs: ['c2'] }, // [32]
        { id: 'ln', op: 'layerNorm', inputs: ['f'] }, // params 2*32 = 64
        { id: 'd', op: 'dropout', inputs: ['ln'], rate: 0.25 },
        // params 32*10+10 = 330; MACs 320
        { id: 'out', op: 'dense', inputs: ['d'], units: 10, activation: 'linear' },
      ],
      output: 'out',
    },
    recipe: { optimizer: 'sgd', learningRate: 0.01, batchSize: 64, epochs: 3 },
  };
}

describe('inferShapes', () => {
  it('gives per-sample shapes of the MLP', () => {
    expect(inferShapes(mlp().arch)).toEqual({ x: [4], h1: [8], h2: [8], out: [3] });
  });

  it('gives per-sample shapes of the conv net', () => {
    expect(inferShapes(convNet().arch)).toEqual({
      img: [8, 8, 1],
      c1: [8, 8, 4],
      p1: [4, 4, 4],
      c2: [2, 2, 8],
      f: [32],
      ln: [32],
      d: [32],
      out: [10],
    });
  });

  it('rounds up for strided same padding and down for valid', () => {
    const spec = convNet();
    spec.arch.nodes[1] = { id: 'c1', op: 'conv2d', inputs: ['img'], filters: 4, kernelSize: 3, strides: 3, padding: 'same', activation: 'relu' };
    spec.arch.nodes[3] = { id: 'c2', op: 'conv2d', inputs: ['p1'], filters: 8, kernelSize: 3, strides: 1, padding: 'same', activation: 'relu' };
    // c1: ceil(8/3) = 3 → p1: floor((3-2)/2)+1 = 1 → c2 (same): [1,1,8]
    const shapes = inferShapes(spec.arch);
    expect(shapes['c1']).toEqual([3, 3, 4]);
    expect(shapes['p1']).toEqual([1, 1, 4]);
    expect(shapes['c2']).toEqual([1, 1, 8]);
    expect(shapes['f']).toEqual([8]);
  });

  it('computes concat widths', () => {
    const spec = mlp();
    spec.arch.nodes.splice(3, 0, { id: 'cat', op: 'concat', inputs: ['h2', 'x'] });
    spec.arch.nodes[4] = { id: 'out', op: 'dense', inputs: ['cat'], units: 3, activation: 'linear' };
    expect(inferShapes(spec.arch)['cat']).toEqual([12]);
    // out: 12*3+3 = 39 instead of 27
    expect(countParams(spec.arch)).toBe(40 + 72 + 39);
  });

  it('throws a SpecError when a shape cannot be inferred', () => {
    const spec = mlp();
    spec.arch.nodes[2] = { id: 'h2', op: 'dense', inputs: ['nope'], units: 8, activation: 'relu' };
    expect(() => inferShapes(spec.arch)).toThrow(SpecError);
  });
});

describe('countParams / forwardMacs / trainingFlops', () => {
  it('MLP: 139 params, 120 MACs', () => {
    // 4*8+8 = 40, 8*8+8 = 72, 8*3+3 = 27
    expect(countParams(mlp().arch)).toBe(139);
    // 32 + 64 + 24
    expect(forwardMacs(mlp().arch)).toBe(120);
    // 6 * 120 MACs * 100 samples * 5 epochs
    expect(trainingFlops(mlp(), 100)).toBe(360_000);
  });

  it('conv net: 730 params, 3776 MACs', () => {
    expect(countParams(convNet().arch)).toBe(40 + 296 + 64 + 330);
    expect(forwardMacs(convNet().arch)).toBe(2304 + 1152 + 320);
    expect(trainingFlops(convNet(), 10)).toBe(6 * 3776 * 10 * 3);
  });
});

describe('graph helpers', () => {
  it('topoOrder puts inputs first and is deterministic', () => {
    const spec = convNet();
    const order = topoOrder(spec.arch);
    expect(order).toEqual(['img', 'c1', 'p1', 'c2', 'f', 'ln', 'd', 'out']);
    spec.arch.nodes.reverse();
    const reversed = topoOrder(spec.arch);
    for (const node of spec.arch.nodes) {
      if (node.op === 'input') continue;
      for (const input of node.inputs) expect(reversed.indexOf(input)).toBeLessThan(reversed.indexOf(node.id));
    }
    expect(topoOrder(spec.arch)).toEqual(reversed);
  });

  it('topoOrder throws on a cycle, naming it', () => {
    const spec = mlp();
    spec.arch.nodes[1] = { id: 'h1', op: 'dense', inputs: ['h2'], units: 8, activation: 'relu' };
    expect(() => topoOrder(spec.arch)).toThrow(/h1 → h2 → h1|h2 → h1 → h2/);
  });

  it('consumers lists readers once, in node order', () => {
    const spec = mlp();
    spec.arch.nodes.splice(3, 0, { id: 'cat', op: 'concat', inputs: ['h2', 'h1'] });
    spec.arch.nodes[4] = { id: 'out', op: 'dense', inputs: ['cat'], units: 3, activation: 'linear' };
    expect(consumers(spec.arch, 'h1')).toEqual(['h2', 'cat']);
    expect(consumers(spec.arch, 'out')).toEqual([]);
  });

  it('depth counts weight layers on the longest path; bypasses do not add depth', () => {
    expect(depth(mlp().arch)).toBe(3);
    expect(depth(convNet().arch)).toBe(3);
    const spec = mlp();
    // A projection on a shorter parallel path: x → proj → add(h2, proj)
    spec.arch.nodes.splice(
      3,
      0,
      { id: 'proj', op: 'dense', inputs: ['x'], units: 8, activation: 'linear' },
      { id: 'res', op: 'add', inputs: ['h2', 'proj'] },
    );
    spec.arch.nodes[5] = { id: 'out', op: 'dense', inputs: ['res'], units: 3, activation: 'linear' };
    expect(depth(spec.arch)).toBe(3);
    expect(weightLayerIds(spec.arch)).toEqual(['h1', 'h2', 'proj', 'out']);
  });
});
