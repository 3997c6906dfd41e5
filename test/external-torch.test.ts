import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { applyEdit, countParams, type Spec } from '../arch/index.ts';
import { getTemplate } from '../experiments/index.ts';
import { runExternalJob } from '../training/external/run-job.ts';
import { PYTHON_HELPER } from '../training/external/workdir.ts';
import { tempHome } from './helpers/temporal-env.ts';

// Real PyTorch jobs (Debian python3-torch as /usr/bin/python3, CPU) through the external runner,
// and arlo's ArchSpec → torch.nn interpreter checked against the TypeScript side of arlo.

const DATA_DIR = process.env.ARLO_DATA_DIR ?? join(import.meta.dirname, '..', '..', 'shared', 'data');
const PYTHON = '/usr/bin/python3';

describe('PyTorch external jobs', () => {
  it('/usr/bin/python3 has torch (install python3-torch and libopenblas0-openmp)', async () => {
    const r = await execa(PYTHON, ['-c', 'import torch; print(torch.__version__)'], { reject: false });
    expect(r.exitCode, `${PYTHON} cannot import torch: ${r.stderr}`).toBe(0);
  });

  it('digits-torch: a real training reports val_accuracy, progress per epoch and the parameter count', async () => {
    const t = getTemplate('digits-torch');
    const home = tempHome('arlo-torch-');
    const events: Array<Record<string, unknown>> = [];
    const r = await runExternalJob({
      template: t,
      spec: t.baseline,
      seed: 1,
      dataDir: DATA_DIR,
      workdir: join(home, 'w'),
      jobName: 'digits',
      onProgress: (e) => events.push(e),
    });
    expect(r.metrics.val_accuracy).toBeGreaterThan(0.85);
    expect(r.metrics.val_accuracy).toBeLessThanOrEqual(1);
    expect(r.params).toBe(countParams(t.baseline.arch));
    expect(events.map((e) => e.epoch)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(r.curve).toHaveLength(10);
    expect(r.backend).toMatch(/^torch \S+ cpu \(external, local\)$/);
    expect(r.logTail).toContain('digits: 1438 train / 359 val');
    expect(JSON.parse(readFileSync(join(r.workdir, 'out', 'metrics.json'), 'utf8')).metrics.val_accuracy).toBe(r.metrics.val_accuracy);
  });

  it('digits-torch: every node kind trains, with hostile node ids taken as plain data', async () => {
    const t = getTemplate('digits-torch');
    const evil = '; rm -rf / #';
    const spec: Spec = {
      arch: {
        nodes: [
          { id: 'x', op: 'input', shape: [8, 8, 1] },
          { id: 'c1', op: 'conv2d', inputs: ['x'], filters: 8, kernelSize: 3, strides: 1, padding: 'same', activation: 'relu' },
          { id: 'p1', op: 'maxPool2d', inputs: ['c1'], poolSize: 2, strides: 2 },
          { id: 'c2', op: 'conv2d', inputs: ['p1'], filters: 16, kernelSize: 3, strides: 2, padding: 'same', activation: 'gelu' },
          { id: 'f', op: 'flatten', inputs: ['c2'] },
          { id: evil, op: 'dense', inputs: ['f'], units: 32, activation: 'swish' },
          { id: '$(reboot)', op: 'layerNorm', inputs: [evil] },
          { id: 'd', op: 'dropout', inputs: ['$(reboot)'], rate: 0.1 },
          { id: 'h2', op: 'dense', inputs: ['d'], units: 32, activation: 'linear' },
          { id: 'a', op: 'activation', inputs: ['h2'], activation: 'tanh' },
          { id: 'sum', op: 'add', inputs: ['a', evil] },
          { id: 'cat', op: 'concat', inputs: ['sum', 'f'] },
          { id: 'logits', op: 'dense', inputs: ['cat'], units: 10, activation: 'linear' },
        ],
        output: 'logits',
      },
      recipe: { optimizer: 'adam', learningRate: 3e-3, batchSize: 64, epochs: 6 },
    };
    const home = tempHome('arlo-torch-');
    const r = await runExternalJob({ template: t, spec, seed: 2, dataDir: DATA_DIR, workdir: join(home, 'w'), jobName: 'kinds' });
    expect(r.params).toBe(countParams(spec.arch)); // the interpreter builds the graph the TS side counts
    expect(r.metrics.val_accuracy).toBeGreaterThan(0.8);
    expect(existsSync('/')).toBe(true);
  });

  it('the interpreter: addBypass changes the charlm network, concat adds parameters, a cycle is refused', async () => {
    const t = getTemplate('charlm-torch');
    const base = t.baseline;
    const addBypass = applyEdit(base, { op: 'addBypass', from: 'h1', to: 'h3', merge: 'add' });
    const catBypass = applyEdit(base, { op: 'addBypass', from: 'h1', to: 'h3', merge: 'concat' });
    const cyclic: Spec = structuredClone(base);
    (cyclic.arch.nodes.find((n) => n.id === 'h1') as { inputs: string[] }).inputs = ['h2'];
    const script = String.raw`
import json, sys, torch
import arlo_spec
specs = json.loads(sys.stdin.read())
torch.manual_seed(0)
x = torch.rand(4, specs[0]["arch"]["nodes"][0]["shape"][0])
out = []
for s in specs[:3]:
    m = arlo_spec.build_model(s["arch"], seed=5).eval()
    out.append({"params": arlo_spec.count_params(m), "y": m(x).detach().flatten().tolist()[:50]})
try:
    arlo_spec.build_model(specs[3]["arch"])
    out.append("built")
except arlo_spec.SpecError as e:
    out.append(str(e))
print(json.dumps(out))
`;
    const r = await execa(PYTHON, ['-c', script], {
      input: JSON.stringify([base, addBypass, catBypass, cyclic]),
      env: { PYTHONPATH: join(PYTHON_HELPER, '..'), PYTHONDONTWRITEBYTECODE: '1' },
      extendEnv: false,
    });
    const [b, add, cat, cycle] = JSON.parse(r.stdout) as [
      { params: number; y: number[] },
      { params: number; y: number[] },
      { params: number; y: number[] },
      string,
    ];
    expect(b.params).toBe(countParams(base.arch));
    expect(add.params).toBe(countParams(addBypass.arch));
    expect(cat.params).toBe(countParams(catBypass.arch));
    expect(cat.params).toBeGreaterThan(b.params);
    // Same seed, same weights for the shared layers: only the bypass makes the outputs differ.
    const diff = Math.max(...b.y.map((v, i) => Math.abs(v - add.y[i]!)));
    expect(diff).toBeGreaterThan(1e-4);
    expect(cycle).toMatch(/cycle/);
  });
});
