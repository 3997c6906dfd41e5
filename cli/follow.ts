import { defaultPayloadConverter } from '@temporalio/common';
import type { CampaignResult, CampaignStatus } from '../workflows/types.ts';
import { campaignHandle, type ArloClient } from './client.ts';
import { color, experimentLine, fmtMetric } from './format.ts';

// Live progress of a campaign: one line per finished experiment, plus (on a terminal) a status
// line for the experiment in training, fed by its activity heartbeats.

export interface FollowOptions {
  pollMs?: number;
  out?: NodeJS.WritableStream & { isTTY?: boolean };
}

export async function followCampaign(c: ArloClient, campaignId: string, opts: FollowOptions = {}): Promise<CampaignResult> {
  const out = opts.out ?? process.stdout;
  const live = out.isTTY === true;
  const handle = campaignHandle(c, campaignId);
  // Experiments finish out of order when several train at once: remember each one printed.
  const printed = new Set<number>();
  let lastMessage: string | null = null;
  let liveLine = false;
  const clearLive = () => {
    if (liveLine) out.write('\r\x1b[2K');
    liveLine = false;
  };

  const resultPromise = handle.result() as Promise<CampaignResult>;
  let settled = false;
  resultPromise.then(
    () => (settled = true),
    () => (settled = true),
  );

  for (;;) {
    let status: CampaignStatus | null = null;
    try {
      status = await c.client.withDeadline(Date.now() + 10_000, () => handle.query<CampaignStatus>('status'));
    } catch {
      // A query can fail while a worker restarts; the next poll tries again.
    }
    if (status) {
      for (const line of status.recent.filter((l) => !printed.has(l.n))) {
        clearLive();
        out.write(`${experimentLine(line, status.metric.name)}\n`);
        printed.add(line.n);
      }
      if (status.message && status.message !== lastMessage) {
        clearLive();
        out.write(`${color.yellow('!')} ${status.message}\n`);
      }
      lastMessage = status.message;
      if (live && status.running.length > 0) {
        const progress = await trainingProgress(c, status.running[0]!.workflowId);
        clearLive();
        out.write(
          `  … #${status.running[0]!.n} training${progress ? ` ${progress}` : ''}  ` +
            `(${status.done}/${status.budget.experiments} done, best ${fmtMetric(status.champion?.metric)})`,
        );
        liveLine = true;
      }
    }
    if (settled) break;
    await Promise.race([sleep(opts.pollMs ?? 1000), resultPromise.catch(() => undefined)]);
  }
  clearLive();
  return await resultPromise;
}

/**
 * "epoch 2/3 loss 1.234 val_accuracy 0.612" from the latest heartbeat of an experiment's training
 * (TF.js epochs, or an external job's progress lines: step, loss and any val_* metric).
 */
export async function trainingProgress(c: ArloClient, experimentWorkflowId: string): Promise<string | null> {
  try {
    const d = await c.client.workflow.getHandle(experimentWorkflowId).describe();
    const pending = d.raw.pendingActivities?.[0];
    const payload = pending?.heartbeatDetails?.payloads?.[0];
    if (!payload) return null;
    const beat = defaultPayloadConverter.fromPayload(payload as never) as Record<string, unknown> | null;
    if (!beat || typeof beat !== 'object') return null;
    const parts: string[] = [];
    if (typeof beat.epoch === 'number') parts.push(`epoch ${beat.epoch}/${typeof beat.epochs === 'number' ? beat.epochs : '?'}`);
    if (typeof beat.step === 'number') parts.push(`step ${beat.step}`);
    if (typeof beat.loss === 'number') parts.push(`loss ${fmtMetric(beat.loss, 3)}`);
    for (const [k, v] of Object.entries(beat)) if (k.startsWith('val_') && typeof v === 'number') parts.push(`${k} ${fmtMetric(v, 3)}`);
    return parts.length > 0 ? parts.join(' ') : null;
  } catch {
    return null;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
