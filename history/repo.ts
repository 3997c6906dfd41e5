import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runGit, gitDate, ZERO_OID } from './git.ts';
import { HistoryError } from './slug.ts';
import type { HistoryRepo, HistoryHooks, HistoryStep, HistoryStepContext } from './types.ts';

// The history repository and its commit engine.
//
// Recording never touches the work tree or the shared index: each operation builds its tree in a
// temporary index file (GIT_INDEX_FILE) under <gitDir>/arlo-tmp/, commits it with commit-tree and
// moves the branch with a compare-and-swap `update-ref <ref> <new> <old>`. The ref update is the
// last step, so an operation that fails anywhere leaves every ref untouched (at worst an
// unreachable object that `git gc` prunes). A lost race re-reads the tip and re-plans.

export const DEFAULT_MAX_ATTEMPTS = 16;
const TMP_DIR_NAME = 'arlo-tmp';
/** Fixed date of the deterministic root commit on `main`. */
const ROOT_DATE = '2000-01-01T00:00:00Z';

const README = `# arlo history

Written by arlo; do not commit here by hand.

- Each campaign is a branch \`campaign/<campaignId>\` whose first commit holds \`campaign.json\`.
- Every experiment (kept, discarded or failed) is one commit adding a folder
  \`<nnnn>-<slug>/\` (proposal.json, spec.json, metrics.json, curve.csv) and one line
  to \`results.jsonl\`. Commit trailers: Arlo-Campaign, Arlo-Experiment, Arlo-Workflow,
  Arlo-Status, Arlo-Metric, Arlo-Spec-Hash.
- Champions are tagged \`champion/<campaignId>/<n>\`.
`;

export interface OpenHistoryOptions {
  hooks?: HistoryHooks;
  maxAttempts?: number;
}

function isRepoDir(dir: string): boolean {
  return existsSync(join(dir, '.git', 'HEAD'));
}

function makeRepo(home: string, dir: string, opts: OpenHistoryOptions): HistoryRepo {
  return {
    home,
    dir,
    gitDir: join(dir, '.git'),
    hooks: opts.hooks ?? {},
    maxAttempts: opts.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
  };
}

/**
 * Open `<home>/history`, creating it when missing. Creation happens in a private directory that is
 * renamed into place, so concurrent callers (processes or promises) all end up with the same,
 * fully initialised repository: `main` holds one deterministic commit with a README.
 */
export async function openHistory(home: string, options: OpenHistoryOptions = {}): Promise<HistoryRepo> {
  const dir = join(home, 'history');
  if (!isRepoDir(dir)) {
    await mkdir(home, { recursive: true });
    const staging = await mkdtemp(join(home, '.history-init-'));
    try {
      await runGit(staging, ['init', '--quiet', '--initial-branch=main']);
      const gitDir = join(staging, '.git');
      // `gc --auto` (see maintainHistory) runs in the foreground of the caller, never detached.
      await runGit(staging, ['config', 'gc.autoDetach', 'false']);
      await writeRootCommit(staging, gitDir);
      // Check out main's README once so `git status` in the repository is clean for humans;
      // recording never reads or writes the work tree or the shared index.
      await runGit(staging, ['reset', '--hard', '--quiet', 'main']);
      try {
        await rename(staging, dir);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        // Someone else won the race (or the directory exists with content): fall through to the check.
        if (!['ENOTEMPTY', 'EEXIST', 'EISDIR', 'ENOTDIR'].includes(code ?? '')) throw err;
      }
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
    if (!isRepoDir(dir)) {
      throw new HistoryError('NOT_A_REPOSITORY', `${dir} exists but is not a git repository`);
    }
  }
  const repo = makeRepo(home, dir, options);
  await sweepStaleTemp(repo);
  return repo;
}

async function writeRootCommit(cwd: string, gitDir: string): Promise<void> {
  const date = gitDate(ROOT_DATE);
  const env = { GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date };
  await withTempDir(gitDir, async (tmp) => {
    const indexEnv = { ...env, GIT_INDEX_FILE: join(tmp, 'index') };
    const blob = (await runGit(cwd, ['hash-object', '-w', '--stdin'], { input: README })).trim();
    await runGit(cwd, ['update-index', '--add', '--verbose', '--cacheinfo', `100644,${blob},README.md`], {
      env: indexEnv,
    });
    const tree = (await runGit(cwd, ['write-tree'], { env: indexEnv })).trim();
    const commit = (
      await runGit(cwd, ['commit-tree', '--no-gpg-sign', tree, '-F', '-'], { env, input: 'arlo history\n' })
    ).trim();
    await casRefIn(cwd, 'refs/heads/main', commit, null, 'arlo: init');
  });
}

/** Remove temporary index directories left behind by crashed processes (older than an hour). */
async function sweepStaleTemp(repo: HistoryRepo): Promise<void> {
  const base = join(repo.gitDir, TMP_DIR_NAME);
  let entries: string[];
  try {
    entries = await readdir(base);
  } catch {
    return;
  }
  const cutoff = Date.now() - 3600_000;
  await Promise.all(
    entries.map(async (name) => {
      try {
        const s = await stat(join(base, name));
        if (s.mtimeMs < cutoff) await rm(join(base, name), { recursive: true, force: true });
      } catch {
        /* raced with its owner or another sweeper */
      }
    }),
  );
}

async function withTempDir<T>(gitDir: string, fn: (tmp: string) => Promise<T>): Promise<T> {
  const base = join(gitDir, TMP_DIR_NAME);
  await mkdir(base, { recursive: true });
  const tmp = await mkdtemp(join(base, `${process.pid}-`));
  try {
    return await fn(tmp);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** Directory that holds per-operation temporary index files (for tests/diagnostics). */
export function tempRoot(repo: HistoryRepo): string {
  return join(repo.gitDir, TMP_DIR_NAME);
}

export function git(repo: HistoryRepo, args: string[], opts?: Parameters<typeof runGit>[2]): Promise<string> {
  return runGit(repo.dir, args, opts);
}

/**
 * Commit a ref points to, or null when the ref does not exist. (`cat-file --batch-check` always
 * prints a line, which keeps simple-git from adding its 50 ms "no output yet" grace delay.)
 */
export async function refTip(repo: HistoryRepo, ref: string): Promise<string | null> {
  const out = (await git(repo, ['cat-file', '--batch-check'], { input: `${ref}\n` })).trim();
  const m = /^([0-9a-f]{40,64}) commit \d+$/.exec(out);
  return m ? m[1]! : null;
}

/**
 * Compare-and-swap `ref` from `oldOid` (null: must not exist) to `newOid` in one update-ref
 * transaction. Throws when the ref moved, exists, or is locked by a concurrent writer.
 */
export async function casRef(
  repo: HistoryRepo,
  ref: string,
  newOid: string,
  oldOid: string | null,
  reflog: string,
): Promise<void> {
  await casRefIn(repo.dir, ref, newOid, oldOid, reflog);
}

async function casRefIn(cwd: string, ref: string, newOid: string, oldOid: string | null, reflog: string): Promise<void> {
  const input = `start\nupdate ${ref} ${newOid} ${oldOid ?? ZERO_OID}\nprepare\ncommit\n`;
  const out = await runGit(cwd, ['update-ref', '-m', reflog, '--stdin'], { input });
  if (!/commit: ok/.test(out)) throw new Error(`update-ref of ${ref} did not commit: ${out.trim()}`);
}

/** Root-level entry names of a commit's tree. */
export async function rootNames(repo: HistoryRepo, commit: string): Promise<string[]> {
  const out = await git(repo, ['ls-tree', '-z', '--name-only', commit]);
  return out.split('\0').filter(Boolean);
}

/**
 * Contents of several `<commit>:<path>` blobs in one `git cat-file --batch` call; null for each
 * one that does not exist. Paths must not contain newlines (ours never do).
 */
export async function readBlobs(repo: HistoryRepo, commit: string, paths: string[]): Promise<Array<string | null>> {
  if (paths.length === 0) return [];
  const input = paths.map((p) => `${commit}:${p}\n`).join('');
  // Blobs we write are always valid UTF-8, so re-encoding the decoded output gives the exact bytes.
  const out = Buffer.from(await git(repo, ['cat-file', '--batch'], { input }), 'utf8');
  const results: Array<string | null> = [];
  let pos = 0;
  for (const path of paths) {
    const nl = out.indexOf(0x0a, pos);
    if (nl < 0) throw new HistoryError('CORRUPT', `unexpected end of cat-file output reading ${path}`);
    const header = out.subarray(pos, nl).toString('utf8');
    pos = nl + 1;
    if (header.endsWith(' missing') || header.endsWith(' ambiguous')) {
      results.push(null);
      continue;
    }
    const m = /^[0-9a-f]+ (\w+) (\d+)$/.exec(header);
    if (!m) throw new HistoryError('CORRUPT', `unexpected cat-file header ${JSON.stringify(header)} for ${path}`);
    const size = Number(m[2]);
    results.push(m[1] === 'blob' ? out.subarray(pos, pos + size).toString('utf8') : null);
    pos += size + 1; // content is followed by a newline
  }
  return results;
}

/** Content of `<commit>:<path>`, or null when the path does not exist there. */
export async function readBlob(repo: HistoryRepo, commit: string, path: string): Promise<string | null> {
  return (await readBlobs(repo, commit, [path]))[0] ?? null;
}

/**
 * Pack loose objects. Plumbing never triggers git's automatic gc, and every record writes a new
 * (growing) results.jsonl blob, so without packing (which deltas those versions against each
 * other) loose objects grow quadratically with the number of experiments. `auto` lets git decide
 * (gc.auto threshold); otherwise a full `git gc`. Safe alongside concurrent writers (git's prune
 * grace period protects objects not yet referenced). Best effort: errors are swallowed.
 */
export async function maintainHistory(repo: HistoryRepo, opts: { auto?: boolean } = {}): Promise<void> {
  try {
    await git(repo, ['gc', '--quiet', ...(opts.auto === false ? [] : ['--auto'])]);
  } catch {
    /* another gc holds the lock, or nothing to do */
  }
}

// ---------------------------------------------------------------------------------------------
// Compare-and-swap commit engine

export interface CommitPlan {
  /** Files to add or replace (paths relative to the branch root). */
  files: Array<{ path: string; content: string }>;
  message: string;
  /** ISO time used as author and committer date. */
  date: string;
  /** Short reflog note (fixed text; never user input). */
  reflog: string;
}

export type PlanResult = { kind: 'commit'; plan: CommitPlan } | { kind: 'exists'; commit: string };

/**
 * Advance `ref` by one commit built from its current tip. `planFor` is called with the tip at the
 * start of every attempt (null when the ref does not exist yet, in which case the commit is a
 * root commit and the ref is created); it either returns the files/message for the new commit or
 * reports that the work is already there. Lost races (the ref moved or was locked) are retried
 * with jittered backoff up to `repo.maxAttempts` times.
 */
export async function advanceRef(
  repo: HistoryRepo,
  ref: string,
  planFor: (tip: string | null) => Promise<PlanResult>,
): Promise<{ commit: string; created: boolean }> {
  const blobCache = new Map<string, string>(); // content -> blob sha, reused across attempts
  let lastError: unknown;
  for (let attempt = 1; attempt <= repo.maxAttempts; attempt++) {
    const started = Date.now();
    const tip = await refTip(repo, ref);
    const planned = await planFor(tip);
    if (planned.kind === 'exists') return { commit: planned.commit, created: false };
    const { plan } = planned;
    const commit = await withTempDir(repo.gitDir, async (tmp) => {
      const indexFile = join(tmp, 'index');
      const ctx: HistoryStepContext = { branch: ref, attempt, indexFile };
      const step = async (s: HistoryStep) => {
        await repo.hooks.beforeStep?.(s, ctx);
      };
      const dateEnv = { GIT_AUTHOR_DATE: gitDate(plan.date), GIT_COMMITTER_DATE: gitDate(plan.date) };
      const indexEnv = { GIT_INDEX_FILE: indexFile };

      // Loading the tip into the temporary index and writing the blobs are independent: run both
      // at once. (A root commit starts from no index file at all: update-index creates it.)
      await step('read-tree');
      await step('hash-object');
      // allSettled: both processes have exited before a failure lets the temp dir be removed.
      const [loaded, hashed] = await Promise.allSettled([
        tip ? git(repo, ['read-tree', tip], { env: indexEnv }) : Promise.resolve(''),
        hashBlobs(repo, tmp, plan.files.map((f) => f.content), blobCache),
      ]);
      if (loaded.status === 'rejected') throw loaded.reason;
      if (hashed.status === 'rejected') throw hashed.reason;
      const shas = hashed.value;

      await step('update-index');
      const cacheinfo = plan.files.flatMap((f, i) => ['--cacheinfo', `100644,${shas[i]},${f.path}`]);
      await git(repo, ['update-index', '--add', '--verbose', ...cacheinfo], { env: indexEnv });

      await step('write-tree');
      const tree = (await git(repo, ['write-tree'], { env: indexEnv })).trim();

      await step('commit-tree');
      const parents = tip ? ['-p', tip] : [];
      return (
        await git(repo, ['commit-tree', '--no-gpg-sign', tree, ...parents, '-F', '-'], {
          env: dateEnv,
          input: plan.message,
        })
      ).trim();
    });

    await repo.hooks.beforeStep?.('update-ref', { branch: ref, attempt, indexFile: '' });
    try {
      await casRef(repo, ref, commit, tip, plan.reflog);
      return { commit, created: true };
    } catch (err) {
      // Lost the race (ref moved, created, or locked by a concurrent update): re-read and re-plan.
      lastError = err;
      await sleep(backoffMs(attempt, Date.now() - started));
    }
  }
  throw new HistoryError(
    'CAS_EXHAUSTED',
    `could not update ${ref} after ${repo.maxAttempts} attempts (concurrent writers?): ${
      lastError instanceof Error ? lastError.message : String(lastError)
    }`,
    { cause: lastError },
  );
}

/**
 * Write blobs for `contents` (skipping ones already written by an earlier attempt) with ONE
 * `git hash-object -w --no-filters -- <files>` call over files in the operation's temp dir:
 * one process instead of one per file, and empty content needs no special case.
 */
async function hashBlobs(
  repo: HistoryRepo,
  tmp: string,
  contents: string[],
  cache: Map<string, string>,
): Promise<string[]> {
  const missing = [...new Set(contents.filter((c) => !cache.has(c)))];
  if (missing.length > 0) {
    const paths = await Promise.all(
      missing.map(async (content, i) => {
        const path = join(tmp, `blob-${i}`);
        await writeFile(path, content, 'utf8');
        return path;
      }),
    );
    const shas = (await git(repo, ['hash-object', '-w', '--no-filters', '--', ...paths])).trim().split('\n');
    if (shas.length !== missing.length) {
      throw new HistoryError('CORRUPT', `hash-object returned ${shas.length} ids for ${missing.length} files`);
    }
    missing.forEach((content, i) => cache.set(content, shas[i]!.trim()));
  }
  return contents.map((c) => cache.get(c)!);
}

/**
 * Full-jitter exponential backoff scaled by how long one attempt took, so writers that keep
 * colliding spread out over a window comparable to the work they redo (capped at 1 s).
 */
function backoffMs(attempt: number, attemptMs: number): number {
  const window = Math.min(1000, Math.max(10, attemptMs) * 2 ** Math.min(attempt - 1, 4));
  return Math.random() * window;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
