import type { CampaignResult, CampaignStatus } from '../../workflows/types.ts';
import { campaignHandle, describeCampaign, openClient } from '../client.ts';
import { trainingProgress } from '../follow.ts';
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
    const progress = await Promise.all(status.running.map((r) => trainingProgress(c, r.workflowId)));
    printStatus(status, progress);
  } finally {
    await c.close();
  }
}

export function printStatus(s: CampaignStatus, progress: Array<string | null> = []): void {
  const arrow = s.metric.direction === 'max' ? '↑' : '↓';
  console.log(`  ${s.agent} agent on ${s.experiment}; metric ${s.metric.name} ${arrow}; phase ${s.phase}`);
  const minutes =
    s.budget.minutes === null ? '' : `, ${s.budget.minutesLeft!.toFixed(1)} of ${s.budget.minutes} min left`;
  console.log(
    `  experiments: ${s.done} done (${s.kept} kept, ${s.failed} failed), ${s.running.length} running; ` +
      `budget ${s.budget.experimentsLeft} of ${s.budget.experiments} left${minutes}; ${s.budget.elapsedMinutes.toFixed(1)} min elapsed`,
  );
  const ev = s.evaluation ?? null;
  if (ev) {
    const test = ev.seeds >= 2 ? `${ev.test} at α=${ev.alpha}` : 'better once (one seed: no test)';
    const compute =
      s.budget.compute != null
        ? `; compute ${fmtCount(s.budget.computeUsed)} of ${fmtCount(s.budget.compute)} sample-epochs`
        : s.budget.computeUsed > 0
          ? `; compute ${fmtCount(s.budget.computeUsed)} sample-epochs`
          : '';
    console.log(`  evaluation: ${ev.seeds} seed${ev.seeds === 1 ? '' : 's'} per experiment, keep by ${test}${ev.rungs > 0 ? `, ${ev.rungs}-rung ladder` : ''}${compute}`);
  }
  if (s.baseline) {
    const floor = s.baseline.spread != null ? ` ± ${fmtMetric(s.baseline.spread)} (noise floor over ${s.baseline.seedMetrics?.length ?? '?'} seeds)` : '';
    console.log(`  baseline: #${s.baseline.n} ${s.metric.name}=${fmtMetric(s.baseline.metric)}${floor}${holdoutText(s.baseline)}`);
  }
  if (s.champion) {
    const gain = s.baseline ? s.champion.metric - s.baseline.metric : 0;
    const spread = s.champion.spread != null ? ` ± ${fmtMetric(s.champion.spread)}` : '';
    console.log(
      `  best:     #${s.champion.n} ${s.metric.name}=${fmtMetric(s.champion.metric)}${spread} (${gain >= 0 ? '+' : ''}${fmtMetric(gain)} vs baseline)${holdoutText(s.champion)} ${shorten(s.champion.hypothesis, 60)}`,
    );
  }
  s.running.forEach((r, i) => {
    console.log(`  running:  #${r.n} ${shorten(r.hypothesis, 90)}`);
    if (progress[i]) console.log(`            ${progress[i]}`);
  });
  if (s.message) console.log(color.yellow(`  ! ${s.message}`));
  const llm = llmLine(s);
  if (llm) console.log(`  ${llm}`);
  const notes = s.notes ?? [];
  for (const note of notes.slice(-3)) {
    const state = note.deliveredTo === null ? 'waiting for the next proposal' : `seen by experiment ${note.deliveredTo}`;
    console.log(`  note ${note.id} (${state}): ${shorten(note.text, 90)}`);
  }
  if (s.recent.length > 0) {
    console.log('  recent:');
    for (const line of s.recent.slice(-8)) console.log(`  ${experimentLine(line, s.metric.name, 110)}`);
  }
  const lessons = s.lessons ?? [];
  if (lessons.length > 0) {
    console.log('  lessons (from the recorded results):');
    for (const lesson of lessons.slice(0, 8)) console.log(`    ${shorten(lesson, 120)}`);
  }
}

/** ", holdout 0.6120 (gap +0.0110)": the champion's hidden-holdout check, if it ran. */
function holdoutText(ref: { metric: number; holdout?: number | null }): string {
  if (ref.holdout == null) return '';
  const gap = ref.metric - ref.holdout;
  return `, holdout ${fmtMetric(ref.holdout)} (gap ${gap >= 0 ? '+' : ''}${fmtMetric(gap)})`;
}

function fmtCount(x: number): string {
  return Math.round(x).toLocaleString('en-US');
}

/** "llm openai:gpt-4.1-mini: 12 calls, 34,567 tokens (30,000 in / 4,567 out), USD 0.0123; 65,433 of 100,000 tokens left" */
export function llmLine(s: CampaignStatus): string | null {
  if (!s.llm) return null;
  const u = s.llm.usage;
  const n = (x: number) => x.toLocaleString('en-US');
  const parts = [`llm ${s.llm.model}: ${u.calls} calls, ${n(u.totalTokens)} tokens (${n(u.inputTokens)} in / ${n(u.outputTokens)} out)`];
  if (u.usd !== null) parts[0] += `, USD ${u.usd.toFixed(4)}`;
  if (s.budget.tokens != null) parts.push(`${n(s.budget.tokensLeft ?? 0)} of ${n(s.budget.tokens)} tokens left`);
  if (s.budget.usd != null) parts.push(`USD ${(s.budget.usdLeft ?? 0).toFixed(4)} of ${s.budget.usd} left`);
  return parts.join('; ');
}
