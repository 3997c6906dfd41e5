import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import type { Spec } from '../arch/spec.ts';
import { getTemplate } from '../experiments/index.ts';
import { runTrainingInThread } from '../training/run-in-thread.ts';
import type { EpochReport } from '../training/train.ts';

const DATA_DIR = process.env.ARLO_DATA_DIR ?? '/work/shared/data';
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const run = promisify(execFile);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'arlo-thread-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const digits = getTemplate('digits');
const shortDigits: Spec = { ...digits.baseline, recipe: { ...digits.baseline.recipe, epochs: 3 } };

describe('runTrainingInThread', () => {
  it('trains in a worker thread, posts epoch reports, keeps the caller event loop free', async () => {
    const reports: EpochReport[] = [];
    let ticks = 0;
    const timer = setInterval(() => ticks++, 20);
    const t0 = performance.now();
    const r = await runTrainingInThread({
      templateName: 'digits',
      spec: { ...digits.baseline, recipe: { ...digits.baseline.recipe, epochs: 6 } },
      seed: 1,
      dataDir: DATA_DIR,
      onEpoch: (e) => reports.push(e),
    });
    clearInterval(timer);
    const ms = performance.now() - t0;
    expect(r.backend).toBe('wasm');
    expect(r.curve.length).toBe(6);
    expect(reports).toEqual(r.curve);
    expect(r.metrics.val_accuracy).toBeGreaterThan(0.8);
    // A 20 ms timer kept firing while the worker trained (>= ~half the ideal count).
    expect(ticks).toBeGreaterThan(ms / 20 / 2);
  });

  it('gives the same result as another run with the same seed', async () => {
    const [a, b] = await Promise.all([
      runTrainingInThread({ template: digits, spec: shortDigits, seed: 3, dataDir: DATA_DIR }),
      runTrainingInThread({ template: digits, spec: shortDigits, seed: 3, dataDir: DATA_DIR }),
    ]);
    expect(a.metrics).toEqual(b.metrics);
  });

  it('rejects with TrainingCancelled soon after the AbortSignal fires', async () => {
    const deep = getTemplate('deep-mlp'); // a ~10 s training
    const ac = new AbortController();
    let epochs = 0;
    const p = runTrainingInThread({ template: deep, spec: deep.baseline, seed: 1, signal: ac.signal, onEpoch: () => epochs++ });
    setTimeout(() => ac.abort(), 1500);
    const t0 = performance.now();
    await expect(p).rejects.toMatchObject({ name: 'TrainingCancelled' });
    expect(performance.now() - t0).toBeLessThan(2500);
    expect(epochs).toBe(0);
  });

  it('rejects at once for an already aborted signal', async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(
      runTrainingInThread({ template: digits, spec: shortDigits, seed: 1, dataDir: DATA_DIR, signal: ac.signal }),
    ).rejects.toMatchObject({ name: 'TrainingCancelled' });
  });

  it('rejects with the real error from the worker', async () => {
    await expect(runTrainingInThread({ template: digits, spec: shortDigits, seed: 1, dataDir: tmp })).rejects.toMatchObject({
      name: 'DatasetError',
      message: expect.stringMatching(/digits\.csv not found; looked for .*Set ARLO_DATA_DIR/),
    });
    const bad: Spec = {
      ...shortDigits,
      arch: { ...shortDigits.arch, nodes: shortDigits.arch.nodes.map((n) => (n.id === 'logits' ? { ...n, inputs: ['nope'] as [string] } : n)) },
    };
    await expect(runTrainingInThread({ template: digits, spec: bad, seed: 1, dataDir: DATA_DIR })).rejects.toMatchObject({
      name: 'CompileError',
      message: 'node logits: input nope does not exist',
    });
    await expect(runTrainingInThread({ templateName: 'nope', spec: shortDigits, seed: 1 })).rejects.toThrow(
      /unknown experiment template "nope"; known templates: deep-mlp, digits/,
    );
  });

  // The worker must load thread.ts however the parent runs TypeScript.
  const script = `
    import { runTrainingInThread } from ${JSON.stringify(path.join(ROOT, 'training/run-in-thread.ts'))};
    import { getTemplate } from ${JSON.stringify(path.join(ROOT, 'experiments/index.ts'))};
    const t = getTemplate('digits');
    const r = await runTrainingInThread({ template: t, spec: { ...t.baseline, recipe: { ...t.baseline.recipe, epochs: 1 } }, seed: 1, dataDir: ${JSON.stringify(DATA_DIR)} });
    console.log(JSON.stringify({ backend: r.backend, epochs: r.curve.length }));
  `;
  const scriptFile = path.join(tmp, 'run.mts'); // .mts: ESM without a package.json
  fs.writeFileSync(scriptFile, script);
  const expectOk = (stdout: string): void => {
    const last = stdout.trim().split('\n').pop()!;
    expect(JSON.parse(last)).toEqual({ backend: 'wasm', epochs: 1 });
  };

  it('works from a script run with the tsx CLI', async () => {
    const tsxCli = path.join(ROOT, 'node_modules/tsx/dist/cli.mjs');
    const { stdout } = await run(process.execPath, [tsxCli, scriptFile], { cwd: ROOT, timeout: 60_000 });
    expectOk(stdout);
  });

  it('works from a script run with node --import tsx', async () => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', scriptFile], { cwd: ROOT, timeout: 60_000 });
    expectOk(stdout);
  });
});
