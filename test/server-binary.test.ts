import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { arloHome, dataDir } from '../server/arlo-home.ts';
import { findTemporalBinary, projectTemporalPath, temporalCliVersion } from '../server/temporal-binary.ts';
import { UserError, isUserError } from '../server/user-error.ts';

let tmp: string;

function fakeTemporal(dir: string, version = '1.9.1'): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'temporal');
  writeFileSync(path, `#!/bin/sh\necho "temporal version ${version} (Server 1.32.0, UI 2.54.1)"\n`);
  chmodSync(path, 0o755);
  return path;
}

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'arlo-binary-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('findTemporalBinary', () => {
  it('finds the real Temporal CLI 1.9.x on this machine (run `npm run setup` if this fails)', () => {
    const binary = findTemporalBinary();
    expect(existsSync(binary)).toBe(true);
    expect(temporalCliVersion(binary)).toMatch(/^1\.9\./);
  });

  it('prefers TEMPORAL_CLI_PATH over PATH and the project-local CLI', () => {
    const explicit = fakeTemporal(join(tmp, 'explicit'));
    const onPath = fakeTemporal(join(tmp, 'path1'));
    const project = join(tmp, 'proj1');
    fakeTemporal(join(project, '.tools', 'venv', 'bin'));
    expect(findTemporalBinary({ env: { TEMPORAL_CLI_PATH: explicit, PATH: join(tmp, 'path1') }, projectRoot: project })).toBe(
      explicit,
    );
    expect(findTemporalBinary({ env: { PATH: `/nonexistent:${join(tmp, 'path1')}` }, projectRoot: project })).toBe(onPath);
  });

  it('uses the project-local .tools/venv/bin/temporal when nothing else is there', () => {
    const project = join(tmp, 'proj2');
    const local = fakeTemporal(join(project, '.tools', 'venv', 'bin'));
    expect(projectTemporalPath(project)).toBe(local);
    expect(findTemporalBinary({ env: { PATH: '/nonexistent' }, projectRoot: project })).toBe(local);
  });

  it('skips a PATH binary of another version when the project-local one exists', () => {
    fakeTemporal(join(tmp, 'oldpath'), '1.3.0');
    const project = join(tmp, 'proj3');
    const local = fakeTemporal(join(project, '.tools', 'venv', 'bin'));
    expect(findTemporalBinary({ env: { PATH: join(tmp, 'oldpath') }, projectRoot: project })).toBe(local);
    // ...but takes it when it is the only one.
    expect(findTemporalBinary({ env: { PATH: join(tmp, 'oldpath') }, projectRoot: join(tmp, 'empty') })).toBe(
      join(tmp, 'oldpath', 'temporal'),
    );
  });

  it('TEMPORAL_CLI_PATH pointing at a missing file is a UserError with a hint (no silent fallback)', () => {
    const project = join(tmp, 'proj4');
    fakeTemporal(join(project, '.tools', 'venv', 'bin'));
    let error: unknown;
    try {
      findTemporalBinary({ env: { TEMPORAL_CLI_PATH: join(tmp, 'missing', 'temporal'), PATH: '' }, projectRoot: project });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(UserError);
    expect(isUserError(error)).toBe(true);
    const e = error as UserError;
    expect(e.message).toContain('TEMPORAL_CLI_PATH');
    expect(e.message).toContain(join(tmp, 'missing', 'temporal'));
    expect(e.hint).toContain('npm run setup');
  });

  it('with no binary anywhere, the UserError says how to get one', () => {
    let error: unknown;
    try {
      findTemporalBinary({ env: { PATH: '/nonexistent' }, projectRoot: join(tmp, 'nothing-here') });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).message).toMatch(/Temporal CLI.*not found/);
    expect((error as UserError).hint).toMatch(/npm run setup/);
    expect((error as UserError).hint).toMatch(/TEMPORAL_CLI_PATH/);
  });

  it('a non-executable TEMPORAL_CLI_PATH is rejected too', () => {
    const path = join(tmp, 'not-executable');
    writeFileSync(path, 'x');
    expect(() => findTemporalBinary({ env: { TEMPORAL_CLI_PATH: path } })).toThrow(UserError);
  });
});

describe('arlo home', () => {
  it('arloHome() resolves ARLO_HOME (default ./.arlo) and creates it; dataDir() honours ARLO_DATA_DIR', () => {
    const home = join(tmp, 'home', 'nested');
    expect(arloHome({ ARLO_HOME: home })).toBe(home);
    expect(existsSync(home)).toBe(true);
    expect(dataDir({ ARLO_HOME: home })).toBe(join(home, 'data'));
    expect(dataDir({ ARLO_HOME: home, ARLO_DATA_DIR: '/srv/data' })).toBe('/srv/data');
    const rel = relative(process.cwd(), join(tmp, 'relative-home'));
    expect(arloHome({ ARLO_HOME: rel })).toBe(join(tmp, 'relative-home'));
  });
});

describe('scripts/setup.sh', () => {
  it('is quick and quiet when everything is installed', () => {
    const started = Date.now();
    const r = spawnSync('bash', ['scripts/setup.sh'], { cwd: resolve(fileURLToPath(import.meta.url), '..', '..'), encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    expect(Date.now() - started).toBeLessThan(3000);
  });
});
