import { WorkflowUpdateFailedError } from '@temporalio/client';
import { steerUpdate } from '../../workflows/messages.ts';
import { UserError } from '../../server/user-error.ts';
import { campaignHandle, describeCampaign, openClient } from '../client.ts';

/** `arlo steer <id> "<text>"`: a note for the LLM agent's next prompt, acknowledged by the workflow. */
export async function steerCommand(campaignId: string, text: string): Promise<void> {
  const c = await openClient();
  try {
    const d = await describeCampaign(c, campaignId);
    if (d.status.name !== 'RUNNING') {
      throw new UserError(`campaign "${campaignId}" is ${d.status.name.toLowerCase()}, so no further proposal will read a note`, {
        hint: `see its results with \`arlo history ${campaignId}\``,
      });
    }
    let ack;
    try {
      ack = await campaignHandle(c, campaignId).executeUpdate(steerUpdate, { args: [text] });
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) {
        const cause = (err.cause as Error | undefined)?.message ?? err.message;
        throw new UserError(`campaign "${campaignId}" did not take the note: ${cause}`);
      }
      throw err;
    }
    console.log(`campaign ${campaignId}: ${ack.message}`);
  } finally {
    await c.close();
  }
}
