// bin/arlo.js: loads the TypeScript CLI through tsx, from any directory and through a symlink.
// Runs the real bin/arlo.js in a scratch copy of the project whose cli/main.ts is a stub.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(fileURLToPath(import.meta.url), '..', '..');

const STUB_MAIN = `
import { helper, Shape } from './helper.ts';
const shape: Shape = { kind: 'typed' };
class UserError extends Error {
  hint = 'try this instead';
  constructor(message: string) { super(message); this.name = 'UserError'; }
}
export async function main(argv: string[]): Promise<number> {
  const args: string[] = argv.slice(2);
  if (args[0] === 'exit3') return 3;
  if (args[0] === 'user-error') throw new UserError('something the user can fix');
  console.log(JSON.stringify({ args, helper: helper(shape), cwd: process.cwd() }));
  return 0;
}
`;

let tmp: string;
let project: string;

function arlo(args: string[], opts: { cwd?: string; via?: string } = {}) {
  const r = spawnSync(process.execPath, [opts.via ?? join(project, 'bin', 'arlo.js'), ...args], {
    cwd: opts.cwd ?? project,
    encoding: 'utf8',
    timeout: 30_000,
    env: { ...process.env, ARLO_DEBUG: '' },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'arlo-bin-'));
  project = join(tmp, 'project');
  mkdirSync(join(project, 'bin'), { recursive: true });
  mkdirSync(join(project, 'cli'), { recursive: true });
  copyFileSync(join(ROOT, 'bin', 'arlo.js'), join(project, 'bin', 'arlo.js'));
  copyFileSync(join(ROOT, 'tsconfig.json'), join(project, 'tsconfig.json'));
  copyFileSync(join(ROOT, 'package.json'), join(project, 'package.json'));
  symlinkSync(join(ROOT, 'node_modules'), join(project, 'node_modules'));
  writeFileSync(join(project, 'cli', 'main.ts'), STUB_MAIN);
  writeFileSync(join(project, 'cli', 'helper.ts'), `export interface Shape { kind: string }\nexport const helper = (s: Shape): string => s.kind;\n`);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('bin/arlo.js', () => {
  it('imports cli/main.ts (and its .ts imports) and passes the arguments', () => {
    const r = arlo(['list', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ args: ['list', '--json'], helper: 'typed', cwd: project });
  });

  it('exits with the code main() returns', () => {
    expect(arlo(['exit3']).code).toBe(3);
  });

  it('prints a UserError that escapes main() without a stack trace', () => {
    const r = arlo(['user-error']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('arlo: something the user can fix\n  try this instead\n');
  });

  it('works from another directory and through a symlink, as npm link installs it', () => {
    const elsewhere = join(tmp, 'elsewhere');
    mkdirSync(elsewhere);
    const linkDir = join(tmp, 'global-bin');
    mkdirSync(linkDir);
    symlinkSync(join(project, 'bin', 'arlo.js'), join(linkDir, 'arlo'));
    const r = arlo(['status', 'x'], { cwd: elsewhere, via: join(linkDir, 'arlo') });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ args: ['status', 'x'], helper: 'typed', cwd: elsewhere });
  });
});
