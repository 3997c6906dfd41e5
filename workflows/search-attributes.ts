import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

// Search attributes arlo keeps current on every campaign, for `arlo list` and the Web UI.
// The embedded server registers them at start; `ensureSearchAttributes` does so on other servers.

export const CAMPAIGN_ID = defineSearchAttributeKey('CampaignId', SearchAttributeType.KEYWORD);
export const BEST_METRIC = defineSearchAttributeKey('BestMetric', SearchAttributeType.DOUBLE);
export const EXPERIMENTS_DONE = defineSearchAttributeKey('ExperimentsDone', SearchAttributeType.INT);
