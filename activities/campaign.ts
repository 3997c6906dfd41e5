import type { CampaignConfig } from '../config/campaign-config.ts';
import type { MetricDef } from '../experiments/template.ts';
import { initCampaign, openHistory, readResults } from '../history/index.ts';
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
      return rebuildState(await readResults(repo, input.config.id));
    },
  };
}
