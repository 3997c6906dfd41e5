// Benchmark of the review commands on a large generated history (run by hand, not a test):
//
//   npx tsx scripts/bench-history.ts [--home /tmp/arlo-bench] [--n 10000] [--runs 5] [--regenerate]
//
// Generates the history once (scripts/generate-history.ts; reused afterwards), then times, as a
// user runs them, `arlo history <id>` (table, and --json) and `arlo report <id>` (first report,
// which computes and caches every model's size, and later ones), each as a fresh
// `node bin/arlo.js` process; and the same commands inside one process, without Node/tsx
// start-up. Targets (issue 6): history under 0.5 s, report under 5 s.
//
// Fresh processes run the compiled build (dist/; built here first when missing or stale, as
// bin/arlo.js would otherwise run the sources through tsx); the start-up floor and the history
// table are also timed through tsx (ARLO_FROM_SOURCE=1) for comparison. The `entry:` line says
// which one the other fresh-process rows used (a source edited during the run makes dist/ stale).

import { spawnSync } from 'node:child_process';
import { existsSync, rmSync, statSync } from 'node:fs';
import { loadavg, cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generateHistory } from './generate-history.ts';

const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'arlo.js');

const { values } = parseArgs({
  options: {
    home: { type: 'string', default: '/tmp/arlo-bench' },
    id: { type: 'string', default: 'bench' },
    n: { type: 'string', default: '10000' },
    runs: { type: 'string', default: '5' },
    regenerate: { type: 'boolean', default: false },
  },
});
const home = values.home!;
const id = values.id!;
const N = Number(values.n);
const RUNS = Math.max(1, Number(values.runs));

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

function cli(args: string[], env: Record<string, string> = {}): number {
  const started = performance.now();
  const r = spawnSync(process.execPath, [BIN, ...args], {
    env: { ...process.env, ARLO_HOME: home, NO_COLOR: '1', COLUMNS: '80', ARLO_FROM_SOURCE: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 1 << 30,
  });
  const seconds = (performance.now() - started) / 1000;
  if (r.status !== 0) throw new Error(`arlo ${args.join(' ')} failed (${r.status}): ${r.stderr.toString()}`);
  return seconds;
}

/** Which entry `node bin/arlo.js` runs now: 'dist' (the build) or 'tsx' (the sources). */
function entry(): 'dist' | 'tsx' {
  const r = spawnSync(process.execPath, [BIN, 'history', '--help'], { env: { ...process.env, ARLO_DEBUG: '1', ARLO_FROM_SOURCE: '' }, encoding: 'utf8' });
  return r.stderr.includes('running the build in dist/') ? 'dist' : 'tsx';
}

async function inProcess(fn: () => Promise<unknown>): Promise<number> {
  const write = process.stdout.write.bind(process.stdout);
  const log = console.log;
  (process.stdout as unknown as { write: () => boolean }).write = () => true;
  console.log = () => undefined;
  const started = performance.now();
  try {
    await fn();
  } finally {
    process.stdout.write = write;
    console.log = log;
  }
  return (performance.now() - started) / 1000;
}

const rows: Array<{ what: string; runs: number[]; target?: number }> = [];
function record(what: string, runs: number[], target?: number): void {
  rows.push({ what, runs, target });
  const m = median(runs);
  const verdict = target === undefined ? '' : m <= target ? `  (target < ${target} s: met)` : `  (target < ${target} s: NOT met)`;
  console.log(`${what.padEnd(58)} median ${m.toFixed(3)} s  min ${Math.min(...runs).toFixed(3)} s  (${runs.length} runs)${verdict}`);
}

async function main(): Promise<void> {
  process.env.ARLO_HOME = home;
  const branchExists =
    existsSync(join(home, 'history', '.git')) &&
    spawnSync('git', ['-C', join(home, 'history'), 'rev-parse', '--verify', '--quiet', `refs/heads/campaign/${id}`]).status === 0;
  if (values.regenerate || !branchExists) {
    console.log(`generating ${N} experiments into ${home} (once; --regenerate to redo) …`);
    const g = await generateHistory({ home, campaignId: id, experiments: N, seed: 1, force: true });
    console.log(`  ${g.experiments} experiments, ${g.kept} kept, ${g.failed} failed, in ${g.seconds.toFixed(1)} s`);
  }
  const out = join(home, `${id}-report.html`);
  const cache = join(home, 'history', '.git', 'arlo-cache');
  console.log(`machine: ${cpus().length} CPUs, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}; node ${process.version}`);
  console.log(`history: ${N} experiments on campaign/${id} in ${home}/history\n`);

  if (entry() !== 'dist') {
    console.log('dist/ is missing or older than a source: building it (npm run build) …');
    const b = spawnSync('bash', [join(ROOT, 'scripts', 'setup.sh'), '--build'], { stdio: ['ignore', 'ignore', 'inherit'] });
    if (b.status !== 0) console.log('  the build failed; fresh processes run the sources through tsx');
  }
  const tsx = { ARLO_FROM_SOURCE: '1' };
  cli(['history', id]); // warm the OS file cache
  cli(['history', id], tsx); // and tsx's compile cache
  const used = entry();
  console.log(`entry: ${used} (${used === 'dist' ? 'the compiled build, dist/' : 'the sources through tsx: dist/ is missing or stale'})`);
  record('start-up floor, built entry (dist/): `arlo history --help`', Array.from({ length: RUNS }, () => cli(['history', '--help'])));
  record('start-up floor, sources through tsx: `arlo history --help`', Array.from({ length: RUNS }, () => cli(['history', '--help'], tsx)));
  record('`arlo history <id>` (table, fresh process)', Array.from({ length: RUNS }, () => cli(['history', id])), 0.5);
  record('`arlo history <id>` through tsx (table, fresh process)', Array.from({ length: RUNS }, () => cli(['history', id], tsx)));
  record('`arlo history <id> --json` (with commit shas, fresh process)', Array.from({ length: RUNS }, () => cli(['history', id, '--json'])));

  rmSync(cache, { recursive: true, force: true });
  record('`arlo report <id>` first run (sizes every spec, fills cache)', [cli(['report', id, '--out', out])], 5);
  record('`arlo report <id>` (fresh process, cache warm)', Array.from({ length: RUNS }, () => cli(['report', id, '--out', out])), 5);
  console.log(`  report: ${out} (${(statSync(out).size / 1024).toFixed(0)} KiB)`);

  const { historyCommand } = await import('../cli/commands/history.ts');
  const { reportCommand } = await import('../cli/commands/report.ts');
  await inProcess(() => historyCommand(id, {}));
  const hist: number[] = [];
  const rep: number[] = [];
  for (let i = 0; i < RUNS; i++) hist.push(await inProcess(() => historyCommand(id, {})));
  for (let i = 0; i < RUNS; i++) rep.push(await inProcess(() => reportCommand(id, { out })));
  record('historyCommand in-process (no start-up)', hist, 0.5);
  record('reportCommand in-process (no start-up, cache warm)', rep, 5);
  console.log(`\nload average after: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
