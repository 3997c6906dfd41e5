// Measures the deep-mlp task: baseline vs. bypasses / layerNorm / learning rates, per seed, each
// training in its own worker thread (as campaigns run them). Prints a markdown table.
//
//   npx tsx training/bench-deep-mlp.ts [depth=24] [width=64] [n=16000] [nval=4000] [epochs=3]
//       [batch=128] [lr=0.001] [dseed=7] [seeds=1,2,3] [variants=plain,bypass,norm] [concurrency=1]
//
// Variants: plain | bypass (add every 2 layers: b3 = h3 + h1, b5 = h5 + b3, ... a residual
// stream) | bypass-raw (b3 = h3 + h1, b5 = h5 + h3: what addBypass edits from raw nodes give) |
// bypass-half (bypasses in the first half only) | norm (layerNorm after every hidden layer) |
// prenorm (residual stream + layerNorm inside each block) | lr=<value> (plain with that learning rate)
// | tanh (every hidden activation tanh) | shallow[=K] (only h1..hK, default 4: removing depth).

import type { ArchNode, Spec } from '../arch/spec.ts';
import { DEEP_MLP_CONFIG, makeDeepMlpTemplate, type DeepMlpConfig } from '../experiments/deep-mlp.ts';
import { runTrainingInThread } from './run-in-thread.ts';

export function deepMlpVariant(base: Spec, variant: string): Spec {
  const spec = structuredClone(base);
  if (variant.startsWith('lr=')) {
    spec.recipe.learningRate = Number(variant.slice(3));
    return spec;
  }
  if (variant === 'plain') return spec;
  if (variant === 'tanh') {
    for (const n of spec.arch.nodes) if (n.op === 'dense' && n.id !== spec.arch.output) n.activation = 'tanh';
    return spec;
  }
  if (variant.startsWith('shallow')) {
    // keep only h1..hK (default 4): what removing layers would give
    const k = Number(variant.split('=')[1] ?? 4);
    const keep = spec.arch.nodes.filter((n) => !/^h\d+$/.test(n.id) || Number(n.id.slice(1)) <= k);
    const out = keep.find((n) => n.id === spec.arch.output) as Extract<ArchNode, { op: 'dense' }>;
    out.inputs = [`h${k}`];
    spec.arch.nodes = keep;
    return spec;
  }
  const hidden = spec.arch.nodes.filter((n) => n.op === 'dense' && n.id !== spec.arch.output).map((n) => n.id);
  const D = hidden.length;
  const nodes: ArchNode[] = [spec.arch.nodes.find((n) => n.op === 'input')!];
  let prev = nodes[0].id;
  let stream = ''; // value carried by the residual path
  for (let i = 1; i <= D; i++) {
    const h = spec.arch.nodes.find((n) => n.id === `h${i}`)! as Extract<ArchNode, { op: 'dense' }>;
    nodes.push({ ...h, inputs: [prev] });
    prev = h.id;
    if (variant === 'norm' || (variant === 'prenorm' && i % 2 === 0)) {
      nodes.push({ id: `n${i}`, op: 'layerNorm', inputs: [prev] });
      prev = `n${i}`;
    }
    const bypass =
      (variant === 'bypass' || variant === 'bypass-raw' || variant === 'prenorm' || (variant === 'bypass-half' && i <= D / 2)) &&
      i % 2 === 1 &&
      i >= 3;
    if (bypass) {
      const from = variant === 'bypass-raw' ? `h${i - 2}` : stream;
      nodes.push({ id: `b${i}`, op: 'add', inputs: [prev, from] });
      prev = `b${i}`;
    }
    if (i % 2 === 1) stream = prev;
  }
  nodes.push({ ...(spec.arch.nodes.find((n) => n.id === spec.arch.output) as Extract<ArchNode, { op: 'dense' }>), inputs: [prev] });
  spec.arch.nodes = nodes;
  return spec;
}

async function main(): Promise<void> {
  const args = Object.fromEntries(
    process.argv.slice(2).map((a) => [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] as [string, string]),
  );
  const num = (k: string, d: number): number => (args[k] !== undefined ? Number(args[k]) : d);
  const cfg: DeepMlpConfig = {
    depth: num('depth', DEEP_MLP_CONFIG.depth),
    width: num('width', DEEP_MLP_CONFIG.width),
    trainSamples: num('n', DEEP_MLP_CONFIG.trainSamples),
    validationSamples: num('nval', DEEP_MLP_CONFIG.validationSamples),
    epochs: num('epochs', DEEP_MLP_CONFIG.epochs),
    batchSize: num('batch', DEEP_MLP_CONFIG.batchSize),
    learningRate: num('lr', DEEP_MLP_CONFIG.learningRate),
    dataSeed: num('dseed', DEEP_MLP_CONFIG.dataSeed),
  };
  const seeds = (args.seeds ?? '1,2,3').split(',').map(Number);
  const variants = (args.variants ?? 'plain,bypass,norm').split(',');
  const concurrency = num('concurrency', 1);
  const template = makeDeepMlpTemplate(cfg);
  console.log(`config ${JSON.stringify(cfg)}`);
  const jobs: Array<{ variant: string; seed: number }> = [];
  for (const variant of variants) for (const seed of seeds) jobs.push({ variant, seed });
  const rows = new Map<string, { acc: number[]; secs: number[]; wall: number[]; cpu: number[] }>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const { variant, seed } = jobs[next++];
      const spec = deepMlpVariant(template.baseline, variant);
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      const r = await runTrainingInThread({ template, spec, seed });
      const wall = (performance.now() - t0) / 1000;
      // Process CPU time (all threads): with concurrency 1 it is the worker's cost, less sensitive
      // than wall time to other load on the machine.
      const c = process.cpuUsage(c0);
      const cpu = (c.user + c.system) / 1e6;
      const row = rows.get(variant) ?? { acc: [], secs: [], wall: [], cpu: [] };
      row.cpu[seeds.indexOf(seed)] = cpu;
      row.acc[seeds.indexOf(seed)] = r.metrics.val_accuracy;
      row.secs[seeds.indexOf(seed)] = r.seconds;
      row.wall[seeds.indexOf(seed)] = wall;
      rows.set(variant, row);
      console.log(
        `${variant} seed ${seed}: val_acc ${r.metrics.val_accuracy.toFixed(3)} ` +
          `(epochs ${r.curve.map((c) => c.val_accuracy.toFixed(3)).join(' ')}) train ${r.seconds.toFixed(1)} s, ` +
          `wall ${wall.toFixed(1)} s, cpu ${cpu.toFixed(1)} s, params ${r.params}${r.diverged ? ' DIVERGED' : ''}`,
      );
    }
  };
  await Promise.all(Array.from({ length: concurrency }, () => worker()));
  console.log(`\n| variant | ${seeds.map((s) => `seed ${s}`).join(' | ')} | train s | wall s | cpu s |`);
  console.log(`|---|${seeds.map(() => '---|').join('')}---|---|---|`);
  for (const v of variants) {
    const r = rows.get(v)!;
    const mean = (a: number[]): string => (a.reduce((x, y) => x + y, 0) / a.length).toFixed(1);
    console.log(`| ${v} | ${r.acc.map((a) => a.toFixed(3)).join(' | ')} | ${mean(r.secs)} | ${mean(r.wall)} | ${concurrency === 1 ? mean(r.cpu) : '-'} |`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
