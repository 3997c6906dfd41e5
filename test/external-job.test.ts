import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { describe, expect, it } from 'vitest';
import type { Spec } from '../arch/spec.ts';
import { validateSpec } from '../arch/validate.ts';
import { limitsFor } from '../agents/limits.ts';
import { getTemplate } from '../experiments/index.ts';
import { createTrainActivity, type TrainedExperiment } from '../activities/train.ts';
import type { ExperimentTemplate } from '../experiments/template.ts';
import { externalProblems, resolveJobFolder, substitute } from '../training/external/config.ts';
import { envNameProblems, jobEnv } from '../training/external/env.ts';
import { ExternalJobError, JobCancelled } from '../training/external/failures.ts';
import { OutputCollector, parseProtocolLine } from '../training/external/output.ts';
import { runExternalJob, type ExternalJobOptions } from '../training/external/run-job.ts';
import type { ExperimentInput } from '../workflows/types.ts';
import { isRunning, standInFolder, standInTemplate } from './helpers/external-jobs.ts';
import { tempHome, waitFor } from './helpers/temporal-env.ts';

// External training jobs without Temporal: stand-in jobs (small Node scripts) exercise the
// protocol, containment and every failure class in well under a second each.

const FOLDER = standInFolder();
let runCounter = 0;

function run(template: ExperimentTemplate, extra: Partial<ExternalJobOptions> = {}) {
  const home = tempHome('arlo-ext-');
  runCounter++;
  return runExternalJob({
    template,
    spec: template.baseline,
    seed: 7,
    dataDir: home,
    workdir: join(home, 'runs', 'c', `${runCounter}-attempt-1`),
    jobName: `arlo-test-${runCounter}-a1`,
    campaignId: 'c',
    n: runCounter,
    attempt: 1,
    sourceEnv: { PATH: process.env.PATH, HOME: process.env.HOME, LANG: 'C.UTF-8' },
    ...extra,
  });
}

async function failure(p: Promise<unknown>): Promise<ExternalJobError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ExternalJobError);
  return err as ExternalJobError;
}

describe('external job protocol', () => {
  it('turns progress lines into events and the result line into metrics; keeps stray output in the log', async () => {
    const events: unknown[] = [];
    const r = await run(standInTemplate(FOLDER, ['--mode', 'ok']), { onProgress: (e) => events.push(e) });
    expect(events).toEqual([
      { epoch: 1, epochs: 3, step: 10, loss: 1 },
      { epoch: 2, epochs: 3, step: 20, loss: 0.5 },
      { epoch: 3, epochs: 3, step: 30, loss: 1 / 3 },
    ]);
    expect(r.metrics).toEqual({ val_accuracy: 0.507, val_loss: 0.7, converged: true });
    expect(r.params).toBe(1234);
    expect(r.backend).toBe('stand-in (external, local)');
    expect(r.curve).toEqual(events);
    expect(r.logTail).toContain('this line is not JSON and must end up in the log');
    expect(r.logTail).toContain('{not json either');
    expect(r.logTail).toContain('a warning on stderr');
    expect(r.logTail).toMatch(/^\[arlo\] \$ \S+ job\.mjs --spec \S+spec\.json --out \S+out --mode ok\n/);
    expect(r.logTail).toMatch(/\[arlo\] exit code 0 after \d+\.\d s\n$/);
    // the work folder: a copy of the template's folder, the helper, the job file, output.log
    for (const f of ['job.mjs', 'arlo_spec.py', 'spec.json', 'output.log']) expect(existsSync(join(r.workdir, f))).toBe(true);
    const job = JSON.parse(readFileSync(join(r.workdir, 'spec.json'), 'utf8'));
    expect(job).toMatchObject({ seed: 7, fidelity: null, metric: { name: 'val_accuracy', direction: 'max' }, attempt: 1 });
    expect(job.spec).toEqual(standInTemplate(FOLDER, []).baseline);
  });

  it('accepts out/metrics.json when there is no result line', async () => {
    const r = await run(standInTemplate(FOLDER, ['--mode', 'metricsfile']));
    expect(r.metrics).toEqual({ val_accuracy: 0.61 });
    expect(r.params).toBe(7);
  });

  it('parses the NaN / Infinity that Python writes, and not inside strings', () => {
    expect(parseProtocolLine('{"event":"result","metrics":{"a":NaN,"b":-Infinity,"c":"NaN here"}}')).toEqual({
      event: 'result',
      metrics: { a: Number.NaN, b: -Infinity, c: 'NaN here' },
    });
    expect(parseProtocolLine('not json')).toBeNull();
    expect(parseProtocolLine('[1,2]')).toBeNull();
  });

  it('splits protocol lines across chunks and skips over-long lines', () => {
    const seen: unknown[] = [];
    const c = new OutputCollector({ logFile: null, maxOutputBytes: 0, tailBytes: 64, onProgress: (e) => seen.push(e) });
    c.push('{"event":"progr', 'stdout', true);
    c.push('ess","step":1}\n{"event":"progress","step":2}\n{"eve', 'stdout', true);
    c.push(`${'x'.repeat(70_000)}\n`, 'stdout', true);
    c.push('{"event":"result","metrics":{"m":1}}', 'stdout', true);
    c.finish();
    expect(seen).toEqual([{ step: 1 }, { step: 2 }]);
    expect(c.result).toEqual({ metrics: { m: 1 }, params: undefined, backend: undefined });
    expect(c.tailText().length).toBeLessThan(200);
    expect(c.tailText()).toMatch(/^\[\.\.\. \d+ earlier bytes/);
  });
});

describe('registered external templates', () => {
  for (const name of ['charlm-torch', 'digits-torch']) {
    it(`${name}: a valid external block, a job folder with train.py, a baseline within its edit policy`, () => {
      const t = getTemplate(name);
      expect(t.external).toBeDefined();
      expect(externalProblems(t.external!)).toEqual([]);
      expect(t.external!.command[0]).toBe('/usr/bin/python3');
      expect(existsSync(join(resolveJobFolder(t.external!), 'train.py'))).toBe(true);
      expect(t.data.kind).toBe('files');
      expect(validateSpec(t.baseline, limitsFor(t))).toEqual([]);
      expect(t.baseline.arch.nodes.find((n) => n.id === t.baseline.arch.output)).toMatchObject({ op: 'dense', units: t.numClasses });
    });
  }
});

describe('external job failure classes', () => {
  it('JobExitNonZero: exit code and log tail', async () => {
    const err = await failure(run(standInTemplate(FOLDER, ['--mode', 'exit3'])));
    expect(err.failureClass).toBe('JobExitNonZero');
    expect(err.message).toContain('exited with code 3');
    expect(err.logTail).toContain('Traceback: something broke in the stand-in job');
    expect(err.logTail).toContain('[arlo] exit code 3');
  });

  it('JobKilled: killed by a signal (as the out-of-memory killer does)', async () => {
    const err = await failure(run(standInTemplate(FOLDER, ['--mode', 'sigkill'])));
    expect(err.failureClass).toBe('JobKilled');
    expect(err.message).toContain('SIGKILL (often: out of memory)');
    expect(err.logTail).toContain('about to be killed');
  });

  it('JobNonFiniteMetric: NaN or infinite metrics', async () => {
    const err = await failure(run(standInTemplate(FOLDER, ['--mode', 'nan'])));
    expect(err.failureClass).toBe('JobNonFiniteMetric');
    expect(err.message).toContain('val_accuracy=NaN');
    expect(err.message).toContain('val_loss=Infinity');
  });

  it('JobNoResult: exit 0 without a result, or without the template metric', async () => {
    const none = await failure(run(standInTemplate(FOLDER, ['--mode', 'noresult'])));
    expect(none.failureClass).toBe('JobNoResult');
    expect(none.logTail).toContain('finished, but forgot to report');
    const other = await failure(run(standInTemplate(FOLDER, ['--mode', 'nometric'])));
    expect(other.failureClass).toBe('JobNoResult');
    expect(other.message).toContain('has no val_accuracy');
  });

  it('JobTimeout: the time limit kills the job and its children', async () => {
    const t = standInTemplate(FOLDER, ['--mode', 'slow'], { timeoutSeconds: 1.5 });
    const started = Date.now();
    const home = tempHome('arlo-ext-');
    const err = await failure(
      runExternalJob({ template: t, spec: t.baseline, seed: 1, dataDir: home, workdir: join(home, 'w'), jobName: 'timeout' }),
    );
    expect(err.failureClass).toBe('JobTimeout');
    expect(Date.now() - started).toBeLessThan(6000);
    expect(err.logTail).toContain('time limit of 1.5 s reached');
    const pids = JSON.parse(readFileSync(join(home, 'w', 'out', 'pids.json'), 'utf8')) as { job: number; child: number };
    expect(isRunning(pids.job)).toBe(false);
    expect(isRunning(pids.child)).toBe(false);
  });

  it('JobStartFailed: a program that does not exist', async () => {
    const t = standInTemplate(FOLDER, []);
    t.external!.command = ['/nonexistent/python3', 'job.mjs'];
    const err = await failure(run(t));
    expect(err.failureClass).toBe('JobStartFailed');
    expect(err.message).toContain('/nonexistent/python3');
  });

  it('ExternalConfigError: placeholders inside an element, secret variables', async () => {
    const t = standInTemplate(FOLDER, ['--x={spec}'], { env: ['OPENAI_API_KEY', 'GH_TOKEN', 'OK_NAME', 'bad-name'] });
    const problems = externalProblems(t.external!);
    expect(problems.join('\n')).toContain('placeholders must be whole argv elements');
    expect(problems.join('\n')).toContain('OPENAI_API_KEY looks like a secret');
    expect(problems.join('\n')).toContain('GH_TOKEN looks like a secret');
    expect(problems.join('\n')).toContain('"bad-name" is not a variable name');
    expect(problems.join('\n')).not.toContain('OK_NAME');
    const err = await failure(run(t));
    expect(err.failureClass).toBe('ExternalConfigError');
    for (const name of ['ANTHROPIC_API_KEY', 'MY_SECRET', 'DB_PASSWORD', 'TEMPORAL_API_KEY', 'AWS_SESSION_TOKEN']) {
      expect(envNameProblems([name])).toHaveLength(1);
    }
  });
});

describe('external job containment', () => {
  it('gives the job PATH, HOME, LANG and declared variables only: never the worker\'s API keys', async () => {
    const source = {
      PATH: process.env.PATH,
      HOME: '/home/worker',
      LANG: 'C.UTF-8',
      OPENAI_API_KEY: 'sk-test-must-not-leak',
      ANTHROPIC_API_KEY: 'sk-ant-must-not-leak',
      TEMPORAL_API_KEY: 'tmprl-must-not-leak',
      SOME_OTHER: 'not declared',
      OMP_NUM_THREADS: '1',
    };
    const r = await run(standInTemplate(FOLDER, ['--mode', 'env'], { env: ['OMP_NUM_THREADS'] }), { sourceEnv: source });
    const env = JSON.parse(readFileSync(join(r.workdir, 'out', 'env.json'), 'utf8')) as Record<string, string>;
    expect(env.OPENAI_API_KEY).toBeUndefined();
    expect(env.ANTHROPIC_API_KEY).toBeUndefined();
    expect(env.TEMPORAL_API_KEY).toBeUndefined();
    expect(env.SOME_OTHER).toBeUndefined();
    expect(env.OMP_NUM_THREADS).toBe('1');
    expect(env.HOME).toBe('/home/worker');
    expect(env.ARLO_JOB_SPEC).toBe(join(r.workdir, 'spec.json'));
    expect(JSON.stringify(env)).not.toContain('must-not-leak');
    // Only the allow-list (plus what node itself adds at start-up, if anything).
    const unexpected = Object.keys(env).filter(
      (k) => !['PATH', 'HOME', 'LANG', 'OMP_NUM_THREADS', 'ARLO_JOB_SPEC', 'ARLO_JOB_OUT', 'ARLO_JOB_WORKDIR', 'ARLO_DATA_DIR'].includes(k),
    );
    expect(unexpected).toEqual([]);
    expect(() => jobEnv(['OPENAI_API_KEY'], source)).toThrow(/looks like a secret/);
  });

  it('passes the worker\'s OPENAI_API_KEY to no job even through the train activity (process.env)', async () => {
    const previous = process.env.OPENAI_API_KEY;
    process.env.OPENAI_API_KEY = 'sk-worker-key-must-not-leak';
    try {
      const home = tempHome('arlo-ext-');
      const t = standInTemplate(FOLDER, ['--mode', 'env']);
      const { trainExperiment } = createTrainActivity({ home, dataDir: home }, { getTemplate: () => t });
      const env = new MockActivityEnvironment({ attempt: 1 });
      const out: TrainedExperiment = await env.run(trainExperiment, experimentInput('envcheck', 1, t.baseline));
      expect(out.metrics.val_accuracy).toBe(0.5);
      const jobEnvSeen = readFileSync(join(home, 'runs', 'envcheck', '1-attempt-1', 'out', 'env.json'), 'utf8');
      expect(jobEnvSeen).not.toContain('sk-worker-key-must-not-leak');
      expect(JSON.parse(jobEnvSeen).PATH).toBe(process.env.PATH);
    } finally {
      if (previous === undefined) delete process.env.OPENAI_API_KEY;
      else process.env.OPENAI_API_KEY = previous;
    }
  });

  it('delivers spec values such as "; rm -rf / #" to the job as literal strings, never to a shell', async () => {
    const nasty = ['; rm -rf / #', '$(touch /tmp/arlo-pwned-1)', '`touch /tmp/arlo-pwned-2`', "' && echo hi '", '{spec}'];
    const t = standInTemplate(FOLDER, ['--mode', 'echo']);
    const spec: Spec = structuredClone(t.baseline);
    // Rename the hidden layer to each hostile string in turn (node ids are free-form strings).
    spec.arch.nodes = [
      { id: 'x', op: 'input', shape: [64] },
      ...nasty.map((id, i) => ({
        id,
        op: 'dense' as const,
        inputs: [i === 0 ? 'x' : nasty[i - 1]!] as [string],
        units: 8,
        activation: 'relu' as const,
      })),
      { id: 'logits', op: 'dense', inputs: [nasty.at(-1)!], units: 10, activation: 'linear' },
    ];
    const r = await run(t, { spec });
    const echo = JSON.parse(readFileSync(join(r.workdir, 'out', 'echo.json'), 'utf8')) as { ids: string[]; argv: string[]; cwd: string };
    expect(echo.ids).toEqual(['x', ...nasty, 'logits']);
    // The argv is the template's, with only the placeholders replaced by paths.
    expect(echo.argv).toEqual(['--spec', join(r.workdir, 'spec.json'), '--out', join(r.workdir, 'out'), '--mode', 'echo']);
    expect(echo.cwd).toBe(r.workdir);
    expect(existsSync('/tmp/arlo-pwned-1')).toBe(false);
    expect(existsSync('/tmp/arlo-pwned-2')).toBe(false);
    // substitute() only replaces whole elements
    expect(substitute(['a', '{spec}', 'x{spec}', '{out}'], { '{spec}': '/s', '{out}': '/o', '{workdir}': '/w', '{data}': '/d' })).toEqual([
      'a',
      '/s',
      'x{spec}',
      '/o',
    ]);
  });

  it('cancellation kills the job and its sleeping child (checked by PID), with no orphan', async () => {
    const home = tempHome('arlo-ext-');
    const t = standInTemplate(FOLDER, ['--mode', 'sleep-child'], { killGraceSeconds: 5 });
    const controller = new AbortController();
    const events: unknown[] = [];
    const running = runExternalJob({
      template: t,
      spec: t.baseline,
      seed: 1,
      dataDir: home,
      workdir: join(home, 'w'),
      jobName: 'cancel',
      signal: controller.signal,
      onProgress: (e) => events.push(e),
    });
    const pidsFile = join(home, 'w', 'out', 'pids.json');
    await waitFor(async () => existsSync(pidsFile) && events.length >= 2, 'the job to start its child and report progress', 20_000, 50);
    const pids = JSON.parse(readFileSync(pidsFile, 'utf8')) as { job: number; child: number };
    expect(isRunning(pids.job)).toBe(true);
    expect(isRunning(pids.child)).toBe(true);
    const cancelledAt = Date.now();
    controller.abort();
    const err = await running.then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(JobCancelled);
    expect((err as JobCancelled).logTail).toContain('cancelled');
    // SIGTERM reaches the whole group at once: no need to wait for the 5 s SIGKILL grace.
    expect(Date.now() - cancelledAt).toBeLessThan(4000);
    expect(isRunning(pids.job)).toBe(false);
    expect(isRunning(pids.child)).toBe(false);
  });

  it('a job that exits leaves no process behind', async () => {
    const r = await run(standInTemplate(FOLDER, ['--mode', 'orphan']));
    expect(r.metrics.val_accuracy).toBe(0.5);
    const pids = JSON.parse(readFileSync(join(r.workdir, 'out', 'pids.json'), 'utf8')) as { job: number; child: number };
    expect(isRunning(pids.child)).toBe(false);
  });

  it('the train activity: a Temporal cancellation kills the job tree and reports CancelledFailure', async () => {
    const home = tempHome('arlo-ext-');
    const t = standInTemplate(FOLDER, ['--mode', 'sleep-child']);
    const { trainExperiment } = createTrainActivity({ home, dataDir: home }, { getTemplate: () => t });
    const env = new MockActivityEnvironment({ attempt: 2 });
    const beats: unknown[] = [];
    env.on('heartbeat', (d: unknown) => beats.push(d));
    const running = env.run(trainExperiment, experimentInput('cancelme', 4, t.baseline));
    const pidsFile = join(home, 'runs', 'cancelme', '4-attempt-2', 'out', 'pids.json');
    await waitFor(async () => existsSync(pidsFile) && beats.length >= 3, 'the job to start', 20_000, 50);
    const pids = JSON.parse(readFileSync(pidsFile, 'utf8')) as { job: number; child: number };
    env.cancel();
    const err = await running.then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CancelledFailure);
    expect(isRunning(pids.job)).toBe(false);
    expect(isRunning(pids.child)).toBe(false);
    // heartbeats carried the job's progress fields
    expect(beats.filter((b) => b !== null).at(-1)).toMatchObject({ step: expect.any(Number), loss: expect.any(Number) });
  });

  it('caps 100 MB of stdout without stalling: heartbeats keep flowing and the result still arrives', async () => {
    const home = tempHome('arlo-ext-');
    const t = standInTemplate(FOLDER, ['--mode', 'flood'], { maxOutputBytes: 256 * 1024 });
    const { trainExperiment } = createTrainActivity({ home, dataDir: home }, { getTemplate: () => t });
    const env = new MockActivityEnvironment({ attempt: 1 });
    const beats: Array<{ at: number; details: unknown }> = [];
    env.on('heartbeat', (d: unknown) => beats.push({ at: Date.now(), details: d }));
    // The worker's event loop must stay responsive: measure the largest gap between 20 ms ticks.
    let last = Date.now();
    let worstGap = 0;
    const tick = setInterval(() => {
      const now = Date.now();
      worstGap = Math.max(worstGap, now - last);
      last = now;
    }, 20);
    const rssBefore = process.memoryUsage().rss;
    const started = Date.now();
    let out: TrainedExperiment;
    try {
      out = await env.run(trainExperiment, experimentInput('flood', 1, t.baseline));
    } finally {
      clearInterval(tick);
    }
    const seconds = (Date.now() - started) / 1000;
    expect(out.metrics.val_accuracy).toBe(0.42);
    const progress = beats.filter((b) => b.details !== null);
    expect(progress.length).toBe(10);
    expect(progress.map((b) => (b.details as { step: number }).step)).toEqual([10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
    expect(worstGap).toBeLessThan(1000);
    // kept: a 256 KB log file and an ~8 KB tail, not 100 MB
    const log = join(home, 'runs', 'flood', '1-attempt-1', 'output.log');
    expect(statSync(log).size).toBeLessThan(256 * 1024 + 200);
    expect(readFileSync(log, 'utf8').slice(-200)).toMatch(/output beyond 262144 bytes was not stored \(1000\d{5} bytes in all\)/);
    expect(out.logTail!.length).toBeLessThan(10 * 1024); // header + 8 KB + footer
    expect(out.logTail).toContain('"event":"result"');
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(80 * 1024 * 1024);
    expect(seconds).toBeLessThan(30);
  });
});

function experimentInput(campaignId: string, n: number, spec: Spec): ExperimentInput {
  return { campaignId, n, experiment: 'stand-in', spec, seed: 3, trainingTaskQueue: 'unused' };
}
