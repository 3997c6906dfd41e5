import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExperimentTemplate, ExternalJob } from '../../experiments/template.ts';
import { getTemplate } from '../../experiments/index.ts';

// Stand-in external jobs for tests: one small Node script (run by this very node binary, so no
// interpreter needs installing) whose behaviour is chosen by --mode, or per experiment by --modes
// '{"<n>": "<mode>"}' read against the n in spec.json.

const JOB = String.raw`
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
const arg = (name) => { const i = process.argv.indexOf(name); return i < 0 ? undefined : process.argv[i + 1]; };
const job = JSON.parse(fs.readFileSync(arg('--spec'), 'utf8'));
const out = arg('--out');
let mode = arg('--mode') ?? 'ok';
if (arg('--modes')) mode = JSON.parse(arg('--modes'))[String(job.n)] ?? 'ok';
const emit = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const result = (metrics, extra = {}) => emit({ event: 'result', metrics, ...extra });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const write = (name, value) => fs.writeFileSync(path.join(out, name), JSON.stringify(value));
console.log('stand-in job: mode ' + mode + ', experiment ' + job.n + ', seed ' + job.seed);
switch (mode) {
  case 'ok': {
    for (let e = 1; e <= 3; e++) emit({ event: 'progress', epoch: e, epochs: 3, step: e * 10, loss: 1 / e });
    console.log('this line is not JSON and must end up in the log');
    console.log('{not json either, but starts with a brace "event"');
    console.error('a warning on stderr');
    result({ val_accuracy: 0.5 + job.seed / 1000, val_loss: 0.7, converged: true }, { params: 1234, backend: 'stand-in' });
    break;
  }
  case 'exit3':
    console.error('Traceback: something broke in the stand-in job');
    process.exit(3);
  case 'sigkill':
    console.error('about to be killed');
    process.kill(process.pid, 'SIGKILL');
    await sleep(10000);
    break;
  case 'nan':
    process.stdout.write('{"event": "result", "metrics": {"val_accuracy": NaN, "val_loss": Infinity}}\n');
    break;
  case 'noresult':
    console.log('finished, but forgot to report');
    break;
  case 'nometric':
    result({ accuracy: 0.9 });
    break;
  case 'metricsfile':
    write('metrics.json', { metrics: { val_accuracy: 0.61 }, params: 7 });
    break;
  case 'env':
    write('env.json', process.env);
    result({ val_accuracy: 0.5 });
    break;
  case 'echo':
    write('echo.json', { ids: job.spec.arch.nodes.map((n) => n.id), argv: process.argv.slice(2), cwd: process.cwd() });
    result({ val_accuracy: 0.5 });
    break;
  case 'sleep-child':
  case 'slow': {
    // A child in the job's process group, then progress forever: only a kill ends this.
    const child = spawn('sleep', ['300'], { stdio: 'ignore' });
    write('pids.json', { job: process.pid, child: child.pid });
    for (let i = 1; ; i++) {
      emit({ event: 'progress', step: i, loss: 1 / i });
      await sleep(200);
    }
  }
  case 'orphan': {
    // Leaves a background process behind and exits 0: arlo must not leave it running.
    const child = spawn('sleep', ['300'], { stdio: 'ignore', detached: false });
    child.unref();
    write('pids.json', { job: process.pid, child: child.pid });
    result({ val_accuracy: 0.5 });
    process.exit(0);
  }
  case 'flood': {
    // 100 MB on stdout in 1,000-byte lines, a progress line every 10 MB, then a result.
    const line = Buffer.from('x'.repeat(999) + '\n');
    const block = Buffer.concat(Array.from({ length: 1000 }, () => line)); // 1 MB
    const put = (b) => new Promise((r) => (process.stdout.write(b) ? r() : process.stdout.once('drain', r)));
    for (let mb = 1; mb <= 100; mb++) {
      await put(block);
      if (mb % 10 === 0) await put(JSON.stringify({ event: 'progress', step: mb, loss: 1 / mb, epoch: mb / 10, epochs: 10 }) + '\n');
    }
    await put(JSON.stringify({ event: 'result', metrics: { val_accuracy: 0.42 } }) + '\n');
    break;
  }
  default:
    console.error('unknown mode ' + mode);
    process.exit(2);
}
`;

/** A folder holding the stand-in job.mjs. */
export function standInFolder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'arlo-standin-'));
  writeFileSync(join(dir, 'job.mjs'), JOB);
  return dir;
}

/**
 * An external template around the stand-in job: `base` supplies name, metric and baseline (default
 * digits-torch); `extra` is appended to the job's argv (e.g. ['--mode', 'exit3']).
 */
export function standInTemplate(
  folder: string,
  extra: string[],
  overrides: Partial<ExternalJob> = {},
  base = 'digits-torch',
): ExperimentTemplate {
  const t = getTemplate(base);
  t.external = {
    command: [process.execPath, 'job.mjs', '--spec', '{spec}', '--out', '{out}', ...extra],
    folder,
    env: [],
    timeoutSeconds: 60,
    maxOutputBytes: 1024 * 1024,
    runner: 'local',
    killGraceSeconds: 1,
    ...overrides,
  };
  return t;
}

/** True while `pid` is a running (non-zombie) process. */
export function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}
