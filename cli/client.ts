import { Client, WorkflowNotFoundError, type WorkflowHandle } from '@temporalio/client';
import { connectTemporal } from '../server/embedded-server.ts';
import { UserError } from '../server/user-error.ts';
import type { CampaignStatus } from '../workflows/types.ts';
import { statusQuery } from '../workflows/messages.ts';

// The CLI's view of Temporal: a client on the embedded server or on TEMPORAL_ADDRESS.

export interface ArloClient {
  client: Client;
  address: string;
  namespace: string;
  uiUrl: string | undefined;
  embedded: boolean;
  close(): Promise<void>;
}

export async function openClient(opts: { start?: boolean } = {}): Promise<ArloClient> {
  const t = await connectTemporal({ start: opts.start ?? true });
  const client = new Client({ connection: t.connection, namespace: t.namespace });
  return {
    client,
    address: t.address,
    namespace: t.namespace,
    uiUrl: t.uiUrl,
    embedded: t.embedded,
    close: () => t.connection.close(),
  };
}

export function campaignWorkflowId(campaignId: string): string {
  return `campaign-${campaignId}`;
}

export function campaignHandle(c: ArloClient, campaignId: string): WorkflowHandle {
  return c.client.workflow.getHandle(campaignWorkflowId(campaignId));
}

/** Describes a campaign's latest run, or explains that there is none. */
export async function describeCampaign(c: ArloClient, campaignId: string) {
  try {
    return await campaignHandle(c, campaignId).describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) {
      throw new UserError(`no campaign "${campaignId}" on ${c.address} (namespace ${c.namespace})`, {
        hint: 'list campaigns with `arlo list`',
      });
    }
    throw err;
  }
}

export async function queryStatus(c: ArloClient, campaignId: string): Promise<CampaignStatus> {
  await describeCampaign(c, campaignId);
  return campaignHandle(c, campaignId).query(statusQuery);
}
