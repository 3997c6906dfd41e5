import type { Activation } from './spec.ts';

// One typed change to a Spec. Every edit names the nodes it touches by id; applying it either
// yields a Spec that validates or throws an EditError that says which node and what is wrong.

export const EDIT_OPS = [
  'addBypass',
  'removeBypass',
  'insertLayer',
  'removeLayer',
  'setUnits',
  'setActivation',
  'addNorm',
  'setDropout',
  'setLearningRate',
  'setBatchSize',
  'setEpochs',
] as const;
export type EditOp = (typeof EDIT_OPS)[number];

/**
 * A path that skips nodes: the value of `from` joins the value of `to` with `merge`, and every
 * consumer of `to` then reads the merged value. For `add` with different widths a learned linear
 * projection (a dense node) is inserted on the bypass path.
 */
export interface AddBypass {
  op: 'addBypass';
  from: string;
  to: string;
  merge: 'add' | 'concat';
}
/** Removes a merge node made by addBypass (or any add/concat); consumers read its first input. */
export interface RemoveBypass {
  op: 'removeBypass';
  node: string;
}
/** Inserts a dense layer after `after`; consumers of `after` read the new layer. */
export interface InsertLayer {
  op: 'insertLayer';
  after: string;
  units: number;
  activation: Activation;
}
/** Removes a single-input node (dense, layerNorm, dropout, activation); consumers read its input. */
export interface RemoveLayer {
  op: 'removeLayer';
  node: string;
}
export interface SetUnits {
  op: 'setUnits';
  node: string;
  units: number;
}
export interface SetActivation {
  op: 'setActivation';
  node: string;
  activation: Activation;
}
/** Inserts a layerNorm after `after`. */
export interface AddNorm {
  op: 'addNorm';
  after: string;
}
/** Sets the dropout rate right after `after`, inserting a dropout node if none; rate 0 removes it. */
export interface SetDropout {
  op: 'setDropout';
  after: string;
  rate: number;
}
export interface SetLearningRate {
  op: 'setLearningRate';
  value: number;
}
export interface SetBatchSize {
  op: 'setBatchSize';
  value: number;
}
export interface SetEpochs {
  op: 'setEpochs';
  value: number;
}

export type Edit =
  | AddBypass
  | RemoveBypass
  | InsertLayer
  | RemoveLayer
  | SetUnits
  | SetActivation
  | AddNorm
  | SetDropout
  | SetLearningRate
  | SetBatchSize
  | SetEpochs;
