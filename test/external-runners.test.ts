import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExternalJobError, JobCancelled } from '../training/external/failures.ts';
import { runExternalJob } from '../training/external/run-job.ts';
import { jobName, planRun, runnerSettings } from '../training/external/runners.ts';
import { isRunning, standInFolder, standInTemplate } from './helpers/external-jobs.ts';
import { tempHome, waitFor } from './helpers/temporal-env.ts';

// The runner seam with stand-in submit commands: small scripts that play sbatch/scancel and
// kubectl on this machine, run the job as the cluster would, and record how arlo called them.

const FOLDER = standInFolder();
const TOOLS = tempHome('arlo-fake-cluster-');

// sbatch [options] script [args]: runs `script args` in --chdir with stdout+stderr appended to
// --output, prints the job id (--parsable), and exits with the job's code (--wait).
const FAKE_SBATCH = join(TOOLS, 'sbatch.mjs');
writeFileSync(
  FAKE_SBATCH,
  String.raw`
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
const argv = process.argv.slice(2);
const opts = {};
let i = 0;
for (; i < argv.length && argv[i].startsWith('--'); i++) {
  const [k, v] = argv[i].slice(2).split(/=(.*)/s);
  opts[k] = v ?? true;
}
const [script, ...args] = argv.slice(i);
fs.writeFileSync(path.join(opts.chdir, 'sbatch-argv.json'), JSON.stringify(argv));
if (!opts.wait || !opts.parsable) { console.error('stand-in sbatch expects --wait --parsable'); process.exit(64); }
console.log('4242');
const out = fs.openSync(opts.output, 'a');
const child = spawn(script, args, { cwd: opts.chdir, stdio: ['ignore', out, out], env: { ...process.env, SLURM_JOB_ID: '4242' } });
child.on('exit', (code, signal) => process.exit(code ?? 128 + 9));
`,
);
// scancel: records its argv to the file named by --record.
const FAKE_SCANCEL = join(TOOLS, 'scancel.mjs');
writeFileSync(
  FAKE_SCANCEL,
  String.raw`
import fs from 'node:fs';
const argv = process.argv.slice(2);
fs.writeFileSync(argv[1], JSON.stringify(argv.slice(2)));
`,
);
// kubectl run <name> ... --overrides=<json> ... --command -- argv: runs the container's command in
// its workingDir with its env (plus this machine's PATH), output straight through (--attach).
// kubectl delete pod <name> ...: records its argv.
const FAKE_KUBECTL = join(TOOLS, 'kubectl.mjs');
writeFileSync(
  FAKE_KUBECTL,
  String.raw`
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
const argv = process.argv.slice(2);
const record = argv[0] === '--record' ? argv[1] : null;
const rest = record ? argv.slice(2) : argv;
if (rest[0] === 'delete') { fs.writeFileSync(record + '.delete.json', JSON.stringify(rest)); process.exit(0); }
if (rest[0] !== 'run') process.exit(64);
const overrides = JSON.parse(rest.find((a) => a.startsWith('--overrides=')).slice('--overrides='.length));
const c = overrides.spec.containers[0];
const cmd = rest.slice(rest.indexOf('--') + 1);
if (JSON.stringify(cmd) !== JSON.stringify(c.command)) { console.error('command mismatch'); process.exit(65); }
if (record) fs.writeFileSync(record, JSON.stringify(rest));
const env = { PATH: process.env.PATH };
for (const e of c.env) env[e.name] = e.value;
const child = spawn(c.command[0], c.command.slice(1), { cwd: c.workingDir, stdio: ['ignore', 'inherit', 'inherit'], env });
child.on('exit', (code) => process.exit(code ?? 137));
`,
);

function paths(home: string) {
  return { workdir: join(home, 'runs', 'c', '3-attempt-1'), dataDir: home };
}

describe('runner seam', () => {
  it('slurm: a worker with ARLO_RUNNER=slurm submits with sbatch --wait and follows job.log', async () => {
    const home = tempHome('arlo-slurm-');
    const t = standInTemplate(FOLDER, ['--mode', 'ok']); // the template says local; the worker says slurm
    const events: unknown[] = [];
    const name = jobName('c', 3, 1);
    const r = await runExternalJob({
      template: t,
      spec: t.baseline,
      seed: 1,
      ...paths(home),
      jobName: name,
      onProgress: (e) => events.push(e),
      sourceEnv: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        OPENAI_API_KEY: 'sk-must-not-reach-sbatch',
        ARLO_RUNNER: 'slurm',
        ARLO_SLURM_SUBMIT: JSON.stringify([process.execPath, FAKE_SBATCH]),
        ARLO_SLURM_ARGS: '["--partition=test", "--gres=gpu:1"]',
      },
    });
    expect(r.metrics.val_accuracy).toBe(0.501);
    expect(events).toHaveLength(3); // progress lines read from job.log, not from sbatch's stdout
    expect(r.backend).toBe('stand-in (external, slurm)');
    expect(r.logTail).toContain('4242'); // sbatch's own output is logged too
    expect(r.logTail).toContain('this line is not JSON');
    const argv = JSON.parse(readFileSync(join(r.workdir, 'sbatch-argv.json'), 'utf8')) as string[];
    expect(argv).toEqual([
      '--wait',
      '--parsable',
      `--job-name=${name}`,
      `--chdir=${r.workdir}`,
      `--output=${join(r.workdir, 'job.log')}`,
      `--error=${join(r.workdir, 'job.log')}`,
      '--time=1',
      '--export=ALL',
      '--partition=test',
      '--gres=gpu:1',
      join(r.workdir, 'arlo-job.sh'),
      process.execPath,
      'job.mjs',
      '--spec',
      join(r.workdir, 'spec.json'),
      '--out',
      join(r.workdir, 'out'),
      '--mode',
      'ok',
    ]);
    expect(readFileSync(join(r.workdir, 'arlo-job.sh'), 'utf8')).toContain('exec "$@"');
    expect(readFileSync(join(r.workdir, 'job.log'), 'utf8')).not.toContain('sk-must-not-reach-sbatch');
  });

  it('slurm: cancelling kills the local submit process and runs scancel --name=<job>', async () => {
    const home = tempHome('arlo-slurm-');
    const record = join(home, 'scancel.json');
    const t = standInTemplate(FOLDER, ['--mode', 'sleep-child'], {
      runner: 'slurm',
      slurm: { submit: [process.execPath, FAKE_SBATCH], cancel: [process.execPath, FAKE_SCANCEL, '--record', record] },
    });
    const controller = new AbortController();
    const events: unknown[] = [];
    const running = runExternalJob({
      template: t,
      spec: t.baseline,
      seed: 1,
      ...paths(home),
      jobName: 'arlo-c-3-a1',
      signal: controller.signal,
      onProgress: (e) => events.push(e),
    });
    const pidsFile = join(paths(home).workdir, 'out', 'pids.json');
    await waitFor(async () => existsSync(pidsFile) && events.length >= 1, 'the slurm stand-in job to report progress', 20_000, 50);
    const pids = JSON.parse(readFileSync(pidsFile, 'utf8')) as { job: number; child: number };
    controller.abort();
    const err = await running.then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(JobCancelled);
    expect(JSON.parse(readFileSync(record, 'utf8'))).toEqual(['--name=arlo-c-3-a1']);
    expect((err as JobCancelled).logTail).toContain('cancel command ended with 0');
    expect(isRunning(pids.job)).toBe(false);
    expect(isRunning(pids.child)).toBe(false);
  });

  it('kubernetes: kubectl run --rm --attach with the pod described in --overrides; output streams back', async () => {
    const home = tempHome('arlo-k8s-');
    const record = join(home, 'kubectl.json');
    const t = standInTemplate(FOLDER, ['--mode', 'ok'], {
      runner: 'kubernetes',
      env: ['OMP_NUM_THREADS'],
      kubernetes: {
        kubectl: [process.execPath, FAKE_KUBECTL, '--record', record],
        image: 'pytorch/pytorch:2.4.0-cpu',
        namespace: 'research',
        podSpec: { nodeSelector: { pool: 'cpu' } },
        container: { resources: { limits: { memory: '2Gi' } } },
      },
    });
    const events: unknown[] = [];
    const r = await runExternalJob({
      template: t,
      spec: t.baseline,
      seed: 2,
      ...paths(home),
      jobName: 'arlo-c-3-a1',
      onProgress: (e) => events.push(e),
      sourceEnv: { PATH: process.env.PATH, HOME: '/root', OMP_NUM_THREADS: '2', OPENAI_API_KEY: 'sk-must-not-reach-the-pod' },
    });
    expect(r.metrics.val_accuracy).toBe(0.502);
    expect(events).toHaveLength(3);
    const argv = JSON.parse(readFileSync(record, 'utf8')) as string[];
    expect(argv.slice(0, 8)).toEqual([
      'run',
      'arlo-c-3-a1',
      '--image=pytorch/pytorch:2.4.0-cpu',
      '--restart=Never',
      '--rm',
      '--attach',
      '--quiet',
      '--namespace=research',
    ]);
    const overrides = JSON.parse(argv[8]!.slice('--overrides='.length));
    expect(overrides.spec.nodeSelector).toEqual({ pool: 'cpu' });
    const c = overrides.spec.containers[0];
    expect(c).toMatchObject({ name: 'arlo-c-3-a1', image: 'pytorch/pytorch:2.4.0-cpu', workingDir: r.workdir, resources: { limits: { memory: '2Gi' } } });
    const env = Object.fromEntries((c.env as Array<{ name: string; value: string }>).map((e) => [e.name, e.value]));
    expect(env).toEqual({
      OMP_NUM_THREADS: '2',
      ARLO_JOB_SPEC: join(r.workdir, 'spec.json'),
      ARLO_JOB_OUT: join(r.workdir, 'out'),
      ARLO_JOB_WORKDIR: r.workdir,
      ARLO_DATA_DIR: home,
    });
    expect(JSON.stringify(argv)).not.toContain('sk-must-not-reach-the-pod');
    expect(argv.slice(argv.indexOf('--command'))).toEqual(['--command', '--', ...c.command]);
  });

  it('kubernetes: a timeout deletes the pod; a missing image is a configuration error', async () => {
    const home = tempHome('arlo-k8s-');
    const record = join(home, 'kubectl.json');
    const t = standInTemplate(FOLDER, ['--mode', 'slow'], {
      runner: 'kubernetes',
      timeoutSeconds: 1,
      kubernetes: { kubectl: [process.execPath, FAKE_KUBECTL, '--record', record], image: 'img' },
    });
    const err = await runExternalJob({ template: t, spec: t.baseline, seed: 1, ...paths(home), jobName: 'arlo-k-1-a1' }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ExternalJobError);
    expect((err as ExternalJobError).failureClass).toBe('JobTimeout');
    expect(JSON.parse(readFileSync(`${record}.delete.json`, 'utf8'))).toEqual(['delete', 'pod', 'arlo-k-1-a1', '--now', '--ignore-not-found']);

    const noImage = standInTemplate(FOLDER, [], { runner: 'kubernetes' });
    const err2 = await runExternalJob({ template: noImage, spec: noImage.baseline, seed: 1, ...paths(home), jobName: 'x', sourceEnv: {} }).then(
      () => null,
      (e: unknown) => e,
    );
    expect((err2 as ExternalJobError).failureClass).toBe('ExternalConfigError');
    expect((err2 as Error).message).toContain('ARLO_K8S_IMAGE');
  });

  it('plans: local runs the argv as is; runner names and worker overrides are checked', () => {
    const t = standInTemplate(FOLDER, []);
    const settings = runnerSettings(t.external!, {});
    expect(settings.kind).toBe('local');
    const plan = planRun({ settings, argv: ['/usr/bin/python3', 'train.py'], workdir: '/w', jobName: 'j', env: { PATH: '/bin' }, timeoutSeconds: 10 });
    expect(plan).toMatchObject({ argv: ['/usr/bin/python3', 'train.py'], outputFile: null, cancel: null });
    expect(() => runnerSettings(t.external!, { ARLO_RUNNER: 'lsf' })).toThrow(/ARLO_RUNNER="lsf" is invalid; use one of local, slurm, kubernetes/);
    expect(() => runnerSettings(t.external!, { ARLO_SLURM_ARGS: '["ok", 3]' })).toThrow(/JSON array of strings/);
    expect(runnerSettings(t.external!, { ARLO_RUNNER: 'slurm', ARLO_SLURM_SUBMIT: '/opt/slurm/bin/sbatch' }).slurm.submit).toEqual([
      '/opt/slurm/bin/sbatch',
    ]);
    expect(jobName('My Campaign!', 12, 3)).toBe('arlo-my-campaign-12-a3');
    expect(jobName('x'.repeat(100), 1, 1).length).toBeLessThanOrEqual(63);
  });
});
