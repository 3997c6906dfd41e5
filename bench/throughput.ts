import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { forwardMacs, type ArchNode, type Spec } from '../arch/index.ts';
import type { ExperimentTemplate } from '../experiments/template.ts';
import { getTemplate } from '../experiments/index.ts';
import { makeDeepMlpTemplate } from '../experiments/deep-mlp.ts';
import { runTrainingInThread } from '../training/run-in-thread.ts';
import type { BackendName } from '../training/backend.ts';
import { percentile, type BenchSection } from './report.ts';

// Training throughput: the same ArchSpecs trained by arlo's TF.js trainer on each backend it can
// load and by PyTorch (Debian python3-torch, through arlo's ArchSpec interpreter), alternating
// A B A B in one run. GFLOP/s = 6 × forward MACs × samples/s (2 FLOPs per MAC, backward ≈ 2×).

function mlp(depth: number, width: number, bypassEvery: number | null): Spec {
  const nodes: ArchNode[] = [{ id: 'x', op: 'input', shape: [64] }];
  let prev = 'x';
  let skipFrom: string | null = null;
  for (let i = 1; i <= depth; i++) {
    nodes.push({ id: `h${i}`, op: 'dense', inputs: [prev], units: width, activation: 'relu' });
    prev = `h${i}`;
    if (bypassEvery && i % bypassEvery === 0) {
      if (skipFrom) {
        nodes.push({ id: `b${i}`, op: 'add', inputs: [prev, skipFrom] });
        prev = `b${i}`;
      }
      skipFrom = prev;
    }
  }
  nodes.push({ id: 'logits', op: 'dense', inputs: [prev], units: 10, activation: 'linear' });
  return { arch: { nodes, output: 'logits' }, recipe: { optimizer: 'adam', learningRate: 1e-3, batchSize: 128, epochs: 2 } };
}

interface Case {
  name: string;
  spec: Spec;
  template: ExperimentTemplate;
  shape: number[];
}

function cases(quick: boolean): Case[] {
  const samples = quick ? 2048 : 8192;
  const teacher = makeDeepMlpTemplate(
    { depth: 1, width: 8, trainSamples: samples, validationSamples: 256, epochs: 2, batchSize: 128, learningRate: 1e-3, dataSeed: 5 },
    'throughput',
  );
  const conv = getTemplate('digits-conv');
  const convSpec: Spec = { ...conv.baseline, recipe: { ...conv.baseline.recipe, batchSize: 128, epochs: 2 } };
  const all: Case[] = [
    { name: 'MLP depth 4 × 256', spec: mlp(4, 256, null), template: teacher, shape: [64] },
    { name: 'MLP depth 16 × 128', spec: mlp(16, 128, null), template: teacher, shape: [64] },
    { name: 'MLP depth 16 × 128 + bypass', spec: mlp(16, 128, 2), template: teacher, shape: [64] },
    { name: 'conv net on 8×8 digits', spec: convSpec, template: conv, shape: [8, 8, 1] },
  ];
  return quick ? all.slice(0, 2) : all;
}

interface TfjsRun {
  samplesPerSecond: number;
  setupSeconds: number;
  firstEpochExtraSeconds: number;
}

/** Two epochs; epoch 2 gives the steady rate, the rest is fixed cost (thread, backend, compile, first step). */
async function tfjsRun(c: Case, backend: BackendName, dataDir: string): Promise<TfjsRun> {
  const started = performance.now();
  const r = await runTrainingInThread({ template: c.template, spec: c.spec, seed: 1, dataDir, backend });
  const wall = (performance.now() - started) / 1000;
  const [e1, e2] = r.curve;
  const epoch2 = e2!.seconds - e1!.seconds;
  const trainRows = c.template.data.kind === 'teacher' ? c.template.data.trainSamples : 1797 * 0.7;
  return {
    samplesPerSecond: trainRows / epoch2,
    setupSeconds: wall - r.seconds,
    firstEpochExtraSeconds: e1!.seconds - epoch2,
  };
}

interface TorchOut {
  import_seconds: number;
  matmul_gflops: number;
  specs: Array<{ name: string; build_seconds: number; first_step_seconds: number; samples_per_second: number }>;
}

function torchRun(list: Case[], quick: boolean): TorchOut {
  const request = {
    threads: 2,
    specs: list.map((c) => ({ name: c.name, spec: c.spec, samples: quick ? 2048 : 8192, shape: c.shape, classes: 10 })),
  };
  const out = execFileSync('/usr/bin/python3', [join(import.meta.dirname, 'torch_throughput.py')], {
    input: JSON.stringify(request),
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', LANG: 'C.UTF-8' },
    timeout: 600_000,
  });
  return JSON.parse(out) as TorchOut;
}

export async function benchThroughput(opts: { quick: boolean; dataDir: string }): Promise<BenchSection> {
  const list = cases(opts.quick);
  const rounds = opts.quick ? 1 : 2;
  const tf: Record<string, Record<string, TfjsRun[]>> = { wasm: {}, cpu: {} };
  const torch: TorchOut[] = [];
  for (let round = 0; round < rounds; round++) {
    // A B A B: TF.js then PyTorch, twice, so drift on a shared machine hits both.
    for (const c of list) (tf.wasm![c.name] ??= []).push(await tfjsRun(c, 'wasm', opts.dataDir));
    torch.push(torchRun(list, opts.quick));
    process.stderr.write(`  throughput: round ${round + 1}/${rounds} done\n`);
  }
  // The cpu backend is 10-100× slower: one small case shows where it stands.
  const cpuCase = { ...list[0]!, template: makeDeepMlpTemplate({ depth: 1, width: 8, trainSamples: 512, validationSamples: 64, epochs: 2, batchSize: 128, learningRate: 1e-3, dataSeed: 5 }, 'cpu-probe') };
  tf.cpu![list[0]!.name] = [await tfjsRun(cpuCase, 'cpu', opts.dataDir)];

  const peak = Math.max(...torch.map((t) => t.matmul_gflops));
  const rows: Array<Array<string | number>> = [];
  for (const c of list) {
    const macs = forwardMacs(c.spec.arch);
    const torchRate = percentile(torch.map((t) => t.specs.find((s) => s.name === c.name)!.samples_per_second), 50);
    const gflops = (rate: number) => (6 * macs * rate) / 1e9;
    for (const backend of ['wasm', 'cpu']) {
      const runs = tf[backend]![c.name];
      if (!runs) continue;
      const rate = percentile(runs.map((r) => r.samplesPerSecond), 50);
      rows.push([c.name, `tfjs ${backend}`, rate, gflops(rate), `${(rate / torchRate).toFixed(2)}×`, `${((100 * gflops(rate)) / peak).toFixed(1)}%`]);
    }
    rows.push([c.name, 'pytorch', torchRate, gflops(torchRate), '1.00×', `${((100 * gflops(torchRate)) / peak).toFixed(1)}%`]);
  }
  const wasmRuns = Object.values(tf.wasm!).flat();
  const torchSpecs = torch.flatMap((t) => t.specs);
  return {
    title: '2. Training throughput (batch 128, same ArchSpecs, A B A B)',
    columns: ['spec', 'trainer', 'samples/s', 'GFLOP/s', 'vs PyTorch', 'of peak'],
    rows,
    notes: [
      `practical peak (2048² matmul, PyTorch, 2 threads): ${peak.toFixed(0)} GFLOP/s`,
      `fixed costs, TF.js wasm: worker thread + backend start + dataset ${percentile(wasmRuns.map((r) => r.setupSeconds), 50).toFixed(2)} s, ` +
        `compile + first steps ${percentile(wasmRuns.map((r) => r.firstEpochExtraSeconds), 50).toFixed(2)} s (median)`,
      `fixed costs, PyTorch: import torch ${percentile(torch.map((t) => t.import_seconds), 50).toFixed(2)} s, build ${percentile(torchSpecs.map((s) => s.build_seconds), 50).toFixed(3)} s, first step ${percentile(torchSpecs.map((s) => s.first_step_seconds), 50).toFixed(3)} s (median)`,
      'tfjs-node (backend "tensorflow") cannot be installed on these machines, so it is not measured',
    ],
    json: { tf, torch, peak },
  };
}
