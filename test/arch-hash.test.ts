import { describe, it, expect } from 'vitest';
import { specHash, hashText, applyEdit, describeEdit, type Spec, type ArchNode, type Edit } from '../arch/index.ts';

function residualMlp(): Spec {
  return {
    arch: {
      nodes: [
        { id: 'x', op: 'input', shape: [4] },
        { id: 'h1', op: 'dense', inputs: ['x'], units: 8, activation: 'relu' },
        { id: 'h2', op: 'dense', inputs: ['h1'], units: 8, activation: 'relu' },
        { id: 'd', op: 'dropout', inputs: ['h2'], rate: 0.1 },
        { id: 'res', op: 'add', inputs: ['d', 'h1'] },
        { id: 'cat', op: 'concat', inputs: ['res', 'x'] },
        { id: 'ln', op: 'layerNorm', inputs: ['cat'] },
        { id: 'act', op: 'activation', inputs: ['ln'], activation: 'gelu' },
        { id: 'out', op: 'dense', inputs: ['act'], units: 3, activation: 'linear' },
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
        { id: 'c1', op: 'conv2d', inputs: ['img'], filters: 4, kernelSize: 3, strides: 1, padding: 'same', activation: 'relu' },
        { id: 'p1', op: 'maxPool2d', inputs: ['c1'], poolSize: 2, strides: 2 },
        { id: 'f', op: 'flatten', inputs: ['p1'] },
        { id: 'out', op: 'dense', inputs: ['f'], units: 10, activation: 'linear' },
      ],
      output: 'out',
    },
    recipe: { optimizer: 'sgd', learningRate: 0.01, batchSize: 64, epochs: 3 },
  };
}

function renameIds(spec: Spec, rename: (id: string) => string): Spec {
  return {
    arch: {
      nodes: spec.arch.nodes.map((n) => (n.op === 'input' ? { ...n, id: rename(n.id) } : { ...n, id: rename(n.id), inputs: n.inputs.map(rename) })) as ArchNode[],
      output: rename(spec.arch.output),
    },
    recipe: { ...spec.recipe },
  };
}

function patchNode(spec: Spec, id: string, patch: Record<string, unknown>): Spec {
  const copy: Spec = JSON.parse(JSON.stringify(spec));
  copy.arch.nodes = copy.arch.nodes.map((n) => (n.id === id ? ({ ...n, ...patch } as ArchNode) : n));
  return copy;
}

describe('hashText', () => {
  it('is 16 lowercase hex chars and spreads similar inputs', () => {
    expect(hashText('')).toMatch(/^[0-9a-f]{16}$/);
    const hashes = new Set(Array.from({ length: 2000 }, (_, i) => hashText(`node-${i}`)));
    expect(hashes.size).toBe(2000);
    expect(hashText('ab')).not.toBe(hashText('ba'));
  });
});

describe('specHash', () => {
  it('is 16 hex chars and stable', () => {
    expect(specHash(residualMlp())).toMatch(/^[0-9a-f]{16}$/);
    expect(specHash(residualMlp())).toBe(specHash(residualMlp()));
  });

  it('ignores node ids', () => {
    for (const spec of [residualMlp(), convNet()]) {
      expect(specHash(renameIds(spec, (id) => `renamed_${id}_z`))).toBe(specHash(spec));
    }
  });

  it('ignores the order of nodes and of add inputs, and extra fields', () => {
    const spec = residualMlp();
    const shuffled: Spec = { ...spec, arch: { ...spec.arch, nodes: [...spec.arch.nodes].reverse() } };
    expect(specHash(shuffled)).toBe(specHash(spec));
    const rotated: Spec = { ...spec, arch: { ...spec.arch, nodes: [...spec.arch.nodes.slice(4), ...spec.arch.nodes.slice(0, 4)] } };
    expect(specHash(rotated)).toBe(specHash(spec));
    expect(specHash(patchNode(spec, 'res', { inputs: ['h1', 'd'] }))).toBe(specHash(spec));
    expect(specHash(patchNode(spec, 'h1', { comment: 'first layer' }))).toBe(specHash(spec));
  });

  it('depends on concat input order', () => {
    const spec = residualMlp();
    expect(specHash(patchNode(spec, 'cat', { inputs: ['x', 'res'] }))).not.toBe(specHash(spec));
  });

  it('changes with every parameter and recipe field', () => {
    const mlp = residualMlp();
    const conv = convNet();
    const variants: [Spec, Spec][] = [
      [mlp, patchNode(mlp, 'x', { shape: [5] })],
      [mlp, patchNode(mlp, 'h1', { units: 9 })],
      [mlp, patchNode(mlp, 'h2', { activation: 'tanh' })],
      [mlp, patchNode(mlp, 'd', { rate: 0.2 })],
      [mlp, patchNode(mlp, 'act', { activation: 'relu' })],
      [mlp, patchNode(mlp, 'out', { activation: 'tanh' })],
      [mlp, patchNode(mlp, 'res', { op: 'concat' })],
      [mlp, { ...mlp, recipe: { ...mlp.recipe, learningRate: 0.0011 } }],
      [mlp, { ...mlp, recipe: { ...mlp.recipe, batchSize: 33 } }],
      [mlp, { ...mlp, recipe: { ...mlp.recipe, epochs: 6 } }],
      [mlp, { ...mlp, recipe: { ...mlp.recipe, optimizer: 'sgd' } }],
      [conv, patchNode(conv, 'c1', { filters: 5 })],
      [conv, patchNode(conv, 'c1', { kernelSize: 5 })],
      [conv, patchNode(conv, 'c1', { strides: 2 })],
      [conv, patchNode(conv, 'c1', { padding: 'valid' })],
      [conv, patchNode(conv, 'c1', { activation: 'elu' })],
      [conv, patchNode(conv, 'p1', { poolSize: 3 })],
      [conv, patchNode(conv, 'p1', { strides: 1 })],
    ];
    const seen = new Set([specHash(mlp), specHash(conv)]);
    for (const [base, variant] of variants) {
      const hash = specHash(variant);
      expect(hash).not.toBe(specHash(base));
      seen.add(hash);
    }
    expect(seen.size).toBe(variants.length + 2);
  });

  it('changes with structure: an extra layer, a rewired input, a moved output', () => {
    const spec = residualMlp();
    expect(specHash(applyEdit(spec, { op: 'insertLayer', after: 'h1', units: 8, activation: 'relu' }))).not.toBe(specHash(spec));
    expect(specHash(patchNode(spec, 'res', { inputs: ['d', 'h2'] }))).not.toBe(specHash(spec));
  });

  it('distinguishes two identical branches from one shared branch', () => {
    const base = (nodes: ArchNode[]): Spec => ({ arch: { nodes, output: 'out' }, recipe: residualMlp().recipe });
    const separate = base([
      { id: 'x', op: 'input', shape: [4] },
      { id: 'a1', op: 'dense', inputs: ['x'], units: 8, activation: 'relu' },
      { id: 'a2', op: 'dense', inputs: ['a1'], units: 8, activation: 'relu' },
      { id: 'b1', op: 'dense', inputs: ['x'], units: 8, activation: 'relu' },
      { id: 'b2', op: 'dense', inputs: ['b1'], units: 8, activation: 'relu' },
      { id: 'm', op: 'add', inputs: ['a2', 'b2'] },
      { id: 'out', op: 'dense', inputs: ['m'], units: 3, activation: 'linear' },
    ]);
    const shared = base([
      { id: 'x', op: 'input', shape: [4] },
      { id: 's', op: 'dense', inputs: ['x'], units: 8, activation: 'relu' },
      { id: 'a2', op: 'dense', inputs: ['s'], units: 8, activation: 'relu' },
      { id: 'b2', op: 'dense', inputs: ['s'], units: 8, activation: 'relu' },
      { id: 'm', op: 'add', inputs: ['a2', 'b2'] },
      { id: 'out', op: 'dense', inputs: ['m'], units: 3, activation: 'linear' },
    ]);
    expect(specHash(separate)).not.toBe(specHash(shared));
  });

  it('is the same for the same model reached by different edit paths', () => {
    const spec = residualMlp();
    const a = applyEdit(applyEdit(spec, { op: 'setEpochs', value: 9 }), { op: 'addNorm', after: 'h1' });
    const b = applyEdit(applyEdit(spec, { op: 'addNorm', after: 'h1' }), { op: 'setEpochs', value: 9 });
    expect(specHash(a)).toBe(specHash(b));
  });

  it('hashes a 256-node chain quickly', () => {
    const nodes: ArchNode[] = [{ id: 'x', op: 'input', shape: [16] }];
    for (let i = 1; i < 255; i++) nodes.push({ id: `h${i}`, op: 'dense', inputs: [nodes[i - 1]!.id], units: 16, activation: 'relu' });
    nodes.push({ id: 'out', op: 'dense', inputs: ['h254'], units: 2, activation: 'linear' });
    const spec: Spec = { arch: { nodes, output: 'out' }, recipe: residualMlp().recipe };
    const start = performance.now();
    for (let i = 0; i < 20; i++) specHash(spec);
    expect((performance.now() - start) / 20).toBeLessThan(50);
  });
});

describe('describeEdit', () => {
  it('renders every edit kind on one line', () => {
    const cases: [Edit, string][] = [
      [{ op: 'addBypass', from: 'h3', to: 'h7', merge: 'add' }, '+ bypass h3 → h7 (add)'],
      [{ op: 'removeBypass', node: 'bypass_h3_h7' }, '- bypass bypass_h3_h7'],
      [{ op: 'insertLayer', after: 'h2', units: 128, activation: 'relu' }, '+ dense(128, relu) after h2'],
      [{ op: 'removeLayer', node: 'h4' }, '- layer h4'],
      [{ op: 'setUnits', node: 'h4', units: 64 }, 'set units of h4 to 64'],
      [{ op: 'setActivation', node: 'h4', activation: 'gelu' }, 'set activation of h4 to gelu'],
      [{ op: 'addNorm', after: 'h2' }, '+ layerNorm after h2'],
      [{ op: 'setDropout', after: 'h2', rate: 0.2 }, 'set dropout after h2 to 0.2'],
      [{ op: 'setDropout', after: 'h2', rate: 0 }, '- dropout after h2'],
      [{ op: 'setLearningRate', value: 0.003 }, 'set learning rate 0.003'],
      [{ op: 'setBatchSize', value: 64 }, 'set batch size 64'],
      [{ op: 'setEpochs', value: 30 }, 'set epochs 30'],
    ];
    for (const [edit, text] of cases) expect(describeEdit(edit)).toBe(text);
    expect(describeEdit({ op: 'explode' } as unknown as Edit)).toBe('unknown edit {"op":"explode"}');
  });
});
