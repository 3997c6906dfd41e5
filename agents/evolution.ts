import { specHash } from '../arch/hash.ts';
import type { MetricDirection } from '../experiments/template.ts';
import { MAX_PROPOSAL_ATTEMPTS, triedHashes } from './dedupe.ts';
import { explainEdits, formatMetric } from './explain.ts';
import { mutate } from './mutate.ts';
import { createRng, deriveSeed, type Rng } from './rng.ts';
import type { Agent, ExperimentSummary, Proposal, ProposeInput } from './types.ts';

// Regularized (aging) evolution, Real et al. 2019, "Regularized Evolution for Image Classifier
// Architecture Search". The population is the last P non-failed experiments, so an old lucky
// result ages out instead of dominating forever; parents come from small tournaments.

export const DEFAULT_POPULATION = 8;
export const DEFAULT_SAMPLE_SIZE = 3;
export const DEFAULT_MAX_EDITS = 2;
/** Most children differ by one edit so their effect can be attributed; some take two. */
const MULTI_EDIT_CHANCE = 0.25;

/** The last `size` non-failed experiments by n, oldest first. */
export function agingPopulation(history: readonly ExperimentSummary[], size: number): ExperimentSummary[] {
  const population: ExperimentSummary[] = [];
  const byN = isAscending(history) ? history : [...history].sort((a, b) => a.n - b.n);
  for (let i = byN.length - 1; i >= 0 && population.length < size; i--) {
    if (byN[i]!.status !== 'failed') population.push(byN[i]!);
  }
  return population.reverse();
}

function isAscending(history: readonly ExperimentSummary[]): boolean {
  for (let i = 1; i < history.length; i++) if (history[i]!.n < history[i - 1]!.n) return false;
  return true;
}

/** True if `a` is better than `b`; a missing metric loses, ties go to the newer experiment. */
export function isBetter(a: ExperimentSummary, b: ExperimentSummary, direction: MetricDirection): boolean {
  if (a.metric === null || b.metric === null) return a.metric !== null || (b.metric === null && a.n > b.n);
  if (a.metric !== b.metric) return direction === 'max' ? a.metric > b.metric : a.metric < b.metric;
  return a.n > b.n;
}

export interface Tournament {
  contestants: ExperimentSummary[];
  winner: ExperimentSummary;
}

export function tournament(population: readonly ExperimentSummary[], sampleSize: number, direction: MetricDirection, rng: Rng): Tournament {
  const contestants = rng.sample(population, Math.max(1, sampleSize));
  const winner = contestants.reduce((best, c) => (isBetter(c, best, direction) ? c : best));
  return { contestants, winner };
}

function positiveOption(options: Record<string, number> | undefined, key: string, fallback: number): number {
  const value = options?.[key];
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 ? value : fallback;
}

export const evolutionAgent: Agent = {
  name: 'evolution',
  propose(input: ProposeInput): Proposal {
    const { template, champion } = input;
    const direction = template.metric.direction;
    const metricName = template.metric.name;
    const populationSize = positiveOption(input.options, 'population', DEFAULT_POPULATION);
    const sampleSize = positiveOption(input.options, 'sampleSize', DEFAULT_SAMPLE_SIZE);
    const maxEdits = positiveOption(input.options, 'maxEdits', DEFAULT_MAX_EDITS);
    const rng = createRng(deriveSeed(input.seed, input.n));
    const tried = triedHashes(input);
    const population = agingPopulation(input.history, populationSize);
    const warmingUp = population.length < populationSize;
    let lastProblem = 'every child was already tried or is in flight';

    for (let attempt = 0; attempt < MAX_PROPOSAL_ATTEMPTS; attempt++) {
      // A fresh tournament per attempt: if one parent's neighbourhood is exhausted, try another.
      let parent: ExperimentSummary;
      let selection: string;
      if (warmingUp) {
        parent = champion;
        selection = `Warm-up: the population has ${population.length} of ${populationSize} non-failed experiments, so the champion (exp ${champion.n}, ${metricName} ${formatMetric(champion.metric)}) is mutated.`;
      } else {
        const { contestants, winner } = tournament(population, sampleSize, direction, rng);
        parent = winner;
        const field = contestants.map((c) => `exp ${c.n} (${formatMetric(c.metric)})`).join(', ');
        const window = `${population[0]!.n}–${population[population.length - 1]!.n}`;
        selection = `Tournament of ${contestants.length} drawn from the last ${population.length} non-failed experiments (exp ${window}): ${field}; exp ${winner.n} has the ${direction === 'max' ? 'highest' : 'lowest'} ${metricName}.`;
      }
      const editBudget = rng.chance(MULTI_EDIT_CHANCE) ? maxEdits : 1;
      let mutation;
      if (!parent.spec) throw new Error(`evolution agent: the spec of parent exp ${parent.n} was not loaded`);
      try {
        mutation = mutate(parent.spec, template, rng, editBudget);
      } catch (error) {
        lastProblem = (error as Error).message;
        continue;
      }
      const hash = specHash(mutation.spec);
      if (tried.has(hash)) continue;
      const { hypothesis, expectedEffect } = explainEdits(mutation.edits, { ...parent, spec: parent.spec }, 'parent', template);
      return {
        hypothesis,
        rationale: `${selection} The child applies ${mutation.edits.length} edit(s) to exp ${parent.n}${attempt > 0 ? ` (attempt ${attempt + 1}; earlier children were duplicates)` : ''}.`,
        edits: mutation.edits,
        parent: parent.n,
        spec: mutation.spec,
        specHash: hash,
        agent: 'evolution',
        expectedEffect,
      };
    }
    throw new Error(
      `evolution agent: no new spec after ${MAX_PROPOSAL_ATTEMPTS} attempts on template "${template.name}"; ${lastProblem}. The neighbourhood of the population may be exhausted: allow more edit kinds or larger limits.`,
    );
  },
};
