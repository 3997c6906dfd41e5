import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { startTestServer } from '../test/helpers/temporal-env.ts';
import { benchEfficiency } from './efficiency.ts';
import { benchLadder, ladderOptions } from './ladder.ts';
import { benchOverhead } from './overhead.ts';
import { renderMarkdown, type BenchSection } from './report.ts';
import { benchHistoryScale } from './history-scale.ts';
import { benchScaling } from './scaling.ts';
import { benchThroughput } from './throughput.ts';

// `npm run bench` (about 32 minutes, about 18 of them part 6) or `npm run bench -- --quick` (under 4 minutes): prints a
// markdown table per part and writes all numbers as JSON to a path it prints. Machines here are
// shared and noisy: compare ratios taken in the same run, not absolute times across runs.

const quick = process.argv.includes('--quick');
const dataDir = resolve(process.env.ARLO_DATA_DIR ?? join(import.meta.dirname, '..', '..', 'shared', 'data'));

Runtime.install({ logger: new DefaultLogger('WARN', () => {}) });

async function main(): Promise<void> {
  const started = Date.now();
  const machine = `${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.versions.node}`;
  process.stderr.write(`arlo bench (${quick ? 'quick' : 'full'}) on ${machine}\n`);
  const sections: BenchSection[] = [];
  let ladder: BenchSection | null = null;
  const env = await startTestServer();
  try {
    process.stderr.write('part 1: orchestration overhead\n');
    sections.push(await benchOverhead(env, quick ? 15 : 50));
    process.stderr.write('part 3: parallel scaling\n');
    sections.push(await benchScaling(env, { template: quick ? 'smoke' : 'deep-mlp', experiments: quick ? 5 : 8, dataDir }));
    process.stderr.write('part 6: ladder economy\n');
    ladder = await benchLadder(env, ladderOptions(quick, dataDir));
  } finally {
    await env.teardown();
  }
  process.stderr.write('part 2: training throughput\n');
  sections.splice(1, 0, await benchThroughput({ quick, dataDir }));
  process.stderr.write('part 4: research efficiency\n');
  sections.push(
    await benchEfficiency(
      quick
        ? { template: 'smoke', target: 0.2, seeds: [1, 2], maxExperiments: 5, parallel: 2, dataDir }
        : { template: 'deep-mlp', target: 0.45, seeds: [1, 2, 3, 4, 5], maxExperiments: 12, parallel: 2, dataDir },
    ),
  );

  process.stderr.write('part 5: history scale\n');
  sections.push(
    benchHistoryScale({
      experiments: quick ? 1000 : 10_000,
      runs: quick ? 2 : 3,
      home: resolve(process.env.ARLO_HOME ?? '.arlo', 'bench', quick ? 'history-1k' : 'history-10k'),
    }),
  );
  if (ladder) sections.push(ladder); // measured with the Temporal server above, reported last

  const date = new Date().toISOString().slice(0, 10);
  const out = [`## Benchmarks (${quick ? 'quick pass' : 'full'}, ${date})`, '', `Machine: ${machine}.`, ''];
  for (const s of sections) out.push(renderMarkdown(s));
  out.push(`Total bench time: ${((Date.now() - started) / 1000).toFixed(0)} s.`);
  console.log(out.join('\n'));

  const dir = resolve(process.env.ARLO_HOME ?? '.arlo', 'bench');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `bench-${quick ? 'quick-' : ''}${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ date, machine, quick, sections }, null, 2));
  console.log(`\nJSON: ${file}`);
}

await main();
process.exit(0);
