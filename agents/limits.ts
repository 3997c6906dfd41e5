import { DEFAULT_LIMITS, type SizeLimits } from '../arch/spec.ts';
import type { ExperimentTemplate } from '../experiments/template.ts';

/** The hard limits, tightened by what the template's edit policy allows agents to propose. */
export function limitsFor(template: ExperimentTemplate): SizeLimits {
  return {
    ...DEFAULT_LIMITS,
    maxUnits: Math.min(DEFAULT_LIMITS.maxUnits, template.editPolicy.maxUnits),
    maxEpochs: Math.min(DEFAULT_LIMITS.maxEpochs, template.editPolicy.maxEpochs),
  };
}
