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
  const entry = /^entry: (\w+)/m.exec(r.stdout)?.[1] ?? 'tsx';
  for (const line of r.stdout.split('\n')) {
    const m = /^(.*?)\s+median ([\d.]+) s\s+min ([\d.]+) s\s+\((\d+) runs\)(?:\s+\(target < ([\d.]+) s: (met|NOT met)\))?/.exec(line);
    if (m) rows.push([m[1]!.trim(), Number(m[2]), Number(m[3]), m[5] ? `< ${m[5]} s: ${m[6]}` : '—']);
  }
  return {
    title: `5. History scale: review commands on a generated campaign of ${opts.experiments} experiments`,
    columns: ['command', 'median s', 'min s', 'target'],
    rows,
    notes: [
      entry === 'dist'
        ? 'fresh-process times run bin/arlo.js from the compiled build (dist/, `npm run build`) and include Node start-up; the floor rows time start-up alone, built and through tsx'
        : 'fresh-process times ran the sources through tsx (dist/ was missing or stale during the run) and include Node + tsx start-up; the floor rows time start-up alone',
    ],
    json: { experiments: opts.experiments, output: r.stdout },
  };
}
