import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { BenchSection } from './report.ts';

// History scale: `arlo history` and `arlo report` on a generated campaign (scripts/generate-history.ts),
// timed by scripts/bench-history.ts, which this section runs and summarises.

export function benchHistoryScale(opts: { experiments: number; runs: number; home: string }): BenchSection {
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', join(import.meta.dirname, '..', 'scripts', 'bench-history.ts'), '--home', opts.home, '--n', String(opts.experiments), '--runs', String(opts.runs)],
    { encoding: 'utf8', maxBuffer: 1 << 26, timeout: 900_000 },
  );
  if (r.status !== 0) throw new Error(`scripts/bench-history.ts failed: ${r.stderr || r.stdout}`);
  const rows: Array<Array<string | number>> = [];
  for (const line of r.stdout.split('\n')) {
    const m = /^(.*?)\s+median ([\d.]+) s\s+min ([\d.]+) s\s+\((\d+) runs\)(?:\s+\(target < ([\d.]+) s: (met|NOT met)\))?/.exec(line);
    if (m) rows.push([m[1]!.trim(), Number(m[2]), Number(m[3]), m[5] ? `< ${m[5]} s: ${m[6]}` : '—']);
  }
  return {
    title: `5. History scale: review commands on a generated campaign of ${opts.experiments} experiments`,
    columns: ['command', 'median s', 'min s', 'target'],
    rows,
    notes: ['fresh-process times include Node + tsx start-up (the first row measures that floor alone)'],
    json: { experiments: opts.experiments, output: r.stdout },
  };
}
