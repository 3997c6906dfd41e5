// Output of `npm run bench`: each part is a section rendered as a markdown table, and everything
// is also written as JSON.

export interface BenchSection {
  title: string;
  columns: string[];
  rows: Array<Array<string | number>>;
  notes: string[];
  json: unknown;
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (rank - lo);
}

function cell(v: string | number): string {
  if (typeof v === 'string') return v;
  if (!Number.isFinite(v)) return '—';
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(1) : v.toFixed(3);
}

export function renderMarkdown(section: BenchSection): string {
  const lines = [`### ${section.title}`, '', `| ${section.columns.join(' | ')} |`, `|${section.columns.map(() => '---').join('|')}|`];
  for (const row of section.rows) lines.push(`| ${row.map(cell).join(' | ')} |`);
  if (section.notes.length > 0) lines.push('', ...section.notes.map((n) => `- ${n}`));
  return `${lines.join('\n')}\n`;
}
