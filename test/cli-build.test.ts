// The compiled build (npm run build -> dist/) and bin/arlo.js's choice between it and the sources:
// a scratch project with the real bin/arlo.js, scripts/setup.sh and tsconfig files and a two-file
// stub CLI, built with the real `setup.sh --build` (tsc -p tsconfig.build.json, a second or two).
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(fileURLToPath(import.meta.url), '..', '..');
// What the build copies next to the compiled modules (scripts/setup.sh, BUILD_ASSETS).
const ASSETS = ['agents/llm/prompt.md', 'training/thread-bootstrap.mjs', 'training/external/python/arlo_spec.py'];

const STUB_MAIN = `
import { version } from './helper.ts';
export async function main(argv: string[]): Promise<number> {
  // A compiled module's URL ends in .js (dist/cli/main.js), a source's in .ts.
  console.log(JSON.stringify({ from: import.meta.url.endsWith('.js') ? 'dist' : 'source', version: version(), args: argv.slice(2) }));
  return 0;
}
`;
const helper = (v: number): string => `export const version = (): number => ${v};\n`;

let tmp: string;
let project: string;

function arlo(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [join(project, 'bin', 'arlo.js'), ...args], {
    cwd: tmp,
    encoding: 'utf8',
    timeout: 30_000,
    env: { ...process.env, ARLO_DEBUG: '', ARLO_FROM_SOURCE: '', ...env },
  });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { from: string; version: number; args: string[] };
}

/**
 * `setup.sh --build`, then dates the stamp now (the real build stamps its start time; sources
 * written just before a quick build would otherwise look newer), and waits a little so that an
 * edit after the build is newer than the stamp whatever the file system's timestamp granularity.
 */
function build(): void {
  const r = spawnSync('bash', [join(project, 'scripts', 'setup.sh'), '--build'], { encoding: 'utf8', timeout: 60_000 });
  expect(r.status, r.stderr + r.stdout).toBe(0);
  const now = new Date();
  utimesSync(join(project, 'dist', '.build-stamp'), now, now);
  const until = Date.now() + 50;
  while (Date.now() < until) {
    // (spin: this helper is synchronous)
  }
}

/** Dates the stamp now (sources unchanged since count as built), then lets the clock move on. */
async function restamp(): Promise<void> {
  const now = new Date();
  utimesSync(join(project, 'dist', '.build-stamp'), now, now);
  await new Promise((r) => setTimeout(r, 20));
}

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'arlo-build-'));
  project = join(tmp, 'project');
  for (const f of ['bin/arlo.js', 'scripts/setup.sh', 'tsconfig.json', 'tsconfig.build.json', 'package.json', ...ASSETS]) {
    mkdirSync(dirname(join(project, f)), { recursive: true });
    copyFileSync(join(ROOT, f), join(project, f));
  }
  symlinkSync(join(ROOT, 'node_modules'), join(project, 'node_modules'));
  mkdirSync(join(project, 'cli'));
  writeFileSync(join(project, 'cli', 'main.ts'), STUB_MAIN);
  writeFileSync(join(project, 'cli', 'helper.ts'), helper(1));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('npm run build and bin/arlo.js', () => {
  it('runs the sources through tsx while there is no build', () => {
    expect(arlo(['history', 'x'])).toEqual({ from: 'source', version: 1, args: ['history', 'x'] });
  });

  it('runs dist/cli/main.js once built (.ts imports rewritten, assets copied)', () => {
    build();
    expect(arlo(['history', 'x'])).toEqual({ from: 'dist', version: 1, args: ['history', 'x'] });
    const r = spawnSync(process.execPath, [join(project, 'bin', 'arlo.js')], { encoding: 'utf8', env: { ...process.env, ARLO_DEBUG: '1' } });
    expect(r.stderr).toContain('running the build in dist/');
    for (const f of ASSETS) expect(spawnSync('cmp', [join(project, f), join(project, 'dist', f)]).status, f).toBe(0);
  });

  it('falls back to the sources when one was edited after the build, until the next build', () => {
    writeFileSync(join(project, 'cli', 'helper.ts'), helper(2));
    expect(arlo(['list'])).toEqual({ from: 'source', version: 2, args: ['list'] }); // never the old compiled code
    build();
    expect(arlo(['list'])).toEqual({ from: 'dist', version: 2, args: ['list'] });
  });

  it('setup.sh rebuilds a stale dist/ in the background: it returns at once, quietly', async () => {
    writeFileSync(join(project, 'cli', 'helper.ts'), helper(3));
    // An executable TEMPORAL_CLI_PATH ends setup.sh after the build step.
    const r = spawnSync('bash', [join(project, 'scripts', 'setup.sh')], {
      encoding: 'utf8',
      timeout: 30_000,
      env: { ...process.env, TEMPORAL_CLI_PATH: '/bin/true' },
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    const done = () => existsSync(join(project, 'dist', '.build-stamp')) && !existsSync(join(project, 'dist', '.build-lock'));
    for (const until = Date.now() + 60_000; !done() && Date.now() < until; ) await new Promise((w) => setTimeout(w, 100));
    expect(arlo([])).toEqual({ from: 'dist', version: 3, args: [] });
  });

  it('treats a changed tsconfig, a new source file or a missing stamp as stale; ARLO_FROM_SOURCE=1 forces the sources', async () => {
    const stale: Array<[string, () => void]> = [
      ['ARLO_FROM_SOURCE=1', () => undefined],
      ['tsconfig.build.json changed', () => utimesSync(join(project, 'tsconfig.build.json'), new Date(), new Date())],
      ['a new file in a compiled folder', () => writeFileSync(join(project, 'cli', 'new-command.ts'), 'export {};\n')],
      ['no stamp (during a build, or after a failed one)', () => rmSync(join(project, 'dist', '.build-stamp'))],
    ];
    for (const [what, change] of stale) {
      await restamp(); // as if the build had just finished: everything before now is older
      expect(arlo([]).from, `before: ${what}`).toBe('dist');
      change();
      expect(arlo([], what.startsWith('ARLO_FROM_SOURCE') ? { ARLO_FROM_SOURCE: '1' } : {}).from, what).toBe('source');
    }
  });
});
