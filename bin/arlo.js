#!/usr/bin/env node
// arlo's command-line entry. arlo ships TypeScript sources, so this file registers tsx's ESM loader
// hooks in this process and then imports cli/main.ts. Paths come from import.meta.url (the real path,
// symlinks resolved by Node), so `npx arlo`, `node bin/arlo.js`, npm-link'ed and global installs and
// any working directory all work.
//
// Worker threads: hooks registered here do not reach worker_threads on Node 20, and neither does
// `--import tsx` in a Worker's execArgv ("Unknown file extension .ts"). A Worker that runs .ts code
// must start from a plain-JS file that registers tsx itself (as training/thread-bootstrap.mjs
// does). Use a file, not an `eval: true` string: an eval'd `import('tsx/esm/api')` resolves from the
// current directory and fails when arlo runs from elsewhere.

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 6)) {
  process.stderr.write(`arlo: Node ${process.versions.node} is too old; arlo needs Node 20.6 or newer.\n`);
  process.exit(1);
}

const root = new URL('../', import.meta.url);

async function run() {
  const { register } = await import('tsx/esm/api');
  const { fileURLToPath } = await import('node:url');
  // arlo's tsconfig, not one tsx would look up from the current directory.
  register({ tsconfig: fileURLToPath(new URL('tsconfig.json', root)) });
  const cli = await import(new URL('cli/main.ts', root).href);
  if (typeof cli.main === 'function') {
    const code = await cli.main(process.argv);
    if (typeof code === 'number' && code !== 0) process.exitCode = code;
  }
}

function report(err) {
  const debug = !!process.env.ARLO_DEBUG;
  if (err && err.name === 'UserError' && !debug) {
    process.stderr.write(`arlo: ${err.message}\n`);
    if (err.hint) process.stderr.write(`  ${err.hint}\n`);
  } else if (err && err.code === 'ERR_MODULE_NOT_FOUND' && /['"]tsx['"]|tsx\/esm/.test(String(err.message)) && !debug) {
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
