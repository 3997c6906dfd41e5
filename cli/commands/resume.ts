import { WorkflowIdReusePolicy, defaultPayloadConverter } from '@temporalio/common';
import { DEFAULT_TASK_QUEUES } from '../../worker.ts';
import { UserError } from '../../server/user-error.ts';
import { CAMPAIGN_ID } from '../../workflows/search-attributes.ts';
import type { CampaignInput } from '../../workflows/types.ts';
import { campaignHandle, campaignWorkflowId, describeCampaign, openClient, type ArloClient } from '../client.ts';

const RESUMABLE = new Set(['FAILED', 'TERMINATED', 'TIMED_OUT', 'CANCELLED']);

/**
 * `arlo resume <id>`: a new run of a campaign whose workflow failed, was terminated, cancelled or
 * timed out. The new run rebuilds its state from the history branch, so recorded experiments
 * are not run again.
 */
export async function resumeCommand(campaignId: string): Promise<{ resumed: boolean }> {
  const c = await openClient();
  try {
    const d = await describeCampaign(c, campaignId);
    const state = d.status.name;
    const said = state.toLowerCase().replace('_', ' '); // TIMED_OUT → "timed out"
    if (!RESUMABLE.has(state)) {
      const why =
        state === 'RUNNING'
          ? `is running; nothing to resume (see \`arlo status ${campaignId}\`)`
          : state === 'COMPLETED'
            ? `completed; nothing to resume (see \`arlo history ${campaignId}\`)`
            : `is ${said}; nothing to resume`;
      console.log(`campaign ${campaignId} ${why}`);
      return { resumed: false };
    }
    const input = await lastInput(c, campaignId);
    await c.client.workflow.start('campaignWorkflow', {
      workflowId: campaignWorkflowId(campaignId),
      taskQueue: input.taskQueues.main,
      args: [{ config: input.config, metric: input.metric, taskQueues: input.taskQueues } satisfies CampaignInput],
      typedSearchAttributes: [{ key: CAMPAIGN_ID, value: campaignId }],
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
    });
    console.log(
      `campaign ${campaignId}: resumed after ${said}; it continues from what campaign/${campaignId} records`,
    );
    return { resumed: true };
  } finally {
    await c.close();
  }
}

/** The input the latest run started with (its config, metric and task queues). */
async function lastInput(c: ArloClient, campaignId: string): Promise<CampaignInput> {
  const history = await campaignHandle(c, campaignId).fetchHistory();
  const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
  const payload = started?.input?.payloads?.[0];
  if (!payload) {
    throw new UserError(`cannot read the start input of campaign "${campaignId}"`, {
      hint: 'start a new campaign with the same settings instead',
    });
  }
  const input = defaultPayloadConverter.fromPayload(payload as never) as CampaignInput;
  return { ...input, taskQueues: input.taskQueues ?? DEFAULT_TASK_QUEUES };
}
