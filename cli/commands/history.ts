import type { ExperimentStatus, ResultLine } from '../../history/index.ts';
import { readResults } from '../../history/index.ts';
import { UserError } from '../../server/user-error.ts';
import { color, fmtDuration, fmtMetric } from '../format.ts';
import { fmtCount, lineExtras, openReviewedCampaignWithResults, terminalWidth, type ReviewedCampaign } from '../review.ts';
import { renderTextTable, type TextColumn } from '../table.ts';

export const HISTORY_SORTS = ['n', 'metric', 'duration'] as const;
export type HistorySort = (typeof HISTORY_SORTS)[number];
const STATUSES: readonly ExperimentStatus[] = ['kept', 'discarded', 'failed'];

export interface HistoryOptions {
  json?: boolean;
  csv?: boolean;
  /** One status, or several separated by commas. */
  status?: string;
  sort?: string;
  /** Reverse the sort order. */
  reverse?: boolean;
  /** Show at most this many rows (after filtering and sorting). */
  limit?: number;
}

/** `arlo history <id>`: every recorded experiment, from the campaign's git branch. */
export async function historyCommand(campaignId: string, opts: HistoryOptions = {}): Promise<void> {
  const statuses = parseStatuses(opts.status);
  const sort = parseSort(opts.sort);
  if (opts.json && opts.csv) throw new UserError('choose one of --json and --csv');
  // One git call for the campaign and its results; the table shows no commits, so only --json
  // and --csv pay for the walk over the branch that finds them.
  const c = await openReviewedCampaignWithResults(campaignId);
  const all = opts.json || opts.csv ? await readResults(c.repo, campaignId) : c.lines;
  let lines = all.filter((l) => statuses.includes(l.status));
  lines = sortLines(lines, sort, c.direction);
  if (opts.reverse) lines.reverse();
  if (opts.limit !== undefined) lines = lines.slice(0, opts.limit);

  if (opts.json) {
    process.stdout.write(`${JSON.stringify(lines, null, 2)}\n`);
    return;
  }
  if (opts.csv) {
    process.stdout.write(historyCsv(lines, c.metricName));
    return;
  }
  if (all.length === 0) {
    console.log(`campaign ${campaignId}: no experiments recorded yet`);
    return;
  }
  const table = historyTable(lines, c, terminalWidth());
  const filtered = statuses.length < STATUSES.length || opts.limit !== undefined;
  process.stdout.write(`${table.join('\n')}\n${historyFooter(all, lines.length, filtered, c, sort)}\n`);
}

function parseStatuses(value: string | undefined): ExperimentStatus[] {
  if (value === undefined) return [...STATUSES];
  const wanted = value.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = wanted.filter((s) => !(STATUSES as readonly string[]).includes(s));
  if (bad.length > 0 || wanted.length === 0) {
    throw new UserError(`--status ${JSON.stringify(value)} is not a status`, {
      hint: `use ${STATUSES.join(', ')} (several separated by commas, e.g. --status kept,failed)`,
    });
  }
  return wanted as ExperimentStatus[];
}

function parseSort(value: string | undefined): HistorySort {
  if (value === undefined) return 'n';
  if ((HISTORY_SORTS as readonly string[]).includes(value)) return value as HistorySort;
  throw new UserError(`--sort ${JSON.stringify(value)} is not a sort order`, { hint: `use ${HISTORY_SORTS.join(', ')}` });
}

/**
 * n: ascending. metric: best first under the campaign's direction, experiments without a metric
 * last. duration: longest first. Ties keep experiment order.
 */
export function sortLines(lines: readonly ResultLine[], sort: HistorySort, direction: 'max' | 'min'): ResultLine[] {
  const out = lines.slice();
  if (sort === 'n') return out.sort((a, b) => a.n - b.n);
  if (sort === 'duration') return out.sort((a, b) => b.durationMs - a.durationMs || a.n - b.n);
  const sign = direction === 'max' ? -1 : 1;
  return out.sort((a, b) => {
    const am = a.metric ?? null;
    const bm = b.metric ?? null;
    if (am === null || bm === null) return am === bm ? a.n - b.n : am === null ? 1 : -1;
    return sign * (am - bm) || a.n - b.n;
  });
}

/** Whitespace collapsed; long text is cut first (no terminal is wider than this). */
function oneLine(text: string): string {
  const head = text.length > 400 ? text.slice(0, 400) : text;
  return NEEDS_COLLAPSE.test(head) ? head.replace(/\s+/g, ' ').trim() : head;
}
const NEEDS_COLLAPSE = /\s\s|[^\S ]|^\s|\s$/;

function editsText(l: ResultLine): string {
  const edits = l.edits ?? [];
  if (edits.length > 0) return oneLine(edits.join('; '));
  return l.parent === null || l.parent === undefined ? 'baseline' : '—';
}

function metricCell(l: ResultLine): string {
  if (l.metric === null || l.metric === undefined) return '—';
  const { spread } = lineExtras(l);
  return `${fmtMetric(l.metric)} ± ${spread === null ? '—' : fmtMetric(spread)}`;
}

/** The table's lines (header first), fitted to `width` columns. */
export function historyTable(lines: readonly ResultLine[], c: Pick<ReviewedCampaign, 'metricName'>, width: number): string[] {
  // "0.9123 ± —": the metric's name is in the footer, to leave room for the text columns.
  const metricHeader = c.metricName.length <= 6 ? `${c.metricName} ± sd` : 'metric ± sd';
  const columns: TextColumn[] = [
    { header: 'n', align: 'right' },
    { header: 'hypothesis', flex: 3, min: 10 },
    { header: 'edits', flex: 2, min: 8 },
    { header: metricHeader, align: 'right' },
    { header: 'decision' },
    { header: 'rung' },
    { header: 'time', align: 'right' },
    { header: 'tokens', align: 'right' },
  ];
  const rows = lines.map((l) => {
    const extras = lineExtras(l);
    return [
      String(l.n),
      oneLine(l.hypothesis),
      editsText(l),
      metricCell(l),
      l.status,
      extras.fidelity ?? '—',
      fmtDuration(l.durationMs),
      fmtCount(extras.tokens, true),
    ];
  });
  return renderTextTable(columns, rows, {
    width,
    gap: width < 100 ? 1 : 2,
    headerStyle: (h) => color.bold(h),
    style: (column, row, padded) => {
      if (column !== 4) return padded;
      const status = lines[row]!.status;
      return status === 'kept' ? color.green(padded) : status === 'failed' ? color.red(padded) : color.dim(padded);
    },
  });
}

function historyFooter(
  all: readonly ResultLine[],
  shown: number,
  filtered: boolean,
  c: ReviewedCampaign,
  sort: HistorySort,
): string {
  const count = (s: ExperimentStatus) => all.filter((l) => l.status === s).length;
  let best: ResultLine | null = null;
  for (const l of all) {
    if (l.status !== 'kept' || l.metric === null) continue;
    if (!best || (c.direction === 'max' ? l.metric > best.metric! : l.metric < best.metric!)) best = l;
  }
  const lines = [
    `${all.length} experiments (${count('kept')} kept, ${count('discarded')} discarded, ${count('failed')} failed) on branch campaign/${c.campaignId}`,
    `metric: ${c.metricName} (${c.direction === 'max' ? 'higher' : 'lower'} is better); ` +
      (best ? `best #${best.n} ${fmtMetric(best.metric)}` : 'no champion yet'),
  ];
  if (filtered || sort !== 'n') lines.push(`showing ${shown}${sort !== 'n' ? `, sorted by ${sort}` : ''}`);
  return color.dim(lines.join('\n'));
}

function csvField(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '';
  const s = String(value);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

const CSV_HEADER = [
  'n',
  'status',
  'hypothesis',
  'edits',
  'metric_name',
  'metric',
  'spread',
  'best_metric',
  'fidelity',
  'duration_ms',
  'tokens',
  'parent',
  'commit',
  'recorded_at',
  'error',
];

/** One header line and one line per experiment (RFC 4180 quoting). */
export function historyCsv(lines: readonly ResultLine[], metricName: string): string {
  const out = [CSV_HEADER.join(',')];
  for (const l of lines) {
    const extras = lineExtras(l);
    out.push(
      [
        l.n,
        l.status,
        l.hypothesis,
        (l.edits ?? []).join('; '),
        l.metricName ?? metricName,
        l.metric,
        extras.spread,
        l.bestMetric,
        extras.fidelity,
        l.durationMs,
        extras.tokens,
        l.parent ?? null,
        l.commit ?? null,
        l.recordedAt,
        l.error ?? null,
      ]
        .map(csvField)
        .join(','),
    );
  }
  return `${out.join('\n')}\n`;
}
