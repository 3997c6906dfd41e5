import { spawnSync } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from './user-error.ts';

/** The Temporal CLI version arlo is built and tested against (matches @temporalio/* 1.24). */
export const TEMPORAL_CLI_VERSION = '1.9.1';

/** The repository root (this file lives in `<root>/server/`, compiled in `<root>/dist/server/`). */
export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), import.meta.url.endsWith('.js') ? '../..' : '..');

export interface FindTemporalBinaryOptions {
  env?: NodeJS.ProcessEnv;
  /** Folder holding `.tools/venv/bin/temporal`; defaults to the repository root. */
  projectRoot?: string;
}

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function findOnPath(name: string, pathVar: string | undefined): string | undefined {
  for (const dir of (pathVar ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

/** `temporal --version` → `1.9.1`, or undefined if it does not run. */
export function temporalCliVersion(binary: string): string | undefined {
  const r = spawnSync(binary, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  return /temporal version (\d+\.\d+\.\d+)/.exec(r.stdout ?? '')?.[1];
}

/** Path of the project-local CLI that `npm run setup` installs. */
export function projectTemporalPath(projectRoot: string = PROJECT_ROOT): string {
  return join(projectRoot, '.tools', 'venv', 'bin', process.platform === 'win32' ? 'temporal.exe' : 'temporal');
}

/**
 * The Temporal CLI to run: `TEMPORAL_CLI_PATH`, else `temporal` on PATH, else the project-local
 * `.tools/venv/bin/temporal`. When both a PATH binary and the project-local one exist, the PATH one
 * is used only if it is version 1.9.x (setup installs the local one precisely when it is not).
 * Throws a UserError saying how to get one.
 */
export function findTemporalBinary(options: FindTemporalBinaryOptions = {}): string {
  const env = options.env ?? process.env;
  const local = projectTemporalPath(options.projectRoot ?? PROJECT_ROOT);
  const howToGet =
    `run \`npm run setup\` (installs the Temporal CLI ${TEMPORAL_CLI_VERSION} into ${local}), ` +
    'or set TEMPORAL_CLI_PATH to a `temporal` binary, or set TEMPORAL_ADDRESS to use an existing server';

  const explicit = env.TEMPORAL_CLI_PATH;
  if (explicit) {
    const path = resolve(explicit);
    if (isExecutableFile(path)) return path;
    throw new UserError(`TEMPORAL_CLI_PATH is set to ${explicit}, but that is not an executable file.`, {
      hint: `Point TEMPORAL_CLI_PATH at the Temporal CLI binary, or unset it and ${howToGet}.`,
    });
  }

  const onPath = findOnPath(process.platform === 'win32' ? 'temporal.exe' : 'temporal', env.PATH);
  const localExists = isExecutableFile(local);
  if (onPath) {
    if (!localExists) return onPath;
    if (temporalCliVersion(onPath)?.startsWith('1.9.')) return onPath;
    return local;
  }
  if (localExists) return local;

  throw new UserError('The Temporal CLI (`temporal`) was not found.', {
    hint: `To get it, ${howToGet}.`,
  });
}
