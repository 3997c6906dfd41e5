import type { Agent, Proposal, ProposeInput } from './types.ts';

// The A/A calibration agent: every proposal is the champion itself, unchanged. Any "improvement"
// it is credited with is noise, so the share of its proposals a campaign keeps measures the keep
// rule's false-positive rate (it should stay at or below evaluation.alpha).

export const noopAgent: Agent = {
  name: 'noop',
  propose(input: ProposeInput): Proposal {
    const { champion } = input;
    return {
      hypothesis: `A/A check: the champion (exp ${champion.n}) again, unchanged; a keep here is a false positive`,
      rationale:
        'Calibration: re-evaluating an unchanged model on the same seeds measures how often noise alone passes the keep rule.',
      edits: [],
      parent: champion.n,
      spec: champion.spec,
      specHash: champion.specHash,
      agent: 'noop',
      expectedEffect: 'none: any difference is noise',
    };
  },
};
