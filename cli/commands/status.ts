import type { CampaignResult, CampaignStatus } from '../../workflows/types.ts';
import { campaignHandle, describeCampaign, openClient } from '../client.ts';
import { color, experimentLine, fmtMetric, shorten } from '../format.ts';

/** `arlo status <id>`: progress, best so far and budget left (from the live workflow). */
export async function statusCommand(campaignId: string, opts: { json?: boolean }): Promise<void> {
  const c = await openClient();
  try {
    const d = await describeCampaign(c, campaignId);
    const handle = campaignHandle(c, campaignId);
    let status: CampaignStatus | null = null;
    let queryError: string | null = null;
    try {
      status = await c.client.withDeadline(Date.now() + 10_000, () => handle.query<CampaignStatus>('status'));
    } catch (err) {
      queryError = (err as Error).message;
    }
    const result = d.status.name === 'COMPLETED' ? ((await handle.result()) as CampaignResult) : null;
    if (opts.json) {
      console.log(JSON.stringify({ temporalStatus: d.status.name, status, result }, null, 2));
      return;
    }
    console.log(`campaign ${color.bold(campaignId)}: ${d.status.name.toLowerCase()} (workflow ${d.workflowId}, run ${d.runId})`);
    if (!status) {
      console.log(
        color.yellow(`no live status: ${queryError ?? 'unknown'}.`) +
          ` Is a worker running? Start one with \`arlo worker\`; \`arlo history ${campaignId}\` reads what is recorded.`,
      );
      return;
    }
    printStatus(status);
  } finally {
    await c.close();
  }
}

export function printStatus(s: CampaignStatus): void {
  const arrow = s.metric.direction === 'max' ? '↑' : '↓';
  console.log(`  ${s.agent} agent on ${s.experiment}; metric ${s.metric.name} ${arrow}; phase ${s.phase}`);
  const minutes =
    s.budget.minutes === null ? '' : `, ${s.budget.minutesLeft!.toFixed(1)} of ${s.budget.minutes} min left`;
  console.log(
    `  experiments: ${s.done} done (${s.kept} kept, ${s.failed} failed), ${s.running.length} running; ` +
      `budget ${s.budget.experimentsLeft} of ${s.budget.experiments} left${minutes}; ${s.budget.elapsedMinutes.toFixed(1)} min elapsed`,
  );
  if (s.baseline) console.log(`  baseline: #${s.baseline.n} ${s.metric.name}=${fmtMetric(s.baseline.metric)}`);
  if (s.champion) {
    const gain = s.baseline ? s.champion.metric - s.baseline.metric : 0;
    console.log(
      `  best:     #${s.champion.n} ${s.metric.name}=${fmtMetric(s.champion.metric)} (${gain >= 0 ? '+' : ''}${fmtMetric(gain)} vs baseline) ${shorten(s.champion.hypothesis, 60)}`,
    );
  }
  for (const r of s.running) console.log(`  running:  #${r.n} ${shorten(r.hypothesis, 90)}`);
  if (s.message) console.log(color.yellow(`  ! ${s.message}`));
  if (s.recent.length > 0) {
    console.log('  recent:');
    for (const line of s.recent.slice(-8)) console.log(`  ${experimentLine(line, s.metric.name, 110)}`);
  }
}
