import { describe, it, expect } from 'vitest';
import { EDIT_OPS, applyEdits, depth, specHash, validateSpec, ancestors, inferShapes, type ArchNode, type EditOp, type Spec } from '../arch/index.ts';
import type { ExperimentTemplate } from '../experiments/template.ts';
import { createRng, deriveSeed } from '../agents/rng.ts';
import { mutate, randomEdit } from '../agents/mutate.ts';
import { limitsFor } from '../agents/limits.ts';

/** 64 → 8 × dense(32, relu) → dense(10, linear). */
function deepMlp(): Spec {
  const nodes: ArchNode[] = [{ id: 'x', op: 'input', shape: [64] }];
  for (let i = 1; i <= 8; i++) nodes.push({ id: `h${i}`, op: 'dense', inputs: [nodes[i - 1]!.id], units: 32, activation: 'relu' });
  nodes.push({ id: 'out', op: 'dense', inputs: ['h8'], units: 10, activation: 'linear' });
  return { arch: { nodes, output: 'out' }, recipe: { optimizer: 'adam', learningRate: 0.001, batchSize: 64, epochs: 20 } };
}

function template(overrides: Partial<ExperimentTemplate['editPolicy']> = {}, baseline: Spec = deepMlp()): ExperimentTemplate {
  return {
    name: 'deep-mlp-test',
    description: 'test template',
    metric: { name: 'val_accuracy', direction: 'max' },
    numClasses: 10,
    data: { kind: 'teacher', features: 64, classes: 10, hidden: 32, inputScale: 1, trainSamples: 100, validationSamples: 50, seed: 1 },
    baseline,
    editPolicy: { allowed: [...EDIT_OPS], fixedDepth: false, maxUnits: 256, maxEpochs: 50, ...overrides },
  };
}

describe('rng', () => {
  it('is reproducible from its seed and differs between seeds', () => {
    const a = createRng(7);
    const b = createRng(7);
    const c = createRng(8);
    const seqA = Array.from({ length: 10 }, () => a.next());
    expect(Array.from({ length: 10 }, () => b.next())).toEqual(seqA);
    expect(Array.from({ length: 10 }, () => c.next())).not.toEqual(seqA);
    for (const v of seqA) expect(v >= 0 && v < 1).toBe(true);
  });

  it('int covers both ends of an inclusive range, pick and chance behave', () => {
    const rng = createRng(1);
    const seen = new Set<number>();
    for (let i = 0; i < 500; i++) seen.add(rng.int(3, 6));
    expect([...seen].sort()).toEqual([3, 4, 5, 6]);
    expect(() => rng.int(5, 4)).toThrow(/invalid range/);
    expect(() => rng.pick([])).toThrow(/empty/);
    expect(rng.chance(0)).toBe(false);
    expect(rng.chance(1)).toBe(true);
    const sample = rng.sample([1, 2, 3, 4, 5], 3);
    expect(new Set(sample).size).toBe(3);
    expect(rng.sample([1, 2], 5).sort()).toEqual([1, 2]);
  });

  it('deriveSeed is a deterministic function of ordered, typed parts', () => {
    expect(deriveSeed(42, 3)).toBe(deriveSeed(42, 3));
    expect(deriveSeed(42, 3)).not.toBe(deriveSeed(42, 4));
    expect(deriveSeed(1, 2)).not.toBe(deriveSeed(2, 1));
    expect(deriveSeed(1)).not.toBe(deriveSeed('1'));
    expect(Number.isInteger(deriveSeed('x'))).toBe(true);
    expect(deriveSeed('x')).toBeGreaterThanOrEqual(0);
  });
});

describe('randomEdit', () => {
  it('only samples allowed kinds', () => {
    const t = template({ allowed: ['setEpochs', 'setLearningRate'] });
    const rng = createRng(3);
    const kinds = new Set<string>();
    for (let i = 0; i < 100; i++) kinds.add(randomEdit(t.baseline, t, rng).op);
    expect([...kinds].sort()).toEqual(['setEpochs', 'setLearningRate']);
  });

  it('samples every allowed kind that has a candidate', () => {
    const t = template();
    const spec = applyEdits(t.baseline, [
      { op: 'addBypass', from: 'h1', to: 'h3', merge: 'add' },
      { op: 'setDropout', after: 'h4', rate: 0.1 },
    ]);
    const rng = createRng(4);
    const kinds = new Set<string>();
    for (let i = 0; i < 500; i++) kinds.add(randomEdit(spec, t, rng).op);
    expect([...kinds].sort()).toEqual([...EDIT_OPS].sort());
  });

  it('picks bypasses between rank-1 nodes at least two weight layers apart, never into the output', () => {
    const t = template({ allowed: ['addBypass'] });
    const rng = createRng(5);
    const position = (id: string) => (id === 'x' ? 0 : Number(id.slice(1)));
    for (let i = 0; i < 200; i++) {
      const edit = randomEdit(t.baseline, t, rng);
      if (edit.op !== 'addBypass') throw new Error('expected addBypass');
      expect(edit.to).not.toBe('out');
      expect(ancestors(t.baseline.arch, edit.to).has(edit.from)).toBe(true);
      expect(position(edit.to) - position(edit.from)).toBeGreaterThanOrEqual(2);
      expect(['add', 'concat']).toContain(edit.merge);
    }
  });

  it('keeps units within the policy and draws recipe values from the grids', () => {
    const t = template({ allowed: ['insertLayer', 'setUnits', 'setLearningRate', 'setBatchSize', 'setEpochs', 'setDropout'], maxUnits: 64, maxEpochs: 25 });
    const rng = createRng(6);
    for (let i = 0; i < 300; i++) {
      const edit = randomEdit(t.baseline, t, rng);
      if (edit.op === 'insertLayer' || edit.op === 'setUnits') expect([16, 32, 64]).toContain(edit.units);
      if (edit.op === 'setLearningRate') expect(edit.value >= 1e-4 && edit.value <= 3e-2).toBe(true);
      if (edit.op === 'setBatchSize') expect([32, 128, 256]).toContain(edit.value);
      if (edit.op === 'setEpochs') expect(edit.value >= 1 && edit.value <= 25 && edit.value !== 20).toBe(true);
      if (edit.op === 'setDropout') expect([0.1, 0.2, 0.3]).toContain(edit.rate);
    }
  });

  it('throws when no allowed kind has a candidate', () => {
    const t = template({ allowed: ['removeBypass'] });
    expect(() => randomEdit(t.baseline, t, createRng(1))).toThrow(/no edit is possible on template "deep-mlp-test"/);
  });
});

describe('mutate', () => {
  it('applies 1..maxEdits edits and always yields a valid spec that the edits reproduce', () => {
    const t = template();
    const limits = limitsFor(t);
    const counts = new Set<number>();
    let spec = t.baseline;
    for (let i = 0; i < 200; i++) {
      const rng = createRng(deriveSeed('mutate', i));
      const result = mutate(spec, t, rng, 3);
      counts.add(result.edits.length);
      expect(result.edits.length).toBeGreaterThanOrEqual(1);
      expect(result.edits.length).toBeLessThanOrEqual(3);
      expect(validateSpec(result.spec, limits)).toEqual([]);
      expect(specHash(applyEdits(spec, result.edits, limits))).toBe(specHash(result.spec));
      // Walk: keep mutating the result so later edits see bypasses, norms and dropouts.
      spec = result.spec;
    }
    expect([...counts].sort()).toEqual([1, 2, 3]);
  });

  it('never changes depth under fixedDepth', () => {
    const t = template({ fixedDepth: true });
    let spec = t.baseline;
    const kinds = new Set<string>();
    for (let i = 0; i < 300; i++) {
      const result = mutate(spec, t, createRng(deriveSeed('fixed', i)), 2);
      for (const edit of result.edits) {
        kinds.add(edit.op);
        expect(edit.op).not.toBe('insertLayer');
      }
      expect(depth(result.spec.arch)).toBe(9);
      spec = result.spec;
    }
    // It still explores: bypasses and recipe edits happen.
    expect(kinds.has('addBypass')).toBe(true);
    expect(kinds.has('setLearningRate')).toBe(true);
  });

  it('does not edit the same target twice in one mutation', () => {
    const t = template({ allowed: ['setEpochs', 'setLearningRate'] });
    for (let i = 0; i < 50; i++) {
      const result = mutate(t.baseline, t, createRng(i), 2);
      const ops = result.edits.map((e) => e.op);
      expect(new Set(ops).size).toBe(ops.length);
    }
  });

  it('is deterministic for a given rng seed', () => {
    const t = template();
    expect(mutate(t.baseline, t, createRng(99), 2)).toEqual(mutate(t.baseline, t, createRng(99), 2));
  });

  it('throws a clear error when no edit applies', () => {
    // Every dense layer is tied to the next by an add, so setUnits can never apply.
    const t = template({ allowed: ['setUnits'] });
    const tied = applyEdits(t.baseline, [
      { op: 'addBypass', from: 'h1', to: 'h2', merge: 'add' },
      { op: 'addBypass', from: 'bypass_h1_h2', to: 'h3', merge: 'add' },
    ]);
    const stuck: Spec = { ...tied, arch: { ...tied.arch, nodes: tied.arch.nodes.filter((n) => !['h4', 'h5', 'h6', 'h7', 'h8'].includes(n.id)) } };
    stuck.arch.nodes = stuck.arch.nodes.map((n) => (n.id === 'out' ? { ...n, inputs: ['bypass_bypass_h1_h2_h3'] } : n)) as ArchNode[];
    expect(validateSpec(stuck)).toEqual([]);
    expect(inferShapes(stuck.arch)['bypass_bypass_h1_h2_h3']).toEqual([32]);
    expect(() => mutate(stuck, t, createRng(1), 1)).toThrow(/could not apply any random edit after \d+ attempts; last problem: .*breaks the graph/);
  });
});
