// Compiles an ArchSpec graph into a tf.LayersModel (functional API).
//
// Self-contained on purpose: it checks just enough structure to build (ids, references, one input,
// cycles, output) and leaves shape rules to TF.js, whose errors are re-thrown naming the node.
// Full validation lives in arch/ and is expected to have run before.

import * as tf from '@tensorflow/tfjs';
import type { Activation, ArchNode, Spec } from '../arch/spec.ts';
import { deriveSeed } from './rng.ts';

export class CompileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CompileError';
  }
}

const TFJS_ACTIVATION: Record<Activation, string> = {
  linear: 'linear',
  relu: 'relu',
  tanh: 'tanh',
  sigmoid: 'sigmoid',
  elu: 'elu',
  selu: 'selu',
  // tfjs-layers 4.22: 'gelu' is the exact erf form, 'swish' is x * sigmoid(x).
  gelu: 'gelu',
  swish: 'swish',
};

function activationName(a: Activation, node: string): string {
  const name = TFJS_ACTIVATION[a];
  if (!name) throw new CompileError(`node ${node}: unknown activation ${JSON.stringify(a)}`);
  return name;
}

// ---------------------------------------------------------------------------------------------
// Dropout with a deterministic mask stream. tf.layers.dropout({seed}) reuses ONE mask for every
// batch (same seed each call), and without a seed it uses Math.random. This layer draws a fresh
// mask per call from (seed, call counter), so a training run is reproducible.

interface SeededDropoutArgs {
  rate: number;
  seed: number;
  name?: string;
}

export class SeededDropout extends tf.layers.Layer {
  static className = 'ArloSeededDropout';
  private readonly rate: number;
  private readonly seed: number;
  private calls = 0;

  constructor(args: SeededDropoutArgs) {
    super({ name: args.name });
    this.rate = args.rate;
    this.seed = args.seed;
    this.supportsMasking = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    if (!kwargs?.['training'] || this.rate <= 0) return x;
    const seed = deriveSeed(this.seed, this.calls++);
    return tf.tidy(() => tf.dropout(x, this.rate, undefined, seed));
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), rate: this.rate, seed: this.seed };
  }
}
tf.serialization.registerClass(SeededDropout);

// ---------------------------------------------------------------------------------------------
// Layer normalisation over the last axis. tf.layers.layerNormalization tiles mean/variance/gamma/
// beta to the full input shape and calls batchNorm; the gradient of that tile is one Slice + Add
// per column, ~25 ms per [128, 64] layer per step on wasm (a 24-layer net took 170 s instead of
// 11 s). This layer uses broadcasting ops only (Mean, Sub, Square, Rsqrt, Mul, Add), whose
// gradients are cheap on every backend. Same maths: (x - mean) / sqrt(var + eps) * gamma + beta.

export class FastLayerNorm extends tf.layers.Layer {
  static className = 'ArloLayerNorm';
  private readonly epsilon: number;
  private gamma!: tf.LayerVariable;
  private beta!: tf.LayerVariable;

  constructor(args: { epsilon?: number; name?: string } = {}) {
    super({ name: args.name });
    this.epsilon = args.epsilon ?? 1e-3;
    this.supportsMasking = true;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const dim = shape[shape.length - 1];
    if (dim === null || dim === undefined) throw new Error('layerNorm needs a known last dimension');
    this.gamma = this.addWeight('gamma', [dim], 'float32', tf.initializers.ones());
    this.beta = this.addWeight('beta', [dim], 'float32', tf.initializers.zeros());
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    return tf.tidy(() => {
      const axis = x.rank - 1;
      const mean = tf.mean(x, axis, true);
      const xc = tf.sub(x, mean);
      const variance = tf.mean(tf.square(xc), axis, true);
      const normed = tf.mul(xc, tf.rsqrt(tf.add(variance, this.epsilon)));
      return tf.add(tf.mul(normed, this.gamma.read()), this.beta.read());
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), epsilon: this.epsilon };
  }
}
tf.serialization.registerClass(FastLayerNorm);

// ---------------------------------------------------------------------------------------------

/** Topological order of the nodes the output depends on (stable w.r.t. `nodes` order). */
export function topoOrder(spec: Spec): ArchNode[] {
  const { nodes, output } = spec.arch;
  const byId = new Map<string, ArchNode>();
  for (const n of nodes) {
    if (typeof n.id !== 'string' || n.id === '') throw new CompileError('a node has no id');
    if (byId.has(n.id)) throw new CompileError(`duplicate node id ${n.id}`);
    byId.set(n.id, n);
  }
  const inputsOf = (n: ArchNode): string[] => (n.op === 'input' ? [] : n.inputs ?? []);
  for (const n of nodes) {
    for (const i of inputsOf(n)) {
      if (!byId.has(i)) throw new CompileError(`node ${n.id}: input ${i} does not exist`);
    }
    if (n.op !== 'input' && inputsOf(n).length === 0) throw new CompileError(`node ${n.id} (${n.op}) has no inputs`);
  }
  const inputNodes = nodes.filter((n) => n.op === 'input');
  if (inputNodes.length !== 1) {
    throw new CompileError(`the graph must have exactly one input node, found ${inputNodes.length}`);
  }
  if (!byId.has(output)) throw new CompileError(`output node ${output} does not exist`);
  // Ancestors of the output (only those are built: a dangling layer's weights would leak).
  const needed = new Set<string>();
  const stack = [output];
  while (stack.length) {
    const id = stack.pop()!;
    if (needed.has(id)) continue;
    needed.add(id);
    stack.push(...inputsOf(byId.get(id)!));
  }
  // DFS post-order with cycle detection; visiting in `nodes` order keeps the result stable.
  const state = new Map<string, 1 | 2>();
  const order: ArchNode[] = [];
  const visit = (id: string, trail: string[]): void => {
    const s = state.get(id);
    if (s === 2) return;
    if (s === 1) throw new CompileError(`the graph has a cycle: ${[...trail.slice(trail.indexOf(id)), id].join(' -> ')}`);
    state.set(id, 1);
    const n = byId.get(id)!;
    for (const i of inputsOf(n)) visit(i, [...trail, id]);
    state.set(id, 2);
    order.push(n);
  };
  for (const n of nodes) if (needed.has(n.id)) visit(n.id, []);
  if (!needed.has(inputNodes[0].id)) throw new CompileError(`output ${output} does not depend on the input node`);
  return order;
}

const VALID_NAME = /^[A-Za-z0-9][-A-Za-z0-9._]*$/;

/**
 * Builds the model. Weights use glorot-uniform with a per-layer seed derived from (seed, node id),
 * biases start at zero, so the same (spec, seed) always gives the same initial weights.
 * The output node's value is used as logits as-is (no softmax is added).
 * If `numClasses` is given, the output must be [batch, numClasses].
 */
export function buildModel(spec: Spec, seed: number, opts: { numClasses?: number } = {}): tf.LayersModel {
  const order = topoOrder(spec);
  const values = new Map<string, tf.SymbolicTensor>();
  const usedNames = new Set<string>();
  const layerName = (id: string): string => {
    let base = VALID_NAME.test(id) ? id : `n_${id.replace(/[^-A-Za-z0-9._]/g, '_')}`;
    if (!VALID_NAME.test(base)) base = `n_${base}`;
    let name = base;
    for (let k = 2; usedNames.has(name); k++) name = `${base}_${k}`;
    usedNames.add(name);
    return name;
  };
  const init = (id: string) => tf.initializers.glorotUniform({ seed: deriveSeed(seed, 'init', id) });
  let input: tf.SymbolicTensor | null = null;
  // Layers created so far: if building fails halfway their weights must be freed.
  const created: tf.layers.Layer[] = [];
  const apply = (layer: tf.layers.Layer, x: tf.SymbolicTensor | tf.SymbolicTensor[]): tf.SymbolicTensor => {
    created.push(layer);
    return layer.apply(x) as tf.SymbolicTensor;
  };
  try {
    for (const node of order) {
      const name = layerName(node.id);
      const ins = node.op === 'input' ? [] : node.inputs.map((i) => values.get(i)!);
      let out: tf.SymbolicTensor;
      try {
        switch (node.op) {
          case 'input':
            if (!Array.isArray(node.shape) || node.shape.length === 0 || node.shape.some((d) => !Number.isInteger(d) || d <= 0)) {
              throw new CompileError(`node ${node.id}: input shape must be positive integers, got ${JSON.stringify(node.shape)}`);
            }
            out = tf.input({ shape: node.shape, name });
            input = out;
            break;
          case 'dense':
            out = apply(
              tf.layers.dense({
                units: node.units,
                activation: activationName(node.activation, node.id) as 'linear',
                kernelInitializer: init(node.id),
                biasInitializer: 'zeros',
                name,
              }),
              ins[0],
            );
            break;
          case 'add':
            out = ins.length === 1 ? ins[0] : apply(tf.layers.add({ name }), ins);
            break;
          case 'concat':
            out = ins.length === 1 ? ins[0] : apply(tf.layers.concatenate({ axis: -1, name }), ins);
            break;
          case 'layerNorm':
            out = apply(new FastLayerNorm({ name }), ins[0]);
            break;
          case 'dropout':
            if (!(node.rate >= 0 && node.rate < 1)) throw new CompileError(`node ${node.id}: dropout rate must be in [0, 1), got ${node.rate}`);
            out = apply(new SeededDropout({ rate: node.rate, seed: deriveSeed(seed, 'dropout', node.id), name }), ins[0]);
            break;
          case 'activation':
            out = apply(tf.layers.activation({ activation: activationName(node.activation, node.id) as 'linear', name }), ins[0]);
            break;
          case 'conv2d':
            out = apply(
              tf.layers.conv2d({
                filters: node.filters,
                kernelSize: node.kernelSize,
                strides: node.strides,
                padding: node.padding,
                activation: activationName(node.activation, node.id) as 'linear',
                kernelInitializer: init(node.id),
                biasInitializer: 'zeros',
                name,
              }),
              ins[0],
            );
            break;
          case 'maxPool2d':
            // padding 'valid' (the Keras default).
            out = apply(tf.layers.maxPooling2d({ poolSize: node.poolSize, strides: node.strides, padding: 'valid', name }), ins[0]);
            break;
          case 'flatten':
            out = apply(tf.layers.flatten({ name }), ins[0]);
            break;
          default:
            throw new CompileError(`node ${(node as ArchNode).id}: unknown op ${(node as { op: string }).op}`);
        }
      } catch (err) {
        if (err instanceof CompileError) throw err;
        const shapes = ins.map((t) => `[${t.shape.map((d) => (d === null ? 'batch' : d)).join(', ')}]`).join(', ');
        throw new CompileError(`node ${node.id} (${node.op}) on input shape ${shapes || '-'}: ${(err as Error).message}`);
      }
      values.set(node.id, out);
    }
    const output = values.get(spec.arch.output)!;
    const shape = output.shape;
    if (shape.length !== 2) {
      throw new CompileError(
        `output node ${spec.arch.output} must give one vector of logits per sample, but its shape is ` +
          `[${shape.map((d) => (d === null ? 'batch' : d)).join(', ')}] (flatten first?)`,
      );
    }
    if (opts.numClasses !== undefined && shape[1] !== opts.numClasses) {
      throw new CompileError(`output node ${spec.arch.output} has ${shape[1]} units but the task has ${opts.numClasses} classes`);
    }
    return tf.model({ inputs: input!, outputs: output });
  } catch (err) {
    for (const l of created) {
      try {
        if (l.built) l.dispose();
      } catch {
        // already disposed
      }
    }
    throw err;
  }
}

/** Number of trainable + non-trainable parameters of a compiled model. */
export function countParams(model: tf.LayersModel): number {
  return model.countParams();
}
