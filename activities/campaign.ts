import type { CampaignConfig } from '../config/campaign-config.ts';
import type { MetricDef } from '../experiments/template.ts';
import { initCampaign, openHistory, readResults, type HistoryRepo } from '../history/index.ts';
import { readExperimentFiles } from '../history/read.ts';
import type { CampaignState } from '../workflows/types.ts';
import type { ActivityContext } from './context.ts';
import { rebuildState } from './rebuild-state.ts';

export interface OpenCampaignInput {
  config: CampaignConfig;
  metric: MetricDef;
  createdAt: string;
}

export function createCampaignActivities(ctx: ActivityContext) {
  return {
    /** Creates the campaign's history branch if needed and returns the state it records. */
    async openCampaign(input: OpenCampaignInput): Promise<CampaignState> {
      const repo = await openHistory(ctx.home);
      await initCampaign(repo, {
        campaignId: input.config.id,
        config: { ...input.config, metric: input.metric },
        createdAt: input.createdAt,
      });
      const state = rebuildState(await readResults(repo, input.config.id));
      await restoreHoldoutChecks(repo, input.config.id, state);
      return state;
    },
  };
}

/**
 * The champion's and baseline's holdout checks live in holdout.json (never in results.jsonl,
 * which prompts read); a resumed campaign shows them again in `status`.
 */
async function restoreHoldoutChecks(repo: HistoryRepo, campaignId: string, state: CampaignState): Promise<void> {
  const refs = [state.champion, state.baseline].filter((r) => r !== null);
  if (refs.length === 0) return;
  const files = await readExperimentFiles(repo, campaignId, { ns: refs.map((r) => r.n), names: ['holdout.json'] });
  for (const ref of refs) {
    const text = files.get(ref.n)?.files['holdout.json'];
    if (!text) continue;
    try {
      const holdout = (JSON.parse(text) as { holdout?: unknown }).holdout;
      if (typeof holdout === 'number') ref.holdout = holdout;
    } catch {
      // A damaged holdout.json only loses the display of the check, never a decision.
    }
  }
}
