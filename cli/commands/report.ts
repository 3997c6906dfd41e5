import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { generateReport } from '../../report/index.ts';
import { UserError } from '../../server/user-error.ts';
import { color, fmtMetric } from '../format.ts';
import { openReviewedCampaign } from '../review.ts';

/** `arlo report <id> [--out file.html]`: one self-contained HTML file with the campaign's charts. */
export async function reportCommand(campaignId: string, opts: { out?: string } = {}): Promise<string> {
  const c = await openReviewedCampaign(campaignId);
  const { html, data } = await generateReport({
    repo: c.repo,
    campaignId,
    createdAt: c.campaign.createdAt ?? null,
    template: c.template,
    agent: c.agent,
    seed: c.seed,
    metricName: c.metricName,
    direction: c.direction,
  });
  const out = resolve(opts.out ?? `${campaignId}-report.html`);
  try {
    await writeFile(out, html);
  } catch (err) {
    throw new UserError(`cannot write the report to ${out}: ${(err as Error).message}`, {
      hint: 'pass a writable path with --out',
      cause: err,
    });
  }
  const champ = data.champion ? `champion #${data.champion.n} ${data.metricName}=${fmtMetric(data.champion.metric)}` : 'no champion yet';
  console.log(
    `${color.bold('report')} of campaign ${campaignId}: ${data.counts.total} experiments, ${champ}\n  ${out} (${(html.length / 1024).toFixed(0)} KiB, self-contained: open it in any browser)`,
  );
  return out;
}
