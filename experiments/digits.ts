import { EDIT_OPS } from '../arch/edit.ts';
import type { Spec } from '../arch/spec.ts';
import type { ExperimentTemplate } from './template.ts';

// UCI optical digits (sklearn's load_digits): 1797 samples of 8x8 pixels with values 0..16, ten
// classes. File digits.csv in the data directory ($ARLO_DATA_DIR): 64 pixel columns, then the
// label, no header. 20% of rows (stratified, fixed by splitSeed) are the validation set.

const baseline: Spec = {
  arch: {
    nodes: [
      { id: 'x', op: 'input', shape: [64] },
      { id: 'h1', op: 'dense', inputs: ['x'], units: 64, activation: 'relu' },
      { id: 'logits', op: 'dense', inputs: ['h1'], units: 10, activation: 'linear' },
    ],
    output: 'logits',
  },
  recipe: { optimizer: 'adam', learningRate: 1e-3, batchSize: 64, epochs: 10 },
};

export const digitsTemplate: ExperimentTemplate = {
  name: 'digits',
  description:
    'Classify 8x8 handwritten digits (1797 samples, 10 classes) with a small MLP. ' +
    'Metric: validation accuracy on a fixed stratified 20% split (higher is better).',
  metric: { name: 'val_accuracy', direction: 'max' },
  numClasses: 10,
  data: {
    kind: 'csv',
    file: 'digits.csv',
    labelColumn: -1,
    featureScale: 16,
    validationFraction: 0.2,
    holdoutFraction: 0.1,
    splitSeed: 1234,
  },
  baseline,
  editPolicy: {
    allowed: [...EDIT_OPS],
    fixedDepth: false,
    maxUnits: 512,
    maxEpochs: 40,
  },
};

// The same data as 8x8x1 images and a small conv net: proves conv training works on wasm (with the
// Conv2DBackpropFilter kernel registered in training/backend.ts).
const convBaseline: Spec = {
  arch: {
    nodes: [
      { id: 'x', op: 'input', shape: [8, 8, 1] },
      { id: 'c1', op: 'conv2d', inputs: ['x'], filters: 16, kernelSize: 3, strides: 1, padding: 'same', activation: 'relu' },
      { id: 'p1', op: 'maxPool2d', inputs: ['c1'], poolSize: 2, strides: 2 },
      { id: 'c2', op: 'conv2d', inputs: ['p1'], filters: 32, kernelSize: 3, strides: 1, padding: 'same', activation: 'relu' },
      { id: 'f', op: 'flatten', inputs: ['c2'] },
      { id: 'logits', op: 'dense', inputs: ['f'], units: 10, activation: 'linear' },
    ],
    output: 'logits',
  },
  recipe: { optimizer: 'adam', learningRate: 2e-3, batchSize: 64, epochs: 10 },
};

export const digitsConvTemplate: ExperimentTemplate = {
  name: 'digits-conv',
  description:
    'Classify 8x8 handwritten digits (1797 samples, 10 classes) as 8x8x1 images with a small conv net. ' +
    'Metric: validation accuracy on a fixed stratified 20% split (higher is better).',
  metric: { name: 'val_accuracy', direction: 'max' },
  numClasses: 10,
  data: {
    kind: 'csv',
    file: 'digits.csv',
    labelColumn: -1,
    featureScale: 16,
    sampleShape: [8, 8, 1],
    validationFraction: 0.2,
    holdoutFraction: 0.1,
    splitSeed: 1234,
  },
  baseline: convBaseline,
  editPolicy: {
    allowed: ['addBypass', 'removeBypass', 'setUnits', 'setActivation', 'addNorm', 'setDropout', 'setLearningRate', 'setBatchSize', 'setEpochs'],
    fixedDepth: false,
    maxUnits: 256,
    maxEpochs: 30,
  },
};
