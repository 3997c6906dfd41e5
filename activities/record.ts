import { openHistory, recordExperiment, tagChampion, type ExperimentRecord } from '../history/index.ts';
import type { ActivityContext } from './context.ts';

export function createRecordActivity(ctx: ActivityContext) {
  return {
    /**
     * Commits one experiment to the campaign's history branch. Idempotent by (campaign, n): a
     * retried record returns the existing commit instead of making a second one.
     */
    async recordExperiment(record: ExperimentRecord): Promise<{ commit: string; created: boolean }> {
      const repo = await openHistory(ctx.home);
      const result = await recordExperiment(repo, record);
      if (record.status === 'kept') await tagChampion(repo, record.campaignId, record.n, result.commit);
      return result;
    },
  };
}
