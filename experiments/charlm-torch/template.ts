import type { ArchNode, Spec } from '../../arch/spec.ts';
import type { ExperimentTemplate } from '../template.ts';

// A character-level language model on tinyshakespeare.txt (1,115,394 characters, 65 distinct),
// trained by PyTorch as an external job (job/train.py). The model reads CONTEXT characters,
// one-hot encoded and flattened (input shape [CONTEXT * VOCAB]), and gives VOCAB logits for the
// next character. job/train.py builds the network from the ArchSpec with arlo's interpreter
// (training/external/python/arlo_spec.py), so every edit, addBypass included, changes what
// trains. Metric: validation bits per character (val_bpc, lower is better) on a fixed set of
// windows from the last 10% of the text.
//
// Cost (2-vCPU machine, torch 1.13 CPU + OpenBLAS, 1 thread; other jobs shared the machine, so
// times vary): `import torch` ~2 s, then ~2.5 s per epoch of 32,768 windows for the baseline; one
// baseline experiment is 11-15 s wall. val_bpc after 4 epochs, seed 7, one run each
// (2026-11-29):
//   baseline (4 x 256 relu)                 3.082
//   + add bypass h1 -> h3 (b3 = h3 + h1)     3.064
//   + layerNorm after h1, h2, h3             3.038
//   learning rate 2e-3                      3.050
// (With 48k windows per epoch the baseline reaches 2.98.) Small differences, as expected of a
// short budget; the point of the template is a real, spec-driven PyTorch job a campaign steers.

export const CHARLM_CONTEXT = 16;
/** Distinct characters of tinyshakespeare.txt; job/train.py checks it against the file. */
export const CHARLM_VOCAB = 65;

function baseline(): Spec {
  const nodes: ArchNode[] = [{ id: 'x', op: 'input', shape: [CHARLM_CONTEXT * CHARLM_VOCAB] }];
  let prev = 'x';
  for (let i = 1; i <= 4; i++) {
    nodes.push({ id: `h${i}`, op: 'dense', inputs: [prev], units: 256, activation: 'relu' });
    prev = `h${i}`;
  }
  nodes.push({ id: 'logits', op: 'dense', inputs: [prev], units: CHARLM_VOCAB, activation: 'linear' });
  return {
    arch: { nodes, output: 'logits' },
    recipe: { optimizer: 'adam', learningRate: 1e-3, batchSize: 128, epochs: 4 },
  };
}

export const charlmTorchTemplate: ExperimentTemplate = {
  name: 'charlm-torch',
  description:
    `Predict the next character of Shakespeare (tinyshakespeare.txt, ${CHARLM_VOCAB} distinct characters) from the ` +
    `previous ${CHARLM_CONTEXT}, one-hot encoded and flattened, with an MLP trained by PyTorch (an external job). ` +
    'An epoch is 32,768 random training windows from the first 90% of the text. ' +
    'Metric: validation bits per character on the last 10% (val_bpc, lower is better).',
  metric: { name: 'val_bpc', direction: 'min' },
  numClasses: CHARLM_VOCAB,
  data: { kind: 'files', files: ['tinyshakespeare.txt'] },
  baseline: baseline(),
  editPolicy: {
    allowed: [
      'addBypass',
      'removeBypass',
      'insertLayer',
      'removeLayer',
      'setUnits',
      'setActivation',
      'addNorm',
      'setDropout',
      'setLearningRate',
    ],
    fixedDepth: false,
    // Bounds the cost of one experiment (~10-25 s on 2 cores).
    maxUnits: 256,
    maxEpochs: 4,
  },
  external: {
    command: [
      '/usr/bin/python3',
      'train.py',
      '--spec',
      '{spec}',
      '--out',
      '{out}',
      '--context',
      String(CHARLM_CONTEXT),
      '--windows-per-epoch',
      '32768',
      '--threads',
      '1',
    ],
    folder: 'experiments/charlm-torch/job',
    env: [],
    timeoutSeconds: 300,
    maxOutputBytes: 4 * 1024 * 1024,
    runner: 'local',
  },
};
