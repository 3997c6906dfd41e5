import { simpleGit, type SimpleGit } from 'simple-git';

// The one place that spawns git. Every call gets a fresh simple-git instance, because `.env()`
// mutates the instance and concurrent operations use different temporary index files.
//
// User-supplied text (hypotheses, messages, file contents) only ever reaches git through stdin,
// never argv, so it cannot be mistaken for an option (or trip simple-git's argument guards).

export const ARLO_IDENT = { name: 'arlo', email: 'arlo@localhost' } as const;

/** Environment keys we set explicitly; simple-git 4 rejects explicit GIT_* keys unless allowed. */
const OUR_ENV_KEYS = [
  'GIT_INDEX_FILE',
  'GIT_AUTHOR_NAME',
  'GIT_AUTHOR_EMAIL',
  'GIT_AUTHOR_DATE',
  'GIT_COMMITTER_NAME',
  'GIT_COMMITTER_EMAIL',
  'GIT_COMMITTER_DATE',
  'GIT_TERMINAL_PROMPT',
] as const;
type OurEnvKey = (typeof OUR_ENV_KEYS)[number];

/** Ambient keys simple-git guards (GIT_*, editors, pagers ...): dropped from the inherited env. */
const GUARDED_PLAIN_KEYS = new Set(['editor', 'visual', 'pager', 'prefix', 'ssh_askpass']);

function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined) continue;
    const k = key.toLowerCase().trim();
    if (k.startsWith('git') || GUARDED_PLAIN_KEYS.has(k)) continue;
    env[key] = value;
  }
  env.GIT_AUTHOR_NAME = ARLO_IDENT.name;
  env.GIT_AUTHOR_EMAIL = ARLO_IDENT.email;
  env.GIT_COMMITTER_NAME = ARLO_IDENT.name;
  env.GIT_COMMITTER_EMAIL = ARLO_IDENT.email;
  env.GIT_TERMINAL_PROMPT = '0';
  return env;
}

export class GitCommandError extends Error {
  readonly args: readonly string[];
  constructor(args: readonly string[], message: string, options?: { cause?: unknown }) {
    super(`git ${args[0] ?? ''} failed: ${message}`, options);
    this.name = 'GitCommandError';
    this.args = args;
  }
}

export interface RunGitOptions {
  env?: Partial<Record<OurEnvKey, string>>;
  /** Written to git's stdin. */
  input?: string | Buffer;
}

function instance(cwd: string, opts: RunGitOptions): SimpleGit {
  const input = opts.input;
  const git = simpleGit({
    baseDir: cwd,
    allowEnvironment: [...OUR_ENV_KEYS],
    // simple-git only treats "non-zero exit AND stderr output" as failure; we want any non-zero exit.
    errors(error, result) {
      if (error) return error;
      if (result.exitCode !== 0) {
        return Buffer.concat([...result.stdErr, Buffer.from(`git exited with code ${result.exitCode}`)]);
      }
      return undefined;
    },
    ...(input !== undefined ? { input: () => input } : {}),
  });
  return git.env({ ...baseEnv(), ...(opts.env ?? {}) });
}

/** Run `git <args>` in `cwd`; resolves with stdout, rejects with GitCommandError on any non-zero exit. */
export async function runGit(cwd: string, args: string[], opts: RunGitOptions = {}): Promise<string> {
  if (opts.input !== undefined && Buffer.byteLength(opts.input) === 0) {
    // simple-git does not close stdin for empty input; callers must not rely on it.
    throw new Error(`runGit: empty stdin is not supported (git ${args[0]})`);
  }
  try {
    return await instance(cwd, opts).raw(args);
  } catch (err) {
    const message = err instanceof Error ? err.message.trim() : String(err);
    throw new GitCommandError(args, message, { cause: err });
  }
}

/** Git's "<unix seconds> +0000" date for an ISO time (which must be a valid date). */
export function gitDate(iso: string, what = 'time'): string {
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms)) throw new Error(`invalid ${what} ${JSON.stringify(iso)}: expected an ISO date`);
  return `${Math.floor(ms / 1000)} +0000`;
}

export const EMPTY_BLOB = 'e69de29bb2d1d6434b8b29ae775ad8c2e48c5391';
export const ZERO_OID = '0000000000000000000000000000000000000000';
