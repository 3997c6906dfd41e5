import { diffSpecs, formatSpecDiff } from '../../arch/diff.ts';
import type { ExperimentRecord, ResultLine } from '../../history/index.ts';
import { readResultLines } from '../../history/read.ts';
import { color, fmtDuration, fmtMetric } from '../format.ts';
import { fmtCount, fmtSigned, gain, openReviewedCampaign, readExperimentOrFail, type ReviewedCampaign } from '../review.ts';
import { colourDiff, specCost } from './show.ts';

export interface MetricDelta {
  name: string;
  a: number | boolean | null;
  b: number | boolean | null;
  /** b - a, for numbers. */
  delta: number | null;
}

export interface DiffResult {
  campaignId: string;
  a: { n: number; status: string; metric: number | null; params: number | null; durationMs: number; hypothesis: string };
  b: { n: number; status: string; metric: number | null; params: number | null; durationMs: number; hypothesis: string };
  metricName: string;
  direction: 'max' | 'min';
  /** Improvement of b over a on the campaign metric (positive = b is better). */
  gain: number | null;
  specDiff: string[];
  metrics: MetricDelta[];
  /** The parent chain from a to b (a first) when b descends from a (or the reverse); else null. */
  lineage: number[] | null;
}

/** Parent chain a → … → b through the proposals' parents, when b descends from a. */
export function lineageBetween(lines: readonly ResultLine[], a: number, b: number): number[] | null {
  const parent = new Map(lines.map((l) => [l.n, l.parent ?? null]));
  for (const [from, to, flip] of [
    [a, b, false],
    [b, a, true],
  ] as const) {
    const chain: number[] = [to];
    let at: number | null = to;
    for (let guard = 0; at !== null && at !== from && guard < lines.length + 1; guard++) {
      at = parent.get(at) ?? null;
      if (at !== null) chain.push(at);
    }
    if (at === from) return flip ? chain : chain.reverse();
  }
  return null;
}

export function metricDeltas(a: ExperimentRecord, b: ExperimentRecord): MetricDelta[] {
  const names: string[] = [];
  for (const k of [...Object.keys(a.metrics ?? {}), ...Object.keys(b.metrics ?? {})]) if (!names.includes(k)) names.push(k);
  return names.map((name) => {
    const va = a.metrics?.[name] ?? null;
    const vb = b.metrics?.[name] ?? null;
    return { name, a: va, b: vb, delta: typeof va === 'number' && typeof vb === 'number' ? vb - va : null };
  });
}

export async function collectDiff(c: ReviewedCampaign, a: number, b: number): Promise<DiffResult> {
  const [ra, rb, lines] = await Promise.all([
    readExperimentOrFail(c, a),
    readExperimentOrFail(c, b),
    readResultLines(c.repo, c.campaignId),
  ]);
  const side = (r: ExperimentRecord) => ({
    n: r.n,
    status: r.status,
    metric: r.metric,
    params: specCost(r.spec).params,
    durationMs: r.durationMs,
    hypothesis: r.hypothesis,
  });
  return {
    campaignId: c.campaignId,
    a: side(ra),
    b: side(rb),
    metricName: c.metricName,
    direction: c.direction,
    gain: ra.metric !== null && rb.metric !== null ? gain(c.direction, rb.metric, ra.metric) : null,
    specDiff: formatSpecDiff(diffSpecs(ra.spec, rb.spec)),
    metrics: metricDeltas(ra, rb),
    lineage: lineageBetween(lines, a, b),
  };
}

/** `arlo diff <id> <a> <b>`: how b's model differs from a's, and what it changed in the metrics. */
export async function diffCommand(campaignId: string, a: number, b: number, opts: { json?: boolean } = {}): Promise<void> {
  const c = await openReviewedCampaign(campaignId);
  const d = await collectDiff(c, a, b);
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(d, null, 2)}\n`);
    return;
  }
  process.stdout.write(`${renderDiff(d).join('\n')}\n`);
}

export function renderDiff(d: DiffResult): string[] {
  const out: string[] = [];
  const verdict =
    d.gain === null ? '' : d.gain > 0 ? color.green(' (b is better)') : d.gain < 0 ? color.red(' (b is worse)') : ' (equal)';
  out.push(
    `${color.bold(`#${d.a.n} → #${d.b.n}`)} on campaign ${color.bold(d.campaignId)}: ` +
      `${d.metricName} ${fmtMetric(d.a.metric)} → ${fmtMetric(d.b.metric)}, ${fmtSigned(d.gain)}${verdict}`,
    `${color.dim(`#${d.a.n}`)} ${d.a.status}: ${d.a.hypothesis}`,
    `${color.dim(`#${d.b.n}`)} ${d.b.status}: ${d.b.hypothesis}`,
  );
  if (d.lineage) out.push(`${color.dim('lineage')} ${d.lineage.map((n) => `#${n}`).join(' → ')}`);
  else out.push(color.dim(`lineage  #${d.b.n} does not descend from #${d.a.n} (or the reverse): the diff compares unrelated models`));

  out.push('', color.bold('spec'));
  for (const line of d.specDiff) out.push(`  ${colourDiff(line)}`);
  const params =
    d.a.params !== null && d.b.params !== null
      ? ` (${d.b.params >= d.a.params ? '+' : ''}${fmtCount(d.b.params - d.a.params)})`
      : '';
  out.push(`  ${color.dim('params')} ${fmtCount(d.a.params)} → ${fmtCount(d.b.params)}${params}`);

  out.push('', color.bold('metrics'));
  const nameWidth = Math.max(12, ...d.metrics.map((m) => m.name.length));
  const cell = (v: number | boolean | null) => (typeof v === 'number' ? fmtMetric(v) : v === null ? '—' : String(v));
  out.push(color.dim(`  ${'metric'.padEnd(nameWidth)}  ${`#${d.a.n}`.padStart(10)}  ${`#${d.b.n}`.padStart(10)}  ${'Δ'.padStart(10)}`));
  for (const m of d.metrics) {
    out.push(`  ${m.name.padEnd(nameWidth)}  ${cell(m.a).padStart(10)}  ${cell(m.b).padStart(10)}  ${fmtSigned(m.delta).padStart(10)}`);
  }
  out.push(
    `  ${'duration'.padEnd(nameWidth)}  ${fmtDuration(d.a.durationMs).padStart(10)}  ${fmtDuration(d.b.durationMs).padStart(10)}`,
  );
  return out;
}
