import { applyEdits, describeEdit, specHash, type Edit } from '../../arch/index.ts';
import type { CampaignConfig } from '../../config/campaign-config.ts';
import { getTemplate } from '../../experiments/index.ts';
import { initCampaign, openHistory, recordExperiment } from '../../history/index.ts';
import { limitsFor } from '../../agents/limits.ts';

// A campaign history in git with a few recorded experiments, for the LLM agent's activity tests.

export interface SeedExperiment {
  edits: Edit[];
  metric: number | null;
  status: 'kept' | 'discarded' | 'failed';
  error?: { class: string; message: string } | null;
}

/** Records the smoke baseline (experiment 1, kept at `baselineMetric`) and the given experiments, each applied to the baseline. */
export async function seedHistory(home: string, config: CampaignConfig, baselineMetric = 0.4, extra: SeedExperiment[] = []): Promise<void> {
  const template = getTemplate(config.experiment);
  const repo = await openHistory(home);
  await initCampaign(repo, { campaignId: config.id, config, createdAt: '2026-01-01T00:00:00.000Z' });
  const experiments = [{ edits: [] as Edit[], metric: baselineMetric, status: 'kept' as const, error: null }, ...extra];
  let n = 0;
  let champion = 0;
  for (const e of experiments) {
    n++;
    const spec = e.edits.length > 0 ? applyEdits(template.baseline, e.edits, limitsFor(template)) : template.baseline;
    if (e.status === 'kept') champion = n;
    await recordExperiment(repo, {
      campaignId: config.id,
      n,
      workflowId: `${config.id}-exp-${n}`,
      status: e.status,
      hypothesis: n === 1 ? 'baseline' : `try ${e.edits.map(describeEdit).join(', ')}`,
      proposal: { agent: n === 1 ? 'baseline' : 'test', parent: n === 1 ? null : 1, edits: e.edits, editDescriptions: e.edits.map(describeEdit) },
      spec,
      specHash: specHash(spec),
      metricName: template.metric.name,
      metric: e.metric,
      metrics: e.metric === null ? {} : { [template.metric.name]: e.metric },
      curve: [],
      decision: { reason: 'seeded', championBefore: null, championAfter: champion, bestMetric: baselineMetric },
      error: e.error ?? null,
      durationMs: 1000,
      recordedAt: `2026-01-01T00:0${n}:00.000Z`,
    });
  }
}
