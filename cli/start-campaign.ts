import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import type { CampaignConfig } from '../config/campaign-config.ts';
import { getTemplate } from '../experiments/index.ts';
import type { ExperimentTemplate } from '../experiments/template.ts';
import { UserError } from '../server/user-error.ts';
import { DEFAULT_TASK_QUEUES } from '../worker.ts';
import { CAMPAIGN_ID } from '../workflows/search-attributes.ts';
import type { CampaignInput, TaskQueues } from '../workflows/types.ts';
import { campaignWorkflowId, type ArloClient } from './client.ts';

/** Starts a campaign workflow; the template is checked here so a typo fails before anything runs. */
export async function startCampaign(
  c: ArloClient,
  config: CampaignConfig,
  taskQueues: TaskQueues = DEFAULT_TASK_QUEUES,
): Promise<void> {
  let template;
  try {
    template = getTemplate(config.experiment);
  } catch (err) {
    throw new UserError((err as Error).message, {
      hint: 'pick a template listed by `arlo start --help`, or csv:<file> for your own data',
    });
  }
  // csv:<relative path> becomes absolute here, so workers find the same file.
  config = { ...config, experiment: template.name };
  if (template.external && config.evaluation?.fidelity.some((r) => r.dataFraction !== undefined)) {
    throw new UserError(`evaluation.fidelity: ${template.name} is an external training job; arlo cannot give it a fraction of its data`, {
      hint: 'use epochs rungs only, e.g. fidelity: [{ epochs: 2 }, { epochs: 6 }]',
    });
  }
  const input: CampaignInput = { config, metric: template.metric, taskQueues, hasHoldout: hasHoldout(template) };
  try {
    await c.client.workflow.start('campaignWorkflow', {
      workflowId: campaignWorkflowId(config.id),
      taskQueue: taskQueues.main,
      args: [input],
      typedSearchAttributes: [{ key: CAMPAIGN_ID, value: config.id }],
      // A campaign id names one campaign for good; continuing a failed one is `arlo resume`.
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) {
      throw new UserError(`campaign "${config.id}" already exists`, {
        hint: `choose another --id, follow it with \`arlo status ${config.id}\`, or continue a failed one with \`arlo resume ${config.id}\``,
      });
    }
    throw err;
  }
}

/** True when the template's data has a hidden holdout split that the trainer can evaluate. */
export function hasHoldout(template: ExperimentTemplate): boolean {
  if (template.external) return false;
  const d = template.data;
  if (d.kind === 'teacher') return (d.holdoutSamples ?? 0) > 0;
  if (d.kind === 'csv') return (d.holdoutFraction ?? 0) > 0;
  return false;
}

export function defaultCampaignId(experiment: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${experiment}-${stamp}`;
}
