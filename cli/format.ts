import pc from 'picocolors';
import type { ExperimentLine } from '../workflows/types.ts';

// Small formatting helpers shared by the commands. Colour only when stdout is a terminal.

const useColor = process.stdout.isTTY === true && !process.env.NO_COLOR;
export const color = pc.createColors(useColor);

export function fmtMetric(x: number | null | undefined, digits = 4): string {
  return x === null || x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(digits);
}

export function fmtDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 90) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  return `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
}

export function shorten(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}

export function decisionLabel(status: ExperimentLine['status']): string {
  if (status === 'kept') return color.green('kept');
  if (status === 'failed') return color.red('failed');
  return color.dim('discarded');
}

/** One line per finished experiment: number, hypothesis, metric, decision, best so far. */
export function experimentLine(line: ExperimentLine, metricName: string, width = 120): string {
  const head = `#${String(line.n).padStart(3)}`;
  const spread = line.spread != null ? `±${fmtMetric(line.spread)}` : '';
  const rung = line.rung ? ` [rung ${line.rung}]` : '';
  const metric = line.status === 'failed' ? color.red('failed') : `${metricName}=${fmtMetric(line.metric)}${spread}${rung}`;
  const tail = `${metric}  ${decisionLabel(line.status)}  best=${fmtMetric(line.bestMetric)}  (${fmtDuration(line.durationMs)})`;
  const room = Math.max(20, width - 70);
  return `${head}  ${shorten(line.hypothesis, room).padEnd(room)}  ${tail}`;
}
