import type { ArchNode, Spec } from '../arch/spec.ts';
import type { ExperimentTemplate } from './template.ts';

// MEASUREMENTS: see the table below (filled in after tuning).

export interface DeepMlpConfig {
  depth: number;
  width: number;
  trainSamples: number;
  validationSamples: number;
  epochs: number;
  batchSize: number;
  learningRate: number;
  /** Seed of the teacher network and of the samples. */
  dataSeed: number;
}

export const DEEP_MLP_CONFIG: DeepMlpConfig = {
  depth: 24,
  width: 64,
  trainSamples: 16000,
  validationSamples: 4000,
  epochs: 3,
  batchSize: 128,
  learningRate: 1e-3,
  dataSeed: 7,
};

/** The plain deep MLP: input x, h1..hD dense relu, output `logits` (dense, linear). */
export function deepMlpBaseline(cfg: DeepMlpConfig = DEEP_MLP_CONFIG, classes = 10, features = 64): Spec {
  const nodes: ArchNode[] = [{ id: 'x', op: 'input', shape: [features] }];
  let prev = 'x';
  for (let i = 1; i <= cfg.depth; i++) {
    nodes.push({ id: `h${i}`, op: 'dense', inputs: [prev], units: cfg.width, activation: 'relu' });
    prev = `h${i}`;
  }
  nodes.push({ id: 'logits', op: 'dense', inputs: [prev], units: classes, activation: 'linear' });
  return {
    arch: { nodes, output: 'logits' },
    recipe: { optimizer: 'adam', learningRate: cfg.learningRate, batchSize: cfg.batchSize, epochs: cfg.epochs },
  };
}

export function makeDeepMlpTemplate(cfg: DeepMlpConfig = DEEP_MLP_CONFIG, name = 'deep-mlp'): ExperimentTemplate {
  return {
    name,
    description:
      `Make a deep plain MLP (${cfg.depth} hidden relu layers of ${cfg.width} units) train well on a synthetic ` +
      `task: a fixed random "teacher" network, y = argmax(W2 tanh(W1 x / 8)) with 128 hidden units, labels ` +
      `64-d Gaussian inputs into 10 classes (${cfg.trainSamples} train / ${cfg.validationSamples} validation ` +
      `samples, ${cfg.epochs} epochs). The depth is fixed: removing layers would win for the wrong reason. ` +
      `Metric: validation accuracy (higher is better).`,
    metric: { name: 'val_accuracy', direction: 'max' },
    numClasses: 10,
    data: {
      kind: 'teacher',
      features: 64,
      classes: 10,
      hidden: 128,
      inputScale: 8,
      trainSamples: cfg.trainSamples,
      validationSamples: cfg.validationSamples,
      seed: cfg.dataSeed,
    },
    baseline: deepMlpBaseline(cfg),
    editPolicy: {
      allowed: ['addBypass', 'removeBypass', 'setActivation', 'addNorm', 'setDropout', 'setLearningRate'],
      fixedDepth: true,
      maxUnits: cfg.width,
      maxEpochs: cfg.epochs,
    },
  };
}

export const deepMlpTemplate: ExperimentTemplate = makeDeepMlpTemplate();
