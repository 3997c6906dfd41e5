import type { ProposeInput } from './types.ts';

/** Every spec hash an agent must not propose again: finished, in flight, or the champion itself. */
export function triedHashes(input: ProposeInput): Set<string> {
  const tried = new Set<string>(input.pendingHashes);
  for (const experiment of input.history) tried.add(experiment.specHash);
  tried.add(input.champion.specHash);
  return tried;
}

/** Attempts at finding an unseen spec before an agent reports that it is stuck. */
export const MAX_PROPOSAL_ATTEMPTS = 50;
