import { getAgent, type ExperimentSummary, type LoadedSummary } from '../agents/index.ts';
import { specHash, type Spec } from '../arch/index.ts';
import { getTemplate } from '../experiments/index.ts';
import { runTrainingInThread } from '../training/run-in-thread.ts';
import { isBetter } from '../workflows/decide.ts';
import type { BenchSection } from './report.ts';

// Research efficiency: experiments needed to reach a target validation metric, `random` vs
// `evolution`, over several campaign seeds. The loop is the campaign's (propose → train → keep if
// better) without Temporal, which the overhead section measures on its own. Trainings are cached
// by spec hash: the same spec with the same training seed gives the same result.

export interface EfficiencyOptions {
  template: string;
  target: number;
  seeds: number[];
  maxExperiments: number;
  parallel: number;
  dataDir: string;
}

export async function benchEfficiency(opts: EfficiencyOptions): Promise<BenchSection> {
  const template = getTemplate(opts.template);
  const cache = new Map<string, Promise<number | null>>();
  let trainings = 0;
  const train = (spec: Spec): Promise<number | null> => {
    const key = specHash(spec);
    let p = cache.get(key);
    if (!p) {
      trainings++;
      p = runTrainingInThread({ template, spec, seed: 1, dataDir: opts.dataDir }).then(
        (r) => (r.diverged ? null : r.metrics[template.metric.name]!),
        () => null,
      );
      cache.set(key, p);
    }
    return p;
  };

  const runs: Array<{ agent: string; seed: number }> = [];
  for (const agent of ['random', 'evolution']) for (const seed of opts.seeds) runs.push({ agent, seed });
  const results: Array<{ agent: string; seed: number; reachedAt: number | null; best: number }> = [];
  const started = Date.now();

  const runOne = async ({ agent, seed }: { agent: string; seed: number }) => {
    const history: LoadedSummary[] = [];
    let champion: LoadedSummary | null = null;
    let reachedAt: number | null = null;
    for (let n = 1; n <= opts.maxExperiments && reachedAt === null; n++) {
      let spec: Spec = template.baseline;
      if (champion) {
        spec = getAgent(agent).propose({ template, champion, history: history as ExperimentSummary[], pendingHashes: [], n, seed }).spec;
      }
      const metric = await train(spec);
      const summary: LoadedSummary = {
        n,
        spec,
        specHash: specHash(spec),
        metric,
        status: metric === null ? 'failed' : 'discarded',
      };
      if (metric !== null && (champion === null || isBetter(template.metric, metric, champion.metric!))) {
        summary.status = 'kept';
        champion = summary;
      }
      history.push(summary);
      if (champion && (template.metric.direction === 'max' ? champion.metric! >= opts.target : champion.metric! <= opts.target)) reachedAt = n;
    }
    results.push({ agent, seed, reachedAt, best: champion?.metric ?? Number.NaN });
    process.stderr.write(`  efficiency: ${agent} seed ${seed}: ${reachedAt === null ? `not reached in ${opts.maxExperiments}` : `reached at ${reachedAt}`} (best ${champion?.metric?.toFixed(4)})\n`);
  };

  const queue = [...runs];
  await Promise.all(
    Array.from({ length: opts.parallel }, async () => {
      for (let r = queue.shift(); r; r = queue.shift()) await runOne(r);
    }),
  );

  const rows = ['random', 'evolution'].map((agent) => {
    const mine = results.filter((r) => r.agent === agent);
    // Not reaching the target within the cap counts as cap + 1 (a lower bound), so the median stays honest.
    const needed = mine.map((r) => r.reachedAt ?? opts.maxExperiments + 1).sort((a, b) => a - b);
    const median = needed[Math.floor((needed.length - 1) / 2)]!;
    const reached = mine.filter((r) => r.reachedAt !== null).length;
    const fmt = (x: number) => (x > opts.maxExperiments ? `>${opts.maxExperiments}` : String(x));
    return [agent, fmt(median), `${fmt(needed[0]!)}–${fmt(needed[needed.length - 1]!)}`, `${reached}/${mine.length}`, Math.max(...mine.map((r) => r.best))];
  });
  return {
    title: `4. Research efficiency on ${opts.template}: experiments to reach ${template.metric.name} ${template.metric.direction === 'max' ? '≥' : '≤'} ${opts.target}`,
    columns: ['agent', 'median experiments', 'range', 'seeds reaching target', `best ${template.metric.name}`],
    rows,
    notes: [
      `target: ${template.metric.name} ${template.metric.direction === 'max' ? '≥' : '≤'} ${opts.target} (the baseline counts as experiment 1; cap ${opts.maxExperiments} experiments; seeds ${opts.seeds.join(', ')})`,
      `${trainings} distinct trainings (cached by spec hash across runs), ${((Date.now() - started) / 1000).toFixed(0)} s`,
    ],
    json: { target: opts.target, maxExperiments: opts.maxExperiments, results, trainings },
  };
}
