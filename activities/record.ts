import { computeLessons } from '../agents/llm/lessons.ts';
import { openHistory, readResults, recordExperiment, tagChampion, type ExperimentRecord } from '../history/index.ts';
import type { ActivityContext } from './context.ts';

export function createRecordActivity(ctx: ActivityContext) {
  return {
    /**
     * Commits one experiment to the campaign's history branch. Idempotent by (campaign, n): a
     * retried record returns the existing commit instead of making a second one. Returns the
     * campaign's lessons (research memory) recomputed from the recorded results.
     */
    async recordExperiment(record: ExperimentRecord): Promise<{ commit: string; created: boolean; lessons: string[] }> {
      const repo = await openHistory(ctx.home);
      const result = await recordExperiment(repo, record);
      if (record.status === 'kept') await tagChampion(repo, record.campaignId, record.n, result.commit);
      const lessons = computeLessons(await readResults(repo, record.campaignId));
      return { ...result, lessons };
    },
  };
}
