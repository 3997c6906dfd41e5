import Table from 'cli-table3';
import { listCampaignIds, openHistory, readCampaign, readResults } from '../../history/index.ts';
import { arloHome } from '../../server/arlo-home.ts';
import { UserError } from '../../server/user-error.ts';
import { color, decisionLabel, fmtDuration, fmtMetric, shorten } from '../format.ts';

/** `arlo history <id>`: every recorded experiment, from the campaign's git branch. */
export async function historyCommand(campaignId: string, opts: { json?: boolean }): Promise<void> {
  const repo = await openHistory(arloHome());
  if ((await readCampaign(repo, campaignId)) === null) {
    const known = await listCampaignIds(repo);
    throw new UserError(`no history for campaign "${campaignId}" in ${repo.dir}`, {
      hint:
        (known.length > 0 ? `campaigns recorded here: ${known.slice(-10).join(', ')}. ` : '') +
        'Check the id with `arlo list`, and that ARLO_HOME points at the home the worker used.',
    });
  }
  const lines = await readResults(repo, campaignId);
  if (opts.json) {
    console.log(JSON.stringify(lines, null, 2));
    return;
  }
  if (lines.length === 0) {
    console.log(`campaign ${campaignId}: no experiments recorded yet`);
    return;
  }
  const metricName = lines[0]!.metricName;
  const width = Math.max(80, process.stdout.columns ?? 100);
  const table = new Table({
    head: ['n', 'hypothesis', 'edits', metricName, 'decision', 'best', 'time'],
    style: { head: [], border: [], compact: true },
    colWidths: [5, Math.floor((width - 50) * 0.55), Math.floor((width - 50) * 0.45), 9, 11, 8, 8],
    wordWrap: false,
  });
  for (const l of lines) {
    table.push([
      l.n,
      shorten(l.hypothesis, 60),
      shorten((l.edits ?? []).join('; ') || '—', 40),
      l.status === 'failed' ? color.red('failed') : fmtMetric(l.metric),
      decisionLabel(l.status),
      fmtMetric(l.bestMetric),
      fmtDuration(l.durationMs),
    ]);
  }
  console.log(table.toString());
  const kept = lines.filter((l) => l.status === 'kept').length;
  const failed = lines.filter((l) => l.status === 'failed').length;
  console.log(
    `${lines.length} experiments (${kept} kept, ${failed} failed) on branch campaign/${campaignId} in ${repo.dir}`,
  );
}
