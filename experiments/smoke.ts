import { makeDeepMlpTemplate } from './deep-mlp.ts';
import type { ExperimentTemplate } from './template.ts';

// A seconds-long version of deep-mlp: checks that a set-up works end to end (and keeps the test
// suite fast). Not a research task: its numbers mean little.
export const smokeTemplate: ExperimentTemplate = {
  ...makeDeepMlpTemplate(
    {
      depth: 4,
      width: 16,
      trainSamples: 1000,
      validationSamples: 500,
      epochs: 2,
      batchSize: 64,
      learningRate: 3e-3,
      dataSeed: 11,
    },
    'smoke',
  ),
  description:
    'A tiny deep-mlp (4 hidden layers of 16 units, 1,000 samples, 2 epochs) that trains in about a second: ' +
    'use it to check a set-up, not to draw conclusions. Metric: validation accuracy (higher is better).',
};
