import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { EDIT_OPS } from '../arch/edit.ts';
import { DEEP_MLP_CONFIG, deepMlpBaseline, makeDeepMlpTemplate } from '../experiments/deep-mlp.ts';
import { getTemplate, templateNames } from '../experiments/index.ts';
import { initBackend } from '../training/backend.ts';
import { buildModel } from '../training/compile.ts';

describe('experiment templates', () => {
  beforeAll(async () => {
    await initBackend();
  });

  it('lists the templates and rejects unknown names listing the known ones', () => {
    const names = templateNames();
    expect(names.slice(0, 3)).toEqual(['deep-mlp', 'digits', 'digits-conv']);
    expect(new Set(names).size).toBe(names.length);
    expect(() => getTemplate('mnist')).toThrow(`unknown experiment template "mnist"; known templates: ${names.join(', ')}`);
  });

  for (const name of templateNames()) {
    it(`${name}: plain data, val_accuracy (max), a baseline that compiles to numClasses logits`, () => {
      const t = getTemplate(name);
      expect(t.name).toBe(name);
      expect(t.description.length).toBeGreaterThan(40);
      // External templates may measure something else (charlm-torch: val_bpc, lower is better).
      if (name === 'charlm-torch') expect(t.metric).toEqual({ name: 'val_bpc', direction: 'min' });
      else expect(t.metric).toEqual({ name: 'val_accuracy', direction: 'max' });
      expect(JSON.parse(JSON.stringify(t))).toEqual(t);
      expect(t.editPolicy.allowed.every((op) => (EDIT_OPS as readonly string[]).includes(op))).toBe(true);
      expect(t.baseline.recipe.epochs).toBeLessThanOrEqual(t.editPolicy.maxEpochs);
      const m = buildModel(t.baseline, 1, { numClasses: t.numClasses });
      expect(m.outputs[0].shape).toEqual([null, t.numClasses]);
      m.dispose();
      // getTemplate returns copies
      getTemplate(name).baseline.recipe.epochs = 999;
      expect(getTemplate(name).baseline.recipe.epochs).not.toBe(999);
    });
  }

  it('deep-mlp: a deep plain MLP x, h1..hD (dense relu), logits; fixed depth; teacher data', () => {
    const t = getTemplate('deep-mlp');
    const D = DEEP_MLP_CONFIG.depth;
    expect(D).toBeGreaterThanOrEqual(12);
    expect(t.baseline.arch.nodes.map((n) => n.id)).toEqual(['x', ...Array.from({ length: D }, (_, i) => `h${i + 1}`), 'logits']);
    for (const n of t.baseline.arch.nodes.slice(1, -1)) {
      expect(n).toMatchObject({ op: 'dense', units: DEEP_MLP_CONFIG.width, activation: 'relu' });
    }
    expect(t.baseline.arch.nodes.at(-1)).toMatchObject({ id: 'logits', op: 'dense', units: 10, activation: 'linear' });
    expect(t.baseline.arch.output).toBe('logits');
    expect(t.editPolicy.fixedDepth).toBe(true);
    expect(t.data).toMatchObject({ kind: 'teacher', features: 64, classes: 10, hidden: 128, inputScale: 8 });
    const small = makeDeepMlpTemplate({ ...DEEP_MLP_CONFIG, depth: 3 }, 'small');
    expect(small.baseline.arch.nodes.length).toBe(5);
    expect(deepMlpBaseline({ ...DEEP_MLP_CONFIG, depth: 2 }).arch.nodes[2]).toMatchObject({ id: 'h2', inputs: ['h1'] });
  });

  it('digits: csv digits.csv, label last, pixels / 16, fixed 20% split, free depth', () => {
    const t = getTemplate('digits');
    expect(t.data).toEqual({
      kind: 'csv',
      file: 'digits.csv',
      labelColumn: -1,
      featureScale: 16,
      validationFraction: 0.2,
      holdoutFraction: 0.1,
      splitSeed: expect.any(Number),
    });
    expect(t.editPolicy.fixedDepth).toBe(false);
    expect(t.baseline.arch.nodes[0]).toMatchObject({ op: 'input', shape: [64] });
    expect(getTemplate('digits-conv').data).toMatchObject({ kind: 'csv', sampleShape: [8, 8, 1] });
    expect(tf.memory().numTensors).toBeGreaterThanOrEqual(0);
  });
});
