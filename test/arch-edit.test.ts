import { describe, it, expect } from 'vitest';
import {
  applyEdit,
  applyEdits,
  countParams,
  inferShapes,
  validateSpec,
  specHash,
  EditError,
  type Edit,
  type Spec,
  type ArchNode,
} from '../arch/index.ts';

// 4 → h1(8) → h2(8) → h3(16) → out(3)
function mlp(): Spec {
  return {
    arch: {
      nodes: [
        { id: 'x', op: 'input', shape: [4] },
        { id: 'h1', op: 'dense', inputs: ['x'], units: 8, activation: 'relu' },
        { id: 'h2', op: 'dense', inputs: ['h1'], units: 8, activation: 'relu' },
        { id: 'h3', op: 'dense', inputs: ['h2'], units: 16, activation: 'relu' },
        { id: 'out', op: 'dense', inputs: ['h3'], units: 3, activation: 'linear' },
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
        { id: 'c2', op: 'conv2d', inputs: ['c1'], filters: 4, kernelSize: 3, strides: 1, padding: 'same', activation: 'relu' },
        { id: 'p1', op: 'maxPool2d', inputs: ['c2'], poolSize: 2, strides: 2 },
        { id: 'f', op: 'flatten', inputs: ['p1'] },
        { id: 'out', op: 'dense', inputs: ['f'], units: 10, activation: 'linear' },
      ],
      output: 'out',
    },
    recipe: { optimizer: 'sgd', learningRate: 0.01, batchSize: 64, epochs: 3 },
  };
}

function node(spec: Spec, id: string): ArchNode {
  const found = spec.arch.nodes.find((n) => n.id === id);
  if (!found) throw new Error(`test: no node ${id}`);
  return found;
}

function inputsOf(spec: Spec, id: string): string[] {
  const n = node(spec, id);
  return n.op === 'input' ? [] : n.inputs;
}

/** The EditError thrown by `fn`; fails the test if none is thrown. */
function editError(fn: () => unknown): EditError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(EditError);
    return error as EditError;
  }
  throw new Error('expected an EditError, nothing was thrown');
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    Object.values(value).forEach(deepFreeze);
    Object.freeze(value);
  }
  return value;
}

describe('addBypass', () => {
  it('adds a residual add between equal widths without a projection', () => {
    const result = applyEdit(mlp(), { op: 'addBypass', from: 'h1', to: 'h2', merge: 'add' });
    expect(node(result, 'bypass_h1_h2')).toEqual({ id: 'bypass_h1_h2', op: 'add', inputs: ['h2', 'h1'] });
    expect(inputsOf(result, 'h3')).toEqual(['bypass_h1_h2']);
    expect(result.arch.nodes.some((n) => n.id.startsWith('proj_'))).toBe(false);
    expect(validateSpec(result)).toEqual([]);
  });

  it('inserts a linear projection when add widths differ', () => {
    const result = applyEdit(mlp(), { op: 'addBypass', from: 'h1', to: 'h3', merge: 'add' });
    expect(node(result, 'proj_h1_h3')).toEqual({ id: 'proj_h1_h3', op: 'dense', inputs: ['h1'], units: 16, activation: 'linear' });
    expect(inputsOf(result, 'bypass_h1_h3')).toEqual(['h3', 'proj_h1_h3']);
    expect(inputsOf(result, 'out')).toEqual(['bypass_h1_h3']);
    // projection adds 8*16+16 params
    expect(countParams(result.arch)).toBe(countParams(mlp().arch) + 144);
  });

  it('concatenates and widens the consumer input', () => {
    const result = applyEdit(mlp(), { op: 'addBypass', from: 'x', to: 'h2', merge: 'concat' });
    expect(node(result, 'bypass_x_h2')).toMatchObject({ op: 'concat', inputs: ['h2', 'x'] });
    expect(inferShapes(result.arch)['bypass_x_h2']).toEqual([12]);
    expect(inputsOf(result, 'h3')).toEqual(['bypass_x_h2']);
  });

  it('moves the spec output when bypassing into the output node with add', () => {
    const result = applyEdit(mlp(), { op: 'addBypass', from: 'h2', to: 'out', merge: 'add' });
    expect(result.arch.output).toBe('bypass_h2_out');
    expect(node(result, 'proj_h2_out')).toMatchObject({ units: 3, activation: 'linear' });
    expect(inferShapes(result.arch)[result.arch.output]).toEqual([3]);
  });

  it('rejects a concat into the output (would change the number of logits)', () => {
    const error = editError(() => applyEdit(mlp(), { op: 'addBypass', from: 'h2', to: 'out', merge: 'concat' }));
    expect(error.message).toMatch(/output shape would change from \[3\] to \[11\]/);
  });

  it('rejects unknown nodes, naming them', () => {
    const error = editError(() => applyEdit(mlp(), { op: 'addBypass', from: 'h9', to: 'h3', merge: 'add' }));
    expect(error.message).toContain('"from" node "h9" does not exist (known nodes: x, h1, h2, h3, out)');
    expect(error.edit).toEqual({ op: 'addBypass', from: 'h9', to: 'h3', merge: 'add' });
  });

  it('rejects from === to and a from that comes after to (would create a cycle)', () => {
    expect(editError(() => applyEdit(mlp(), { op: 'addBypass', from: 'h2', to: 'h2', merge: 'add' })).message).toMatch(
      /"from" and "to" are the same node "h2"/,
    );
    expect(editError(() => applyEdit(mlp(), { op: 'addBypass', from: 'h3', to: 'h1', merge: 'add' })).message).toMatch(
      /node "h3" does not come before "h1"/,
    );
  });

  it('rejects nodes on parallel branches', () => {
    const spec = mlp();
    spec.arch.nodes.splice(4, 0, { id: 'side', op: 'dense', inputs: ['h1'], units: 16, activation: 'relu' }, { id: 'm', op: 'add', inputs: ['h3', 'side'] });
    spec.arch.nodes[6] = { id: 'out', op: 'dense', inputs: ['m'], units: 3, activation: 'linear' };
    expect(validateSpec(spec)).toEqual([]);
    expect(editError(() => applyEdit(spec, { op: 'addBypass', from: 'side', to: 'h3', merge: 'add' })).message).toMatch(
      /node "side" does not come before "h3"/,
    );
  });

  it('rejects rank-3 adds of different shapes and mismatched concat', () => {
    expect(editError(() => applyEdit(convNet(), { op: 'addBypass', from: 'img', to: 'c2', merge: 'add' })).message).toMatch(
      /"img" \[8,8,1\] and "c2" \[8,8,4\] have different shapes/,
    );
    expect(editError(() => applyEdit(convNet(), { op: 'addBypass', from: 'c1', to: 'p1', merge: 'concat' })).message).toMatch(
      /cannot be concatenated/,
    );
    // Same rank-3 shape adds fine; same leading dims concat on channels.
    expect(inferShapes(applyEdit(convNet(), { op: 'addBypass', from: 'c1', to: 'c2', merge: 'add' }).arch)['bypass_c1_c2']).toEqual([8, 8, 4]);
    expect(inferShapes(applyEdit(convNet(), { op: 'addBypass', from: 'img', to: 'c2', merge: 'concat' }).arch)['bypass_img_c2']).toEqual([8, 8, 5]);
  });

  it('rejects a bad merge kind', () => {
    const bad = { op: 'addBypass', from: 'h1', to: 'h3', merge: 'mul' } as unknown as Edit;
    expect(editError(() => applyEdit(mlp(), bad)).message).toMatch(/merge "mul" is invalid/);
  });

  it('makes generated ids unique and deterministic', () => {
    const edit: Edit = { op: 'addBypass', from: 'h1', to: 'h3', merge: 'add' };
    const once = applyEdit(mlp(), edit);
    const twice = applyEdit(once, edit);
    expect(twice.arch.nodes.map((n) => n.id)).toContain('bypass_h1_h3_2');
    expect(twice.arch.nodes.map((n) => n.id)).toContain('proj_h1_h3_2');
    expect(applyEdit(applyEdit(mlp(), edit), edit)).toEqual(twice);
  });
});

describe('removeBypass', () => {
  it('removes the merge and its now-dead projection, restoring the original', () => {
    const withBypass = applyEdit(mlp(), { op: 'addBypass', from: 'h1', to: 'h3', merge: 'add' });
    const removed = applyEdit(withBypass, { op: 'removeBypass', node: 'bypass_h1_h3' });
    expect(removed).toEqual(mlp());
  });

  it('restores the output when the merge was the output', () => {
    const withBypass = applyEdit(mlp(), { op: 'addBypass', from: 'h2', to: 'out', merge: 'add' });
    expect(applyEdit(withBypass, { op: 'removeBypass', node: 'bypass_h2_out' })).toEqual(mlp());
  });

  it('rejects non-merge and unknown nodes', () => {
    expect(editError(() => applyEdit(mlp(), { op: 'removeBypass', node: 'h2' })).message).toMatch(/node "h2" is a dense, not an add\/concat merge/);
    expect(editError(() => applyEdit(mlp(), { op: 'removeBypass', node: 'zzz' })).message).toMatch(/merge node "zzz" does not exist/);
  });
});

describe('insertLayer', () => {
  it('inserts a dense layer that the old consumers now read', () => {
    const result = applyEdit(mlp(), { op: 'insertLayer', after: 'h1', units: 32, activation: 'gelu' });
    expect(node(result, 'dense_1')).toEqual({ id: 'dense_1', op: 'dense', inputs: ['h1'], units: 32, activation: 'gelu' });
    expect(inputsOf(result, 'h2')).toEqual(['dense_1']);
    expect(result.arch.nodes.map((n) => n.id)).toEqual(['x', 'h1', 'dense_1', 'h2', 'h3', 'out']);
  });

  it('picks the first free dense_<n>', () => {
    const spec = mlp();
    (spec.arch.nodes[1] as { id: string }).id = 'dense_1';
    (spec.arch.nodes[2] as { inputs: string[] }).inputs = ['dense_1'];
    const result = applyEdit(spec, { op: 'insertLayer', after: 'h2', units: 8, activation: 'relu' });
    expect(inputsOf(result, 'h3')).toEqual(['dense_2']);
  });

  it('rejects rank-3 anchors with a flatten hint, the output, bad units and activations', () => {
    expect(editError(() => applyEdit(convNet(), { op: 'insertLayer', after: 'c1', units: 8, activation: 'relu' })).message).toMatch(
      /node "c1" has shape \[8,8,4\] but a dense layer needs a rank-1 input; insert after a flatten/,
    );
    expect(editError(() => applyEdit(mlp(), { op: 'insertLayer', after: 'out', units: 3, activation: 'relu' })).message).toMatch(
      /node "out" is the output/,
    );
    expect(editError(() => applyEdit(mlp(), { op: 'insertLayer', after: 'h1', units: 1e9, activation: 'relu' })).message).toMatch(
      /units 1000000000 is out of range; use an integer from 1 to 4096/,
    );
    expect(editError(() => applyEdit(mlp(), { op: 'insertLayer', after: 'h1', units: 0, activation: 'relu' })).message).toMatch(/units 0/);
    const badActivation = { op: 'insertLayer', after: 'h1', units: 8, activation: 'softmax' } as unknown as Edit;
    expect(editError(() => applyEdit(mlp(), badActivation)).message).toMatch(/unknown activation "softmax"/);
  });

  it('is allowed after a flatten in a conv net', () => {
    const result = applyEdit(convNet(), { op: 'insertLayer', after: 'f', units: 16, activation: 'relu' });
    expect(inputsOf(result, 'out')).toEqual(['dense_1']);
  });
});

describe('removeLayer', () => {
  it('removes a hidden layer; consumers read its input', () => {
    const result = applyEdit(mlp(), { op: 'removeLayer', node: 'h2' });
    expect(result.arch.nodes.map((n) => n.id)).toEqual(['x', 'h1', 'h3', 'out']);
    expect(inputsOf(result, 'h3')).toEqual(['h1']);
  });

  it('removes a conv layer', () => {
    const result = applyEdit(convNet(), { op: 'removeLayer', node: 'c2' });
    expect(inputsOf(result, 'p1')).toEqual(['c1']);
  });

  it('explains when the shape change breaks an add', () => {
    // h1(8) → h2(16) → h3(8); add(h3, h1): removing h3 feeds h2 [16] into the add with h1 [8]
    const spec = mlp();
    spec.arch.nodes = [
      { id: 'x', op: 'input', shape: [4] },
      { id: 'h1', op: 'dense', inputs: ['x'], units: 8, activation: 'relu' },
      { id: 'h2', op: 'dense', inputs: ['h1'], units: 16, activation: 'relu' },
      { id: 'h3', op: 'dense', inputs: ['h2'], units: 8, activation: 'relu' },
      { id: 'res', op: 'add', inputs: ['h3', 'h1'] },
      { id: 'out', op: 'dense', inputs: ['res'], units: 3, activation: 'linear' },
    ];
    const error = editError(() => applyEdit(spec, { op: 'removeLayer', node: 'h3' }));
    expect(error.message).toMatch(/removing "h3" changes the shape its consumers see from \[8\] to \[16\]/);
    expect(error.message).toMatch(/node "res": inputs have different shapes/);
  });

  it('rejects removing the input, the output, a merge, or a flatten that dense needs', () => {
    expect(editError(() => applyEdit(mlp(), { op: 'removeLayer', node: 'x' })).message).toMatch(/node "x" is the input node/);
    expect(editError(() => applyEdit(mlp(), { op: 'removeLayer', node: 'out' })).message).toMatch(/node "out" is the output/);
    const merged = applyEdit(mlp(), { op: 'addBypass', from: 'h1', to: 'h2', merge: 'add' });
    expect(editError(() => applyEdit(merged, { op: 'removeLayer', node: 'bypass_h1_h2' })).message).toMatch(/use removeBypass/);
    expect(editError(() => applyEdit(convNet(), { op: 'removeLayer', node: 'f' })).message).toMatch(/add a flatten/);
  });
});

describe('setUnits', () => {
  it('changes a hidden dense width', () => {
    const result = applyEdit(mlp(), { op: 'setUnits', node: 'h2', units: 32 });
    expect(node(result, 'h2')).toMatchObject({ units: 32 });
    // h2: 8*32+32 = 288 (was 72); h3: 32*16+16 = 528 (was 144)
    expect(countParams(result.arch)).toBe(countParams(mlp().arch) - 72 - 144 + 288 + 528);
  });

  it('refuses the output node because its units are the number of classes', () => {
    expect(editError(() => applyEdit(mlp(), { op: 'setUnits', node: 'out', units: 5 })).message).toMatch(
      /node "out" is the output \(the logits\); its units \(3\) are the number of classes/,
    );
  });

  it('rejects non-dense nodes, out-of-range and no-op units', () => {
    expect(editError(() => applyEdit(convNet(), { op: 'setUnits', node: 'c1', units: 8 })).message).toMatch(/node "c1" is a conv2d, not dense/);
    expect(editError(() => applyEdit(mlp(), { op: 'setUnits', node: 'h1', units: 1e9 })).message).toMatch(/units 1000000000 is out of range/);
    expect(editError(() => applyEdit(mlp(), { op: 'setUnits', node: 'h1', units: 2.5 })).message).toMatch(/units 2.5 is out of range/);
    expect(editError(() => applyEdit(mlp(), { op: 'setUnits', node: 'h1', units: 8 })).message).toMatch(/already has 8 units/);
  });

  it('rejects a width change that breaks an add partner', () => {
    const merged = applyEdit(mlp(), { op: 'addBypass', from: 'h1', to: 'h2', merge: 'add' });
    const error = editError(() => applyEdit(merged, { op: 'setUnits', node: 'h2', units: 16 }));
    expect(error.message).toMatch(/changing "h2" from 8 to 16 units breaks the graph/);
    expect(error.message).toMatch(/node "bypass_h1_h2": inputs have different shapes \[16\] and \[8\]/);
  });
});

describe('setActivation', () => {
  it('changes dense, conv2d and activation nodes', () => {
    expect(node(applyEdit(mlp(), { op: 'setActivation', node: 'h1', activation: 'tanh' }), 'h1')).toMatchObject({ activation: 'tanh' });
    expect(node(applyEdit(convNet(), { op: 'setActivation', node: 'c1', activation: 'elu' }), 'c1')).toMatchObject({ activation: 'elu' });
  });

  it('rejects other ops, the output, unknown and unchanged activations', () => {
    expect(editError(() => applyEdit(convNet(), { op: 'setActivation', node: 'f', activation: 'relu' })).message).toMatch(/node "f" is a flatten/);
    expect(editError(() => applyEdit(mlp(), { op: 'setActivation', node: 'out', activation: 'relu' })).message).toMatch(/node "out" is the output/);
    const unknown = { op: 'setActivation', node: 'h1', activation: 'mish' } as unknown as Edit;
    expect(editError(() => applyEdit(mlp(), unknown)).message).toMatch(/unknown activation "mish"/);
    expect(editError(() => applyEdit(mlp(), { op: 'setActivation', node: 'h1', activation: 'relu' })).message).toMatch(/already uses relu/);
  });
});

describe('addNorm', () => {
  it('inserts a layerNorm after a node', () => {
    const result = applyEdit(mlp(), { op: 'addNorm', after: 'h2' });
    expect(node(result, 'norm_h2')).toEqual({ id: 'norm_h2', op: 'layerNorm', inputs: ['h2'] });
    expect(inputsOf(result, 'h3')).toEqual(['norm_h2']);
    expect(countParams(result.arch)).toBe(countParams(mlp().arch) + 16);
  });

  it('rejects a second norm, a norm after a norm and a norm after the output', () => {
    const once = applyEdit(mlp(), { op: 'addNorm', after: 'h2' });
    expect(editError(() => applyEdit(once, { op: 'addNorm', after: 'h2' })).message).toMatch(/already followed by layerNorm "norm_h2"/);
    expect(editError(() => applyEdit(once, { op: 'addNorm', after: 'norm_h2' })).message).toMatch(/already a layerNorm/);
    expect(editError(() => applyEdit(mlp(), { op: 'addNorm', after: 'out' })).message).toMatch(/node "out" is the output/);
  });
});

describe('setDropout', () => {
  it('inserts, updates and removes a dropout node', () => {
    const inserted = applyEdit(mlp(), { op: 'setDropout', after: 'h1', rate: 0.2 });
    expect(node(inserted, 'drop_h1')).toEqual({ id: 'drop_h1', op: 'dropout', inputs: ['h1'], rate: 0.2 });
    expect(inputsOf(inserted, 'h2')).toEqual(['drop_h1']);

    const updated = applyEdit(inserted, { op: 'setDropout', after: 'h1', rate: 0.3 });
    expect(updated.arch.nodes).toHaveLength(inserted.arch.nodes.length);
    expect(node(updated, 'drop_h1')).toMatchObject({ rate: 0.3 });

    expect(applyEdit(updated, { op: 'setDropout', after: 'h1', rate: 0 })).toEqual(mlp());
  });

  it('rejects rate 0 with no dropout, out-of-range rates, same rate and the output', () => {
    expect(editError(() => applyEdit(mlp(), { op: 'setDropout', after: 'h1', rate: 0 })).message).toMatch(/nothing to remove/);
    expect(editError(() => applyEdit(mlp(), { op: 'setDropout', after: 'h1', rate: -0.1 })).message).toMatch(/dropout rate -0.1 is out of range/);
    expect(editError(() => applyEdit(mlp(), { op: 'setDropout', after: 'h1', rate: 1 })).message).toMatch(/dropout rate 1 is out of range/);
    expect(editError(() => applyEdit(mlp(), { op: 'setDropout', after: 'h1', rate: NaN })).message).toMatch(/dropout rate NaN/);
    const inserted = applyEdit(mlp(), { op: 'setDropout', after: 'h1', rate: 0.2 });
    expect(editError(() => applyEdit(inserted, { op: 'setDropout', after: 'h1', rate: 0.2 })).message).toMatch(/already has rate 0.2/);
    expect(editError(() => applyEdit(mlp(), { op: 'setDropout', after: 'out', rate: 0.2 })).message).toMatch(/node "out" is the output/);
  });
});

describe('recipe edits', () => {
  it('set learning rate, batch size and epochs', () => {
    expect(applyEdit(mlp(), { op: 'setLearningRate', value: 0.003 }).recipe.learningRate).toBe(0.003);
    expect(applyEdit(mlp(), { op: 'setBatchSize', value: 128 }).recipe.batchSize).toBe(128);
    expect(applyEdit(mlp(), { op: 'setEpochs', value: 20 }).recipe.epochs).toBe(20);
  });

  it('range-check each field', () => {
    for (const value of [NaN, 0, -0.01, 2, Infinity]) {
      expect(editError(() => applyEdit(mlp(), { op: 'setLearningRate', value })).message).toMatch(/learning rate .* is out of range/);
    }
    for (const value of [0, 1.5, 5000]) {
      expect(editError(() => applyEdit(mlp(), { op: 'setBatchSize', value })).message).toMatch(/batchSize .* is out of range; use an integer from 1 to 4096/);
    }
    for (const value of [0, 201, 3.5]) {
      expect(editError(() => applyEdit(mlp(), { op: 'setEpochs', value })).message).toMatch(/epochs .* is out of range; use an integer from 1 to 200/);
    }
    expect(editError(() => applyEdit(mlp(), { op: 'setEpochs', value: 5 })).message).toMatch(/epochs is already 5/);
  });
});

describe('applyEdit in general', () => {
  it('rejects unknown edit ops and invalid base specs', () => {
    expect(editError(() => applyEdit(mlp(), { op: 'deleteEverything' } as unknown as Edit)).message).toMatch(/unknown edit op "deleteEverything"/);
    const broken = mlp();
    broken.recipe.learningRate = NaN;
    expect(editError(() => applyEdit(broken, { op: 'setEpochs', value: 3 })).message).toMatch(/the spec being edited is invalid: recipe.learningRate NaN/);
  });

  it('never mutates its input, for every edit kind', () => {
    const edits: [Spec, Edit][] = [
      [mlp(), { op: 'addBypass', from: 'h1', to: 'h3', merge: 'add' }],
      [applyEdit(mlp(), { op: 'addBypass', from: 'h1', to: 'h3', merge: 'add' }), { op: 'removeBypass', node: 'bypass_h1_h3' }],
      [mlp(), { op: 'insertLayer', after: 'h1', units: 16, activation: 'relu' }],
      [mlp(), { op: 'removeLayer', node: 'h2' }],
      [mlp(), { op: 'setUnits', node: 'h2', units: 16 }],
      [mlp(), { op: 'setActivation', node: 'h2', activation: 'gelu' }],
      [mlp(), { op: 'addNorm', after: 'h2' }],
      [mlp(), { op: 'setDropout', after: 'h2', rate: 0.1 }],
      [applyEdit(mlp(), { op: 'setDropout', after: 'h2', rate: 0.1 }), { op: 'setDropout', after: 'h2', rate: 0 }],
      [applyEdit(mlp(), { op: 'setDropout', after: 'h2', rate: 0.1 }), { op: 'setDropout', after: 'h2', rate: 0.2 }],
      [mlp(), { op: 'setLearningRate', value: 0.01 }],
      [mlp(), { op: 'setBatchSize', value: 8 }],
      [mlp(), { op: 'setEpochs', value: 9 }],
    ];
    for (const [spec, edit] of edits) {
      const before = JSON.stringify(spec);
      const frozen = deepFreeze(spec);
      const result = applyEdit(frozen, edit);
      expect(JSON.stringify(frozen)).toBe(before);
      expect(JSON.stringify(result)).not.toBe(before);
      expect(validateSpec(result)).toEqual([]);
      // The result shares nothing with the input: editing it leaves the input alone.
      (result.arch.nodes[1] as { id: string }).id = 'changed';
      result.recipe.epochs = 99;
      expect(JSON.stringify(frozen)).toBe(before);
    }
  });

  it('is deterministic', () => {
    const edit: Edit = { op: 'insertLayer', after: 'h2', units: 64, activation: 'swish' };
    expect(applyEdit(mlp(), edit)).toEqual(applyEdit(mlp(), edit));
    expect(specHash(applyEdit(mlp(), edit))).toBe(specHash(applyEdit(mlp(), edit)));
  });
});

describe('applyEdits', () => {
  it('applies edits in order', () => {
    const result = applyEdits(mlp(), [
      { op: 'insertLayer', after: 'h1', units: 8, activation: 'relu' },
      { op: 'addBypass', from: 'h1', to: 'h2', merge: 'add' },
      { op: 'setEpochs', value: 7 },
    ]);
    expect(inputsOf(result, 'bypass_h1_h2')).toEqual(['h2', 'h1']);
    expect(inputsOf(result, 'h2')).toEqual(['dense_1']);
    expect(result.recipe.epochs).toBe(7);
    expect(applyEdits(mlp(), [])).toEqual(mlp());
  });

  it('says which edit failed', () => {
    const edits: Edit[] = [
      { op: 'setEpochs', value: 7 },
      { op: 'removeLayer', node: 'h7' },
      { op: 'setEpochs', value: 8 },
    ];
    const error = editError(() => applyEdits(mlp(), edits));
    expect(error.message).toMatch(/^edit #1 of 3: cannot apply "- layer h7": layer node "h7" does not exist/);
    expect(error.editIndex).toBe(1);
    expect(error.edit).toEqual(edits[1]);
  });
});
