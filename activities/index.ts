import type { ActivityContext } from './context.ts';
import { createCampaignActivities } from './campaign.ts';
import { createLlmProposeActivity } from './llm-propose.ts';
import { createProposeActivity } from './propose.ts';
import { createRecordActivity } from './record.ts';
import { createTrainActivity } from './train.ts';

// Every activity a worker registers. Thin adapters over the pure modules and the history repo.

export function createActivities(ctx: ActivityContext) {
  return {
    ...createCampaignActivities(ctx),
    ...createProposeActivity(ctx),
    ...createLlmProposeActivity(ctx),
    ...createRecordActivity(ctx),
    ...createTrainActivity(ctx),
  };
}

export type Activities = ReturnType<typeof createActivities>;
