import type { Spec } from '../../arch/spec.ts';
import type { ExperimentTemplate } from '../template.ts';
import { digitsTemplate } from '../digits.ts';

// The `digits` task (UCI handwritten digits, digits.csv) trained by PyTorch as an external job
// (job/train.py) instead of TF.js: same baseline, same edits, same metric. job/train.py builds
// the network from the ArchSpec (training/external/python/arlo_spec.py); an input of shape [64]
// gets pixel vectors, [8, 8, 1] gets images (conv2d and maxPool2d work too). One experiment takes
// ~2-3 s, most of it `import torch`.

const baseline: Spec = structuredClone(digitsTemplate.baseline);

export const digitsTorchTemplate: ExperimentTemplate = {
  name: 'digits-torch',
  description:
    'Classify 8x8 handwritten digits (1797 samples, 10 classes) with a small MLP trained by PyTorch (an external job). ' +
    'Metric: validation accuracy on a fixed stratified 20% split (higher is better).',
  metric: { name: 'val_accuracy', direction: 'max' },
  numClasses: 10,
  data: { kind: 'files', files: ['digits.csv'] },
  baseline,
  editPolicy: structuredClone(digitsTemplate.editPolicy),
  external: {
    command: ['/usr/bin/python3', 'train.py', '--spec', '{spec}', '--out', '{out}', '--threads', '1'],
    folder: 'experiments/digits-torch/job',
    env: [],
    timeoutSeconds: 120,
    maxOutputBytes: 1024 * 1024,
    runner: 'local',
  },
};
