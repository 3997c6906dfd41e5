// Unicode sparklines for training curves in a terminal: "▁▂▄▆█".

const BARS = '▁▂▃▄▅▆▇█';

/**
 * One character per value (values are averaged into `width` buckets when there are more).
 * Non-finite values are blanks; a flat series is drawn at mid height.
 */
export function sparkline(values: readonly number[], width = 40): string {
  const series = bucket(values, Math.max(1, Math.floor(width)));
  const finite = series.filter((v) => Number.isFinite(v));
  if (finite.length === 0) return ' '.repeat(series.length);
  let min = Infinity;
  let max = -Infinity;
  for (const v of finite) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const span = max - min;
  return series
    .map((v) => {
      if (!Number.isFinite(v)) return ' ';
      if (span === 0) return BARS[3];
      return BARS[Math.min(BARS.length - 1, Math.floor(((v - min) / span) * BARS.length))];
    })
    .join('');
}

function bucket(values: readonly number[], width: number): number[] {
  if (values.length <= width) return [...values];
  const out: number[] = [];
  for (let i = 0; i < width; i++) {
    const from = Math.floor((i * values.length) / width);
    const to = Math.floor(((i + 1) * values.length) / width);
    let sum = 0;
    let count = 0;
    for (let j = from; j < to; j++) {
      const v = values[j]!;
      if (Number.isFinite(v)) {
        sum += v;
        count++;
      }
    }
    out.push(count === 0 ? NaN : sum / count);
  }
  return out;
}
