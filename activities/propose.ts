import { ApplicationFailure } from '@temporalio/common';
import { describeEdit, specHash } from '../arch/index.ts';
import { getAgent, type ExperimentSummary } from '../agents/index.ts';
import type { CampaignConfig } from '../config/campaign-config.ts';
import { getTemplate } from '../experiments/index.ts';
import { openHistory, type HistoryRepo, type ResultLine } from '../history/index.ts';
import { readExperimentFiles, readResultLines } from '../history/read.ts';
import type { ExperimentTemplate } from '../experiments/template.ts';
import type { Spec } from '../arch/spec.ts';
import type { ProposalLlmInfo } from '../agents/llm/types.ts';
import type { ProposedExperiment } from '../workflows/types.ts';
import type { ActivityContext } from './context.ts';

export interface ProposeActivityInput {
  config: CampaignConfig;
  n: number;
  /** Specs of experiments in flight: never proposed again. */
  pendingHashes: string[];
  /**
   * Set when the LLM agent gave up on experiment n (its answers did not validate): the evolution
   * agent proposes instead, and the record says so (`note`) and keeps what the LLM saw and said.
   */
  fallback?: {
    note: string;
    attachments: Record<string, string>;
    llm: ProposalLlmInfo;
  };
}

/** Built-in agent a campaign falls back to when its LLM cannot give a usable proposal. */
export const FALLBACK_AGENT = 'evolution';

/** Specs are loaded for this many recent non-failed experiments (the agent's working window). */
const MIN_SPEC_WINDOW = 16;

export function createProposeActivity(ctx: ActivityContext) {
  return {
    /**
     * Proposes experiment n from what the history branch records. Agents are deterministic given
     * (seed, n, history), so a retried or resumed proposal is the same proposal.
     */
    async propose(input: ProposeActivityInput): Promise<ProposedExperiment> {
      const { config, n } = input;
      const template = getTemplate(config.experiment);
      const repo = await openHistory(ctx.home);
      // (No commit shas needed: one cat-file call instead of a walk over the branch.)
      const lines = await readResultLines(repo, config.id);
      const champion = championLine(lines);

      if (champion === null) return baselineProposal(template, n, lines);
      const agent = input.fallback ? FALLBACK_AGENT : config.agent;

      const window = Math.max(MIN_SPEC_WINDOW, 2 * (config.agentOptions.population ?? 8));
      const history = await summaries(repo, config.id, lines, window, champion.n);
      const championSummary = history.find((h) => h.n === champion.n)!;
      try {
        const proposal = getAgent(agent).propose({
          template,
          champion: { ...championSummary, spec: championSummary.spec! },
          history,
          pendingHashes: input.pendingHashes,
          n,
          seed: config.seed,
          options: config.agentOptions,
        });
        return {
          n,
          agent: proposal.agent,
          hypothesis: proposal.hypothesis,
          rationale: proposal.rationale,
          expectedEffect: proposal.expectedEffect,
          edits: proposal.edits,
          editDescriptions: proposal.edits.map(describeEdit),
          parent: proposal.parent,
          spec: proposal.spec,
          specHash: proposal.specHash,
          note: input.fallback?.note ?? null,
          ...(input.fallback ? { attachments: input.fallback.attachments, llm: input.fallback.llm } : {}),
        };
      } catch (err) {
        // The agents are deterministic: the same inputs fail the same way, so retrying is useless.
        throw ApplicationFailure.nonRetryable((err as Error).message, 'ProposalFailed');
      }
    },
  };
}

/** Experiment n as the template's baseline model: the first experiment, or again while none has succeeded. */
export function baselineProposal(template: ExperimentTemplate, n: number, lines: ResultLine[]): ProposedExperiment {
  const spec = template.baseline;
  return {
    n,
    agent: 'baseline',
    hypothesis: `baseline: the ${template.name} template's model as given`,
    rationale: 'Every campaign first measures its starting point; later proposals are judged against it.',
    expectedEffect: null,
    edits: [],
    editDescriptions: [],
    parent: null,
    spec,
    specHash: specHash(spec),
    note: lines.length > 0 ? `no experiment has succeeded yet, so the baseline is trained again` : null,
  };
}

/** The latest kept experiment with a metric (the champion), or null. */
export function championLine(lines: ResultLine[]): ResultLine | null {
  let champion: ResultLine | null = null;
  for (const line of lines) if (line.status === 'kept' && line.metric !== null) champion = line;
  return champion;
}

/** Every finished experiment, with specs loaded for the champion and the most recent ones. */
async function summaries(
  repo: HistoryRepo,
  campaignId: string,
  lines: ResultLine[],
  window: number,
  championN: number,
): Promise<ExperimentSummary[]> {
  // Failed experiments have no population role, so the window counts the others.
  const recent = new Set<number>([championN]);
  for (let i = lines.length - 1; i >= 0 && recent.size <= window; i--) {
    if (lines[i]!.status !== 'failed') recent.add(lines[i]!.n);
  }
  // All the window's specs in one ls-tree + one cat-file --batch (not one git process per spec).
  const files = await readExperimentFiles(repo, campaignId, { ns: [...recent], names: ['spec.json'] });
  const specs = new Map([...files].map(([n, f]) => [n, f.files['spec.json'] ? (JSON.parse(f.files['spec.json']) as Spec) : null]));
  return lines.map((l) => ({
    n: l.n,
    spec: specs.get(l.n) ?? null,
    specHash: l.specHash,
    metric: l.metric,
    status: l.status,
  }));
}
