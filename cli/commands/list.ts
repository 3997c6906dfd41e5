import Table from 'cli-table3';
import { BEST_METRIC, CAMPAIGN_ID, EXPERIMENTS_DONE } from '../../workflows/search-attributes.ts';
import { openClient } from '../client.ts';
import { fmtMetric } from '../format.ts';

/** `arlo list`: campaigns from Temporal visibility, newest first. */
export async function listCommand(opts: { json?: boolean; limit: number }): Promise<void> {
  const c = await openClient();
  try {
    const rows: Array<{ id: string; status: string; done: number | null; best: number | null; started: string }> = [];
    const seen = new Set<string>();
    for await (const wf of c.client.workflow.list({ query: "WorkflowType = 'campaignWorkflow'" })) {
      // Continue-as-new leaves one closed run per 50 experiments; the newest run speaks for all.
      if (seen.has(wf.workflowId)) continue;
      seen.add(wf.workflowId);
      const attrs = wf.typedSearchAttributes;
      rows.push({
        id: attrs.get(CAMPAIGN_ID) ?? wf.workflowId.replace(/^campaign-/, ''),
        status: wf.status.name.toLowerCase(),
        done: attrs.get(EXPERIMENTS_DONE) ?? null,
        best: attrs.get(BEST_METRIC) ?? null,
        started: wf.startTime.toISOString().replace('T', ' ').slice(0, 19),
      });
      if (rows.length >= opts.limit) break;
    }
    if (opts.json) {
      console.log(JSON.stringify(rows, null, 2));
      return;
    }
    if (rows.length === 0) {
      console.log('no campaigns yet: start one with `arlo start --experiment deep-mlp` or run `arlo demo`');
      return;
    }
    const table = new Table({ head: ['campaign', 'status', 'done', 'best', 'started (UTC)'], style: { head: [], border: [] } });
    for (const r of rows) table.push([r.id, r.status, r.done ?? '—', fmtMetric(r.best), r.started]);
    console.log(table.toString());
  } finally {
    await c.close();
  }
}
