import { describe, it, expect } from 'vitest';
import { validateSpec, assertValidSpec, SpecError, DEFAULT_LIMITS, type ArchNode, type Spec } from '../arch/index.ts';

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

/** A copy of `spec` with node `id` replaced by `patch(node)`. */
function withNode(spec: Spec, id: string, patch: (node: ArchNode) => unknown): Spec {
  const copy: Spec = JSON.parse(JSON.stringify(spec));
  copy.arch.nodes = copy.arch.nodes.map((n) => (n.id === id ? (patch(n) as ArchNode) : n));
  return copy;
}

function errorsMatching(spec: Spec, pattern: RegExp): string[] {
  return validateSpec(spec).filter((e) => pattern.test(e));
}

describe('validateSpec: valid specs', () => {
  it('accepts a small MLP and a small conv net', () => {
    expect(validateSpec(mlp())).toEqual([]);
    expect(validateSpec(convNet())).toEqual([]);
  });

  it('accepts residual add and concat merges of compatible shapes', () => {
    const spec = mlp();
    spec.arch.nodes.splice(3, 0, { id: 'res', op: 'add', inputs: ['h2', 'h1'] }, { id: 'cat', op: 'concat', inputs: ['res', 'x'] });
    spec.arch.nodes[5] = { id: 'out', op: 'dense', inputs: ['cat'], units: 3, activation: 'linear' };
    expect(validateSpec(spec)).toEqual([]);
  });

  it('is independent of node order', () => {
    const spec = mlp();
    spec.arch.nodes.reverse();
    expect(validateSpec(spec)).toEqual([]);
  });
});

describe('validateSpec: graph structure', () => {
  it('requires exactly one input node', () => {
    const none = mlp();
    none.arch.nodes = none.arch.nodes.filter((n) => n.op !== 'input');
    expect(errorsMatching(none, /no input node/)).toHaveLength(1);

    const two = mlp();
    two.arch.nodes.push({ id: 'x2', op: 'input', shape: [4] });
    const errors = validateSpec(two);
    expect(errors.some((e) => e.includes('2 input nodes') && e.includes('"x2"'))).toBe(true);
  });

  it('reports duplicate ids', () => {
    const spec = mlp();
    spec.arch.nodes.push({ id: 'h1', op: 'dense', inputs: ['h2'], units: 8, activation: 'relu' });
    expect(errorsMatching(spec, /node "h1": id is used by 2 nodes/)).toHaveLength(1);
  });

  it('reports missing inputs with the known nodes', () => {
    const spec = withNode(mlp(), 'h2', (n) => ({ ...n, inputs: ['h9'] }));
    const [error] = errorsMatching(spec, /does not exist/);
    expect(error).toBe('node "h2": input "h9" does not exist (known nodes: x, h1, h2, out)');
  });

  it('reports a cycle with its nodes', () => {
    const spec = withNode(mlp(), 'h1', (n) => ({ ...n, inputs: ['h2'] }));
    const cycles = errorsMatching(spec, /cycle/);
    expect(cycles).toHaveLength(1);
    expect(cycles[0]).toMatch(/h1 → h2 → h1|h2 → h1 → h2/);
    // The input node now feeds nothing.
    expect(errorsMatching(spec, /node "x": does not feed the output/)).toHaveLength(1);
  });

  it('reports a self-loop', () => {
    const spec = withNode(mlp(), 'h2', (n) => ({ ...n, inputs: ['h2'] }));
    expect(errorsMatching(spec, /node "h2": part of cycle h2 → h2/)).toHaveLength(1);
  });

  it('reports dangling nodes that do not feed the output', () => {
    const spec = mlp();
    spec.arch.nodes.push({ id: 'orphan', op: 'dense', inputs: ['h1'], units: 5, activation: 'relu' });
    expect(validateSpec(spec)).toEqual(['node "orphan": does not feed the output "out"; connect it to the rest of the graph or remove it']);
  });

  it('reports a missing output', () => {
    const spec = mlp();
    spec.arch.output = 'logits';
    expect(errorsMatching(spec, /output "logits" does not exist/)).toHaveLength(1);
  });

  it('requires a rank-1 output', () => {
    const spec = convNet();
    spec.arch.nodes = spec.arch.nodes.filter((n) => n.id !== 'f' && n.id !== 'out');
    spec.arch.output = 'p1';
    expect(errorsMatching(spec, /output node "p1": has shape \[4,4,4\] but the output must be rank-1/)).toHaveLength(1);
  });

  it('rejects unknown ops and wrong arity', () => {
    expect(errorsMatching(withNode(mlp(), 'h1', (n) => ({ ...n, op: 'lstm' })), /node "h1": unknown op "lstm"/)).toHaveLength(1);
    expect(
      errorsMatching(withNode(mlp(), 'h2', (n) => ({ ...n, inputs: ['h1', 'x'] })), /node "h2": dense takes exactly 1 input, got 2/),
    ).toHaveLength(1);
    const oneInputAdd = mlp();
    oneInputAdd.arch.nodes.splice(3, 0, { id: 'a', op: 'add', inputs: ['h2'] });
    oneInputAdd.arch.nodes[4] = { id: 'out', op: 'dense', inputs: ['a'], units: 3, activation: 'linear' };
    expect(errorsMatching(oneInputAdd, /node "a": add needs at least 2 inputs, got 1/)).toHaveLength(1);
  });

  it('rejects a merge reading the same node twice', () => {
    const spec = mlp();
    spec.arch.nodes.splice(3, 0, { id: 'a', op: 'add', inputs: ['h2', 'h2'] });
    spec.arch.nodes[4] = { id: 'out', op: 'dense', inputs: ['a'], units: 3, activation: 'linear' };
    expect(errorsMatching(spec, /node "a": input "h2" is listed twice/)).toHaveLength(1);
  });

  it('survives garbage without throwing', () => {
    expect(validateSpec(null as unknown as Spec)).toEqual(['spec must be an object {arch, recipe}']);
    const junk = { arch: { nodes: [null, { op: 'dense' }], output: 3 }, recipe: {} } as unknown as Spec;
    const errors = validateSpec(junk);
    expect(errors.length).toBeGreaterThan(3);
    expect(errors.some((e) => e.startsWith('nodes[0]'))).toBe(true);
    expect(errors.some((e) => e.startsWith('nodes[1]') && e.includes('"id"'))).toBe(true);
  });
});

describe('validateSpec: shapes', () => {
  it('rejects add of different shapes and suggests concat or a projection', () => {
    const spec = mlp();
    spec.arch.nodes = [
      { id: 'x', op: 'input', shape: [4] },
      { id: 'h1', op: 'dense', inputs: ['x'], units: 64, activation: 'relu' },
      { id: 'h2', op: 'dense', inputs: ['h1'], units: 32, activation: 'relu' },
      { id: 'add_3', op: 'add', inputs: ['h1', 'h2'] },
      { id: 'out', op: 'dense', inputs: ['add_3'], units: 3, activation: 'linear' },
    ];
    const [error] = errorsMatching(spec, /add_3/);
    expect(error).toMatch(/^node "add_3": inputs have different shapes \[64\] and \[32\]/);
    expect(error).toMatch(/use concat or add a projection/);
  });

  it('rejects concat with different leading dims', () => {
    const spec: Spec = {
      arch: {
        nodes: [
          { id: 'img', op: 'input', shape: [8, 8, 1] },
          { id: 'c', op: 'conv2d', inputs: ['img'], filters: 2, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' },
          { id: 'cat', op: 'concat', inputs: ['img', 'c'] },
          { id: 'f', op: 'flatten', inputs: ['cat'] },
          { id: 'out', op: 'dense', inputs: ['f'], units: 2, activation: 'linear' },
        ],
        output: 'out',
      },
      recipe: mlp().recipe,
    };
    expect(errorsMatching(spec, /node "cat": inputs "img" \[8,8,1\] and "c" \[4,4,2\] cannot be concatenated/)).toHaveLength(1);
    // Same leading dims concatenate on channels.
    const ok = JSON.parse(JSON.stringify(spec)) as Spec;
    (ok.arch.nodes[1] as { strides: number }).strides = 1;
    expect(validateSpec(ok)).toEqual([]);
  });

  it('tells the user to add a flatten before dense on a rank-3 input', () => {
    const spec = convNet();
    spec.arch.nodes = spec.arch.nodes.filter((n) => n.id !== 'f');
    spec.arch.nodes = spec.arch.nodes.map((n) => (n.id === 'out' ? { ...n, inputs: ['p1'] } : n)) as ArchNode[];
    expect(errorsMatching(spec, /node "out": input "p1" \[4,4,4\] is rank 3 but dense needs a rank-1 input; add a flatten/)).toHaveLength(1);
  });

  it('requires rank-3 inputs for conv2d and maxPool2d', () => {
    const spec = mlp();
    spec.arch.nodes.splice(1, 0, { id: 'pool', op: 'maxPool2d', inputs: ['x'], poolSize: 2, strides: 2 });
    spec.arch.nodes[2] = { id: 'h1', op: 'dense', inputs: ['pool'], units: 8, activation: 'relu' };
    expect(errorsMatching(spec, /node "pool": input "x" \[4\] is rank 1 but maxPool2d needs a rank-3/)).toHaveLength(1);
  });

  it('rejects a valid conv whose kernel is larger than its input', () => {
    const spec = withNode(convNet(), 'c1', (n) => ({ ...n, kernelSize: 9, padding: 'valid' }));
    expect(errorsMatching(spec, /node "c1": kernelSize 9 does not fit input "img" \[8,8,1\]/)).toHaveLength(1);
    // With "same" padding the same kernel is fine.
    expect(validateSpec(withNode(convNet(), 'c1', (n) => ({ ...n, kernelSize: 9 })))).toEqual([]);
  });

  it('rejects a pool that leaves nothing', () => {
    const spec = withNode(convNet(), 'p1', (n) => ({ ...n, poolSize: 9 }));
    expect(errorsMatching(spec, /node "p1": poolSize 9 does not fit/)).toHaveLength(1);
  });

  it('does not cascade: one broken node does not flag its consumers', () => {
    const spec = withNode(mlp(), 'h1', (n) => ({ ...n, units: -1 }));
    expect(validateSpec(spec)).toHaveLength(1);
  });
});

describe('validateSpec: parameters', () => {
  it('rejects 10^9 units', () => {
    const spec = withNode(mlp(), 'h1', (n) => ({ ...n, units: 1e9 }));
    expect(validateSpec(spec)).toEqual(['node "h1": units 1000000000 is invalid; use an integer from 1 to 4096']);
  });

  it('rejects fractional units, NaN filters, zero kernel and bad padding', () => {
    expect(errorsMatching(withNode(mlp(), 'h1', (n) => ({ ...n, units: 7.5 })), /node "h1": units 7.5/)).toHaveLength(1);
    expect(errorsMatching(withNode(convNet(), 'c1', (n) => ({ ...n, filters: NaN })), /node "c1": filters NaN/)).toHaveLength(1);
    expect(errorsMatching(withNode(convNet(), 'c1', (n) => ({ ...n, kernelSize: 0 })), /node "c1": kernelSize 0/)).toHaveLength(1);
    expect(errorsMatching(withNode(convNet(), 'c1', (n) => ({ ...n, padding: 'full' })), /node "c1": padding "full"/)).toHaveLength(1);
    expect(errorsMatching(withNode(convNet(), 'p1', (n) => ({ ...n, strides: 0 })), /node "p1": strides 0/)).toHaveLength(1);
  });

  it('rejects negative and >=1 dropout rates but accepts 0', () => {
    const withDropout = (rate: number): Spec => {
      const spec = mlp();
      spec.arch.nodes.splice(2, 0, { id: 'd', op: 'dropout', inputs: ['h1'], rate });
      spec.arch.nodes[3] = { id: 'h2', op: 'dense', inputs: ['d'], units: 8, activation: 'relu' };
      return spec;
    };
    expect(validateSpec(withDropout(-0.1))).toEqual(['node "d": dropout rate -0.1 is invalid; use a number in [0, 1)']);
    expect(validateSpec(withDropout(1))).toHaveLength(1);
    expect(validateSpec(withDropout(0))).toEqual([]);
    expect(validateSpec(withDropout(0.5))).toEqual([]);
  });

  it('rejects unknown activations', () => {
    expect(validateSpec(withNode(mlp(), 'h2', (n) => ({ ...n, activation: 'softmax' })))[0]).toMatch(/^node "h2": unknown activation "softmax"/);
  });

  it('rejects bad input shapes', () => {
    expect(validateSpec(withNode(mlp(), 'x', (n) => ({ ...n, shape: [4, 4] })))[0]).toMatch(/^node "x": shape \[4,4\] is invalid/);
    expect(validateSpec(withNode(mlp(), 'x', (n) => ({ ...n, shape: [0] })))[0]).toMatch(/^node "x": shape \[0\] is invalid/);
  });

  it('honours custom maxUnits', () => {
    expect(validateSpec(mlp(), { ...DEFAULT_LIMITS, maxUnits: 4 })).toEqual([
      'node "h1": units 8 is invalid; use an integer from 1 to 4',
      'node "h2": units 8 is invalid; use an integer from 1 to 4',
    ]);
  });
});

describe('validateSpec: recipe and size limits', () => {
  it('rejects a NaN learning rate', () => {
    const spec = mlp();
    spec.recipe.learningRate = NaN;
    expect(validateSpec(spec)).toEqual(['recipe.learningRate NaN is invalid; use a finite number in [0.000001, 1]']);
  });

  it('rejects learning rates outside [min, max]', () => {
    const spec = mlp();
    spec.recipe.learningRate = -0.01;
    expect(validateSpec(spec)[0]).toMatch(/^recipe.learningRate -0.01 is invalid/);
    spec.recipe.learningRate = 2;
    expect(validateSpec(spec)[0]).toMatch(/^recipe.learningRate 2 is invalid/);
    spec.recipe.learningRate = 1;
    expect(validateSpec(spec)).toEqual([]);
  });

  it('checks batch size, epochs and optimizer', () => {
    const spec = mlp();
    spec.recipe = { optimizer: 'rmsprop' as 'adam', learningRate: 0.01, batchSize: 0, epochs: 2.5 };
    const errors = validateSpec(spec);
    expect(errors).toHaveLength(3);
    expect(errors[0]).toMatch(/^recipe.optimizer "rmsprop"/);
    expect(errors[1]).toMatch(/^recipe.batchSize 0 is invalid; use an integer from 1 to 4096/);
    expect(errors[2]).toMatch(/^recipe.epochs 2.5 is invalid; use an integer from 1 to 200/);
    spec.recipe = { optimizer: 'adam', learningRate: 0.01, batchSize: 32, epochs: 201 };
    expect(validateSpec(spec)).toEqual(['recipe.epochs 201 is invalid; use an integer from 1 to 200']);
  });

  it('rejects too many nodes', () => {
    const spec = mlp();
    expect(validateSpec(spec, { ...DEFAULT_LIMITS, maxNodes: 3 })).toEqual(['graph has 4 nodes, more than maxNodes 3; remove layers']);
  });

  it('rejects too many parameters (139 in the MLP)', () => {
    expect(validateSpec(mlp(), { ...DEFAULT_LIMITS, maxParams: 139 })).toEqual([]);
    expect(validateSpec(mlp(), { ...DEFAULT_LIMITS, maxParams: 138 })[0]).toMatch(/^model has 139 parameters, more than maxParams 138/);
  });
});

describe('assertValidSpec', () => {
  it('throws a SpecError carrying every message', () => {
    const spec = withNode(mlp(), 'h1', (n) => ({ ...n, units: 0 }));
    spec.recipe.epochs = 0;
    let caught: unknown;
    try {
      assertValidSpec(spec);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(SpecError);
    expect((caught as SpecError).errors).toHaveLength(2);
    expect((caught as SpecError).message).toContain('node "h1": units 0');
    expect(() => assertValidSpec(mlp())).not.toThrow();
  });
});
