// Generates a large, realistic campaign history quickly, for benchmarks and scale tests:
// one branch `campaign/<id>` with one commit per experiment (with the real commit messages and
// trailers), experiment folders and results.jsonl in exactly the formats recordExperiment writes,
// and champion tags. Specs are real (random valid edits of the deep-mlp baseline, as the
// evolution agent makes them); metrics are synthetic. Built with one `git fast-import` stream.
//
//   npx tsx scripts/generate-history.ts --home /tmp/arlo-big --id big --n 10000 [--seed 1] [--force]
//
// Not a test fixture that is committed: run it when needed (scripts/bench-history.ts does).

import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createRng, type Rng } from '../agents/rng.ts';
import { mutate } from '../agents/mutate.ts';
import { describeEdit } from '../arch/describe.ts';
import { specHash } from '../arch/hash.ts';
import type { Spec } from '../arch/spec.ts';
import { getTemplate } from '../experiments/index.ts';
import {
  campaignJson,
  campaignMessage,
  curveToCsv,
  experimentMessage,
  jsonFile,
  metricsJson,
  resultLine,
} from '../history/format.ts';
import { openHistory } from '../history/repo.ts';
import { championTagName, experimentFolder } from '../history/slug.ts';
import type { ExperimentRecord } from '../history/types.ts';

export interface GenerateHistoryOptions {
  home: string;
  campaignId: string;
  experiments: number;
  seed?: number;
  /** Template whose baseline is mutated (default deep-mlp). */
  template?: string;
  /** Replace an existing branch of the same id (and its champion tags). */
  force?: boolean;
  /** Experiment folders and results.jsonl are written every this many commits (default 1000). */
  flushEvery?: number;
}

export interface GeneratedHistory {
  campaignId: string;
  experiments: number;
  kept: number;
  failed: number;
  champion: { n: number; metric: number };
  seconds: number;
}

/** Saturating synthetic effect of an edit kind on validation accuracy. */
const EFFECT: Record<string, number> = {
  addBypass: 0.03,
  removeBypass: -0.04,
  addNorm: 0.01,
  setActivation: 0.004,
  setDropout: -0.006,
  setLearningRate: 0.0,
  insertLayer: 0.002,
  removeLayer: -0.01,
  setUnits: 0.003,
  setBatchSize: 0,
  setEpochs: 0.004,
};

function gaussian(rng: Rng): number {
  const u = Math.max(rng.next(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
}

function round(x: number, digits = 6): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

interface Generated {
  n: number;
  spec: Spec;
  metric: number | null;
  /** The spec's "true" quality; the metric is it plus evaluation noise (noise is not inherited). */
  latent: number;
}

export async function generateHistory(opts: GenerateHistoryOptions): Promise<GeneratedHistory> {
  const started = Date.now();
  const N = opts.experiments;
  const id = opts.campaignId;
  const flushEvery = opts.flushEvery ?? 1000;
  const template = getTemplate(opts.template ?? 'deep-mlp');
  const metric = template.metric;
  const rng = createRng(opts.seed ?? 1);
  const repo = await openHistory(opts.home);

  const existing = await git(repo.dir, ['for-each-ref', '--format=%(refname)', `refs/heads/campaign/${id}`, `refs/tags/champion/${id}/`]);
  if (existing.trim()) {
    if (!opts.force) throw new Error(`campaign ${id} already exists in ${repo.dir}; pass --force to replace it`);
    const input = existing
      .trim()
      .split('\n')
      .map((ref) => `delete ${ref}\n`)
      .join('');
    await git(repo.dir, ['update-ref', '--stdin'], input);
  }

  const t0 = Date.parse('2025-01-01T00:00:00Z');
  const stamp = (ms: number) => `arlo <arlo@localhost> ${Math.floor(ms / 1000)} +0000`;
  const data = (s: string) => `data ${Buffer.byteLength(s)}\n${s}\n`;
  const child = spawn('git', ['fast-import', '--quiet'], { cwd: repo.dir, stdio: ['pipe', 'inherit', 'inherit'] });
  const exited = new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code ?? 1));
  });
  let buffered: string[] = [];
  let bufferedBytes = 0;
  const write = async (chunk: string): Promise<void> => {
    buffered.push(chunk);
    bufferedBytes += chunk.length;
    if (bufferedBytes > 1 << 20) await flushStream();
  };
  const flushStream = async (): Promise<void> => {
    if (buffered.length === 0) return;
    const text = buffered.join('');
    buffered = [];
    bufferedBytes = 0;
    if (!child.stdin.write(text)) await new Promise<void>((r) => child.stdin.once('drain', () => r()));
  };

  const ref = `refs/heads/campaign/${id}`;
  const config = {
    id,
    experiment: template.name,
    agent: 'evolution',
    seed: opts.seed ?? 1,
    budget: { experiments: N, minutes: null },
    concurrency: 2,
    agentOptions: {},
    metric,
  };
  const campaign = { campaignId: id, config, createdAt: new Date(t0).toISOString() };
  await write(
    `commit ${ref}\nmark :1\nauthor ${stamp(t0)}\ncommitter ${stamp(t0)}\n${data(campaignMessage(campaign))}` +
      `M 100644 inline campaign.json\n${data(campaignJson(campaign))}M 100644 inline results.jsonl\n${data('')}`,
  );

  const done: Generated[] = [];
  const results: string[] = [];
  let pendingFiles: string[] = [];
  let champion: { n: number; metric: number } | null = null;
  let kept = 0;
  let failed = 0;
  let clock = t0;
  const sign = metric.direction === 'max' ? 1 : -1;

  for (let n = 1; n <= N; n++) {
    let spec: Spec;
    let parent: Generated | null = null;
    let edits: ReturnType<typeof mutate>['edits'] = [];
    if (n === 1) {
      spec = template.baseline;
    } else {
      // Aging-evolution-like parent choice: the champion, or the best of a few recent ones.
      const recent = done.slice(-32).filter((g) => g.metric !== null);
      const champ = done[champion!.n - 1]!;
      if (rng.chance(0.4) || recent.length === 0) parent = champ;
      else {
        const sample = rng.sample(recent, 3);
        parent = sample.reduce((a, b) => (sign * (b.metric! - a.metric!) > 0 ? b : a));
      }
      const m = mutate(parent.spec, template, rng, 2);
      spec = m.spec;
      edits = m.edits;
    }
    const descriptions = edits.map(describeEdit);
    const isFailed = n > 1 && rng.chance(0.02);
    let latent = 0.3;
    if (parent !== null) {
      const room = metric.direction === 'max' ? 0.92 - parent.latent : parent.latent - 0.05;
      const effect = edits.reduce((s, e) => s + (EFFECT[e.op] ?? 0), 0);
      latent = parent.latent + sign * room * effect;
    }
    const value = isFailed ? null : round(Math.min(0.99, Math.max(0.02, latent + 0.006 * gaussian(rng))), 4);
    const better = value !== null && (champion === null || sign * (value - champion.metric) > 0);
    const championBefore = champion?.n ?? null;
    if (better) {
      champion = { n, metric: value! };
      kept++;
    }
    if (isFailed) failed++;
    const status = isFailed ? 'failed' : better ? 'kept' : 'discarded';
    const hypothesis =
      parent === null
        ? 'Baseline: the template model as given'
        : `${descriptions.join(' and ')} on exp ${parent.n} (${metric.name} ${parent.metric!.toFixed(4)}) will ${metric.direction === 'max' ? 'raise' : 'lower'} ${metric.name}`;
    const durationMs = Math.round(6000 + 8000 * rng.next());
    clock += durationMs + 500;
    const epochs = spec.recipe.epochs;
    const curve: Array<Record<string, number>> = [];
    if (value !== null) {
      for (let e = 1; e <= epochs; e++) {
        const frac = e / epochs;
        curve.push({
          epoch: e,
          epochs,
          loss: round(2.3 - 1.6 * frac * (value / 0.9) + 0.02 * gaussian(rng), 4),
          val_loss: round(2.3 - 1.5 * frac * (value / 0.9) + 0.02 * gaussian(rng), 4),
          val_accuracy: round(Math.max(0.05, value * (0.6 + 0.4 * frac) + (e === epochs ? 0 : 0.01 * gaussian(rng))), 4),
          seconds: round((durationMs / 1000) * frac, 2),
        });
      }
      curve[curve.length - 1]!.val_accuracy = value;
    }
    const rec: ExperimentRecord = {
      campaignId: id,
      n,
      workflowId: `${id}-exp-${n}`,
      status,
      hypothesis,
      proposal: {
        agent: n === 1 ? 'baseline' : 'evolution',
        hypothesis,
        rationale: parent === null ? 'Measure the template model first.' : `Tournament winner exp ${parent.n}; mutate it.`,
        expectedEffect: null,
        parent: parent?.n ?? null,
        edits,
        editDescriptions: descriptions,
        note: null,
      },
      spec,
      specHash: specHash(spec),
      metricName: metric.name,
      metric: value,
      metrics: value === null ? {} : { val_accuracy: value, val_loss: curve.at(-1)!.val_loss!, train_loss: curve.at(-1)!.loss!, diverged: false },
      curve,
      decision: {
        reason: isFailed
          ? 'training failed'
          : better
            ? `${metric.name} ${value!.toFixed(4)} beats the champion`
            : `${metric.name} ${value!.toFixed(4)} does not beat the champion exp ${champion!.n} (${champion!.metric.toFixed(4)})`,
        championBefore,
        championAfter: champion?.n ?? null,
        bestMetric: champion?.metric ?? null,
      },
      error: isFailed ? { class: 'TrainingDiverged', message: 'loss became NaN in epoch 1' } : null,
      durationMs,
      recordedAt: new Date(clock).toISOString(),
      ...(n % 10 === 0 ? { attachments: { 'log.txt': `epoch 1/${epochs}\nepoch ${epochs}/${epochs}\ndone\n` } } : {}),
    };
    done.push({ n, spec, metric: value, latent });
    results.push(resultLine(rec));
    const folder = experimentFolder(n, hypothesis);
    pendingFiles.push(
      `M 100644 inline ${folder}/proposal.json\n${data(jsonFile(rec.proposal))}`,
      `M 100644 inline ${folder}/spec.json\n${data(jsonFile(rec.spec))}`,
      `M 100644 inline ${folder}/metrics.json\n${data(metricsJson(rec))}`,
      `M 100644 inline ${folder}/curve.csv\n${data(curveToCsv(rec.curve))}`,
      ...Object.entries(rec.attachments ?? {}).map(([name, text]) => `M 100644 inline ${folder}/${name}\n${data(text)}`),
    );
    let commit = `commit ${ref}\nmark :${n + 1}\nauthor ${stamp(clock)}\ncommitter ${stamp(clock)}\n${data(experimentMessage(rec))}`;
    // Folders and results.jsonl are added in batches: every commit rewriting a growing root tree
    // and results.jsonl would make the stream quadratic in N. Readers only look at the tip.
    if (n % flushEvery === 0 || n === N) {
      commit += pendingFiles.join('') + `M 100644 inline results.jsonl\n${data(`${results.join('\n')}\n`)}`;
      pendingFiles = [];
    }
    await write(commit);
    if (better) await write(`reset refs/tags/${championTagName(id, n)}\nfrom :${n + 1}\n\n`);
  }
  await flushStream();
  child.stdin.end();
  const code = await exited;
  if (code !== 0) throw new Error(`git fast-import exited with code ${code}`);
  return {
    campaignId: id,
    experiments: N,
    kept,
    failed,
    champion: champion!,
    seconds: (Date.now() - started) / 1000,
  };
}

function git(cwd: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn('git', args, { cwd, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'inherit'] });
    let out = '';
    p.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`git ${args[0]} exited with code ${code}`))));
    if (input !== undefined) p.stdin!.end(input);
  });
}

async function cli(): Promise<void> {
  const { values } = parseArgs({
    options: {
      home: { type: 'string' },
      id: { type: 'string', default: 'big' },
      n: { type: 'string', default: '10000' },
      seed: { type: 'string', default: '1' },
      template: { type: 'string', default: 'deep-mlp' },
      force: { type: 'boolean', default: false },
    },
  });
  if (!values.home) {
    process.stderr.write('usage: npx tsx scripts/generate-history.ts --home <dir> [--id big] [--n 10000] [--seed 1] [--force]\n');
    process.exit(2);
  }
  const result = await generateHistory({
    home: values.home,
    campaignId: values.id!,
    experiments: Number(values.n),
    seed: Number(values.seed),
    template: values.template,
    force: values.force,
  });
  console.log(
    `campaign ${result.campaignId}: ${result.experiments} experiments (${result.kept} kept, ${result.failed} failed), ` +
      `champion #${result.champion.n} ${result.champion.metric.toFixed(4)}, written in ${result.seconds.toFixed(1)} s to ${values.home}/history`,
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  cli().catch((err) => {
    process.stderr.write(`generate-history: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
