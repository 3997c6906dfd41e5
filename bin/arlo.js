#!/usr/bin/env node
// arlo's command-line entry. arlo ships TypeScript sources. When the compiled build (`npm run
// build`, dist/) is present and up to date, this file imports dist/cli/main.js with plain Node;
// otherwise it registers tsx's ESM loader hooks in this process and imports cli/main.ts. Paths come
// from import.meta.url (the real path, symlinks resolved by Node), so `npx arlo`, `node
// bin/arlo.js`, npm-link'ed and global installs and any working directory all work.
//
// Up to date means: dist/.build-stamp exists (the build writes it last, with the time the build
// started) and no file under the sources of what dist/ holds (dist/cli -> cli/, dist/worker.js ->
// worker.ts, ...), nor tsconfig.json / tsconfig.build.json, was modified or replaced after it. A
// source edited without a rebuild therefore runs from source, never as old compiled code. The
// check stats ~150 files (a few ms). ARLO_FROM_SOURCE=1 always runs from source; ARLO_DEBUG=1 says
// which one runs.
//
// Worker threads: hooks registered here do not reach worker_threads on Node 20, and neither does
// `--import tsx` in a Worker's execArgv ("Unknown file extension .ts"). A Worker that runs .ts code
// must start from a plain-JS file that registers tsx itself (as training/thread-bootstrap.mjs
// does). Use a file, not an `eval: true` string: an eval'd `import('tsx/esm/api')` resolves from the
// current directory and fails when arlo runs from elsewhere.

import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 6)) {
  process.stderr.write(`arlo: Node ${process.versions.node} is too old; arlo needs Node 20.6 or newer.\n`);
  process.exit(1);
}

const root = new URL('../', import.meta.url);

async function run() {
  let cli;
  const built = buildIsFresh();
  if (process.env.ARLO_DEBUG) {
    process.stderr.write(built ? 'arlo: running the build in dist/\n' : 'arlo: running the sources through tsx (no up-to-date build in dist/)\n');
  }
  if (built) {
    cli = await import(new URL('dist/cli/main.js', root).href);
  } else {
    const { register } = await import('tsx/esm/api');
    const { fileURLToPath } = await import('node:url');
    // arlo's tsconfig, not one tsx would look up from the current directory.
    register({ tsconfig: fileURLToPath(new URL('tsconfig.json', root)) });
    cli = await import(new URL('cli/main.ts', root).href);
  }
  if (typeof cli.main === 'function') {
    const code = await cli.main(process.argv);
    if (typeof code === 'number' && code !== 0) process.exitCode = code;
  }
}

/** True when dist/ holds a complete build newer than every source it was compiled from. */
function buildIsFresh() {
  if (process.env.ARLO_FROM_SOURCE) return false;
  try {
    const rootDir = fileURLToPathSafe(root);
    const dist = join(rootDir, 'dist');
    const stamp = statSync(join(dist, '.build-stamp')).mtimeMs;
    const newer = (p) => {
      const s = statSync(p, { throwIfNoEntry: false });
      // ctime too: a file copied or checked out with an old mtime still counts as changed.
      return s !== undefined && Math.max(s.mtimeMs, s.ctimeMs) > stamp;
    };
    const newerInside = (dir) => {
      let entries;
      try {
        entries = readdirSync(dir, { withFileTypes: true });
      } catch {
        return false; // a folder that no longer exists has nothing newer
      }
      for (const e of entries) {
        if (e.isDirectory()) {
          if (e.name !== '__pycache__' && newerInside(join(dir, e.name))) return true;
        } else if (newer(join(dir, e.name))) {
          return true;
        }
      }
      return false;
    };
    if (newer(join(rootDir, 'tsconfig.json')) || newer(join(rootDir, 'tsconfig.build.json'))) return false;
    let main = false;
    for (const e of readdirSync(dist, { withFileTypes: true })) {
      if (e.name.startsWith('.')) continue;
      if (e.isDirectory()) {
        if (e.name === 'cli') main = existsSync(join(dist, 'cli', 'main.js'));
        if (newerInside(join(rootDir, e.name))) return false;
      } else if (e.name.endsWith('.js') && newer(join(rootDir, `${e.name.slice(0, -3)}.ts`))) {
        return false;
      }
    }
    return main;
  } catch {
    return false; // no build (or an unreadable one): run from source
  }
}

function report(err) {
  const debug = !!process.env.ARLO_DEBUG;
  if (err && err.name === 'UserError' && !debug) {
    process.stderr.write(`arlo: ${err.message}\n`);
    if (err.hint) process.stderr.write(`  ${err.hint}\n`);
  } else if (err && err.code === 'ERR_MODULE_NOT_FOUND' && /Cannot find package |['"]tsx['"]|tsx\/esm/.test(String(err.message)) && !debug) {
    process.stderr.write(
      `arlo: dependencies are not installed (${err.message.split('\n')[0]}).\n  Run \`npm run setup\` in ${fileURLToPathSafe(root)}\n`,
    );
  } else {
    // Not a user mistake (e.g. a module failed to load): the stack is what a bug report needs.
    process.stderr.write(`arlo: ${err?.stack ?? String(err)}\n`);
  }
  process.exitCode = 1;
}

function fileURLToPathSafe(url) {
  return decodeURIComponent(url.pathname);
}

try {
  await run();
} catch (err) {
  report(err);
}

// Every command has finished when run() settles (long-running ones such as `arlo worker` or
// `arlo server` resolve only when they stop). Do not let a forgotten handle keep the CLI alive.
setTimeout(() => {
  if (process.env.ARLO_DEBUG) process.stderr.write('arlo: forcing exit (a handle was still open)\n');
  process.exit();
}, 3000).unref();
