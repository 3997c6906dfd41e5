// The shared vocabulary of models: an ArchSpec graph plus the training recipe.
// Plain JSON only (no classes, Map or Set): specs travel through Temporal payloads and git.

export const ACTIVATIONS = ['linear', 'relu', 'tanh', 'sigmoid', 'elu', 'selu', 'gelu', 'swish'] as const;
export type Activation = (typeof ACTIVATIONS)[number];

export const NODE_OPS = [
  'input',
  'dense',
  'add',
  'concat',
  'layerNorm',
  'dropout',
  'activation',
  'conv2d',
  'maxPool2d',
  'flatten',
] as const;
export type NodeOp = (typeof NODE_OPS)[number];

interface NodeBase {
  /** Unique name; other nodes refer to it in `inputs`. */
  id: string;
}

export interface InputNode extends NodeBase {
  op: 'input';
  /** Shape of one sample, without the batch dimension: [features] or [height, width, channels]. */
  shape: number[];
}
export interface DenseNode extends NodeBase {
  op: 'dense';
  inputs: [string];
  units: number;
  activation: Activation;
}
export interface AddNode extends NodeBase {
  op: 'add';
  /** Two or more inputs of identical shape. */
  inputs: string[];
}
export interface ConcatNode extends NodeBase {
  op: 'concat';
  /** Two or more inputs, joined on the last axis. */
  inputs: string[];
}
export interface LayerNormNode extends NodeBase {
  op: 'layerNorm';
  inputs: [string];
}
export interface DropoutNode extends NodeBase {
  op: 'dropout';
  inputs: [string];
  rate: number;
}
export interface ActivationNode extends NodeBase {
  op: 'activation';
  inputs: [string];
  activation: Activation;
}
export interface Conv2dNode extends NodeBase {
  op: 'conv2d';
  inputs: [string];
  filters: number;
  kernelSize: number;
  strides: number;
  padding: 'same' | 'valid';
  activation: Activation;
}
export interface MaxPool2dNode extends NodeBase {
  op: 'maxPool2d';
  inputs: [string];
  poolSize: number;
  strides: number;
}
export interface FlattenNode extends NodeBase {
  op: 'flatten';
  inputs: [string];
}

export type ArchNode =
  | InputNode
  | DenseNode
  | AddNode
  | ConcatNode
  | LayerNormNode
  | DropoutNode
  | ActivationNode
  | Conv2dNode
  | MaxPool2dNode
  | FlattenNode;

/**
 * A model as a graph. Exactly one `input` node; `output` names the node whose value is the logits
 * (a rank-1 tensor of `numClasses` per sample). Node order in `nodes` is not significant.
 */
export interface ArchSpec {
  nodes: ArchNode[];
  output: string;
}

export interface Recipe {
  optimizer: 'adam' | 'sgd';
  learningRate: number;
  batchSize: number;
  epochs: number;
}

/** What one experiment trains: the architecture and how to train it. */
export interface Spec {
  arch: ArchSpec;
  recipe: Recipe;
}

/** Hard size limits; validation rejects anything beyond them, whoever proposed it. */
export interface SizeLimits {
  maxNodes: number;
  maxUnits: number;
  maxParams: number;
  maxEpochs: number;
  maxBatchSize: number;
  minLearningRate: number;
  maxLearningRate: number;
}

export const DEFAULT_LIMITS: SizeLimits = {
  maxNodes: 256,
  maxUnits: 4096,
  maxParams: 20_000_000,
  maxEpochs: 200,
  maxBatchSize: 4096,
  minLearningRate: 1e-6,
  maxLearningRate: 1,
};

export function nodeInputs(node: ArchNode): string[] {
  return node.op === 'input' ? [] : node.inputs;
}
