import { pauseSignal, stopSignal, unpauseSignal } from '../../workflows/messages.ts';
import { UserError } from '../../server/user-error.ts';
import { campaignHandle, describeCampaign, openClient } from '../client.ts';

/** `arlo pause|unpause|stop <id>` */
export async function signalCommand(kind: 'pause' | 'unpause' | 'stop', campaignId: string): Promise<void> {
  const c = await openClient();
  try {
    const d = await describeCampaign(c, campaignId);
    if (d.status.name !== 'RUNNING') {
      throw new UserError(`campaign "${campaignId}" is ${d.status.name.toLowerCase()}, so there is nothing to ${kind}`, {
        hint: d.status.name === 'COMPLETED' ? 'see its results with `arlo history ' + campaignId + '`' : `continue it with \`arlo resume ${campaignId}\``,
      });
    }
    const handle = campaignHandle(c, campaignId);
    if (kind === 'pause') await handle.signal(pauseSignal, 'paused by a human (`arlo pause`)');
    if (kind === 'unpause') await handle.signal(unpauseSignal);
    if (kind === 'stop') await handle.signal(stopSignal);
    const what = {
      pause: 'pausing: experiments in flight finish, then no new ones start until `arlo unpause`',
      unpause: 'unpaused: proposing again',
      stop: 'stopping: experiments in flight finish and are recorded, then the campaign ends',
    }[kind];
    console.log(`campaign ${campaignId}: ${what}`);
  } finally {
    await c.close();
  }
}
