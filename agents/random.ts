import { specHash } from '../arch/hash.ts';
import { MAX_PROPOSAL_ATTEMPTS, triedHashes } from './dedupe.ts';
import { explainEdits } from './explain.ts';
import { mutate } from './mutate.ts';
import { createRng, deriveSeed } from './rng.ts';
import type { Agent, Proposal, ProposeInput } from './types.ts';

// Random search around the champion: the baseline every smarter agent has to beat.

const DEFAULT_MAX_EDITS = 2;

export const randomAgent: Agent = {
  name: 'random',
  propose(input: ProposeInput): Proposal {
    const { template, champion } = input;
    const rng = createRng(deriveSeed(input.seed, input.n));
    const maxEdits = input.options?.['maxEdits'] ?? DEFAULT_MAX_EDITS;
    const tried = triedHashes(input);
    let lastProblem = 'every mutation produced a spec that was already tried or is in flight';
    for (let attempt = 0; attempt < MAX_PROPOSAL_ATTEMPTS; attempt++) {
      let mutation;
      try {
        mutation = mutate(champion.spec, template, rng, maxEdits);
      } catch (error) {
        lastProblem = (error as Error).message;
        continue;
      }
      const hash = specHash(mutation.spec);
      if (tried.has(hash)) continue;
      const { hypothesis, expectedEffect } = explainEdits(mutation.edits, champion, 'champion', template);
      return {
        hypothesis,
        rationale: `Random search: ${mutation.edits.length} random edit(s) of the champion (exp ${champion.n}), a baseline for the guided agents; found on attempt ${attempt + 1}.`,
        edits: mutation.edits,
        parent: champion.n,
        spec: mutation.spec,
        specHash: hash,
        agent: 'random',
        expectedEffect,
      };
    }
    throw new Error(
      `random agent: no new spec after ${MAX_PROPOSAL_ATTEMPTS} attempts mutating the champion (exp ${champion.n}) on template "${template.name}"; ${lastProblem}. The search space around the champion may be exhausted: allow more edit kinds or larger limits.`,
    );
  },
};
