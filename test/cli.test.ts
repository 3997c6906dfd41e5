import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempHome } from './helpers/temporal-env.ts';

// The real `arlo` entry point as a user runs it: help for every command, clear errors, exit codes.

const BIN = join(import.meta.dirname, '..', 'bin', 'arlo.js');

function arlo(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', ARLO_HOME: tempHome('arlo-cli-'), ...env },
    timeout: 60_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('arlo CLI', () => {
  it('lists every command in --help', () => {
    const r = arlo(['--help']);
    expect(r.code).toBe(0);
    for (const cmd of ['demo', 'server', 'worker', 'start', 'status', 'list', 'history', 'pause', 'unpause', 'stop', 'resume']) {
      expect(r.out).toMatch(new RegExp(`\\n\\s+${cmd}\\b`));
    }
  });

  it('has --help for each command', () => {
    for (const [cmd, flag] of [
      ['demo', '--experiments'],
      ['worker', '--slots'],
      ['start', '--experiment'],
      ['history', '--json'],
      ['status', '--json'],
      ['list', '--limit'],
      ['server', 'stop'],
      ['resume', '<id>'],
      ['pause', '<id>'],
    ]) {
      const r = arlo([cmd!, '--help']);
      expect(r.code, cmd).toBe(0);
      expect(r.out, cmd).toContain(flag);
    }
  });

  it('rejects bad flags and unknown commands with a non-zero exit', () => {
    expect(arlo(['frobnicate']).code).not.toBe(0);
    const slots = arlo(['worker', '--slots', 'zero']);
    expect(slots.code).not.toBe(0);
    expect(slots.err).toContain('--slots must be a whole number');
  });

  it('explains what to do when start is missing its experiment or names an unknown one', () => {
    const none = arlo(['start'], { TEMPORAL_ADDRESS: '127.0.0.1:1' });
    expect(none.code).toBe(1);
    expect(none.err).toContain('arlo start --experiment');
    expect(none.err).not.toMatch(/at .*\.ts:\d+/); // no stack trace
  });

  it('reports a campaign file error with the field named', () => {
    const dir = tempHome('arlo-cli-yaml-');
    const path = join(dir, 'c.yaml');
    writeFileSync(path, 'experiment: deep-mlp\nbudget: { experiments: -2 }\n');
    const r = arlo(['start', path], { TEMPORAL_ADDRESS: '127.0.0.1:1' });
    expect(r.code).toBe(1);
    expect(r.err).toContain('budget.experiments');
  });

  it('says how to get history for an unknown campaign', () => {
    const r = arlo(['history', 'nope']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/nope/);
  });
});
