import { spawn } from 'node:child_process';
import { GitCommandError } from './git.ts';
import { git, readBlob, readBlobs, refTip, rootNames } from './repo.ts';
import { parseCurveCsv, TRAILER } from './format.ts';
import { branchRef, campaignIdFromBranch, folderNumber, HistoryError, padN, validateCampaignId, validateN } from './slug.ts';
import type { CampaignRecord, ExperimentRecord, HistoryRepo, ResultLine } from './types.ts';

// Readers. All read a branch's tip commit (object database only; no work tree, no index).

/**
 * Map experiment number → commit sha for every experiment commit reachable from `tip`, in one
 * `git log` pass over the Arlo-Experiment trailers. `grep` optionally narrows the walk to one n.
 */
export async function commitsFromLog(repo: HistoryRepo, tip: string, onlyN?: number): Promise<Map<number, string>> {
  const args = ['log', `--format=%x1e%H%x00%(trailers:key=${TRAILER.experiment},valueonly,separator=%x2C)`];
  if (onlyN !== undefined) args.push(`--grep=^${TRAILER.experiment}: ${onlyN}$`);
  args.push(tip, '--');
  const out = await git(repo, args);
  const map = new Map<number, string>();
  for (const record of out.split('\x1e')) {
    const nul = record.indexOf('\0');
    if (nul < 0) continue;
    const sha = record.slice(0, nul).trim();
    const value = record.slice(nul + 1).trim();
    if (!value) continue;
    const n = Number(value.split(',')[0]);
    // Log order is newest first; keep the newest should a number ever appear twice.
    if (Number.isSafeInteger(n) && n > 0 && !map.has(n)) map.set(n, sha);
  }
  return map;
}

/** Map experiment number → commit sha for a campaign (empty when the branch does not exist). */
export async function commitsByExperiment(repo: HistoryRepo, campaignId: string): Promise<Map<number, string>> {
  const tip = await refTip(repo, branchRef(campaignId));
  return tip ? commitsFromLog(repo, tip) : new Map();
}

/** The commit that recorded experiment `n` (reachable from `tip`), or null. */
export async function findExperimentCommit(
  repo: HistoryRepo,
  tip: string,
  n: number,
  folder?: string,
): Promise<string | null> {
  const byTrailer = (await commitsFromLog(repo, tip, n)).get(n);
  if (byTrailer) return byTrailer;
  if (!folder) return null;
  // Fallback: the commit that added the folder (should a trailer ever be missing).
  const out = await git(repo, ['log', '-1', '--format=%H', '--diff-filter=A', tip, '--', `${folder}/`]);
  return out.trim() || null;
}

/** The root folder of experiment `n` in a tree listing (`<nnnn>-<slug>`), if present. */
export function findFolder(names: string[], n: number): string | undefined {
  const prefix = `${padN(n)}-`;
  return names.find((name) => name.startsWith(prefix));
}

function parseJson<T>(text: string, what: string): T {
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new HistoryError('CORRUPT', `${what} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * All results.jsonl lines of a campaign (sorted by n), each with the commit that recorded it.
 * One `cat-file` and one `log` call whatever the size; [] when the branch does not exist.
 */
export async function readResults(repo: HistoryRepo, campaignId: string): Promise<ResultLine[]> {
  const tip = await refTip(repo, branchRef(campaignId));
  if (!tip) return [];
  const [text, commits] = await Promise.all([readBlob(repo, tip, 'results.jsonl'), commitsFromLog(repo, tip)]);
  if (!text) return [];
  const lines: ResultLine[] = [];
  let lineNo = 0;
  for (const raw of text.split('\n')) {
    lineNo++;
    if (raw.trim() === '') continue;
    const line = parseJson<ResultLine>(raw, `results.jsonl line ${lineNo} of campaign ${campaignId}`);
    const commit = commits.get(line.n);
    lines.push(commit ? { ...line, commit } : line);
  }
  return lines.sort((a, b) => a.n - b.n);
}

/** An experiment's files read back into a record; null when the campaign or experiment is unknown. */
export async function readExperiment(
  repo: HistoryRepo,
  campaignId: string,
  n: number,
): Promise<ExperimentRecord | null> {
  validateN(n);
  const tip = await refTip(repo, branchRef(campaignId));
  if (!tip) return null;
  const folder = findFolder(await rootNames(repo, tip), n);
  if (!folder) return null;
  const [proposal, spec, metrics, curve] = await readBlobs(repo, tip, [
    `${folder}/proposal.json`,
    `${folder}/spec.json`,
    `${folder}/metrics.json`,
    `${folder}/curve.csv`,
  ]);
  if (metrics === null || metrics === undefined) {
    throw new HistoryError('CORRUPT', `${folder}/metrics.json is missing on campaign ${campaignId}`);
  }
  const m = parseJson<Omit<ExperimentRecord, 'proposal' | 'spec' | 'curve'>>(metrics, `${folder}/metrics.json`);
  return {
    campaignId: m.campaignId,
    n: m.n,
    workflowId: m.workflowId,
    status: m.status,
    hypothesis: m.hypothesis,
    proposal: proposal ? parseJson(proposal, `${folder}/proposal.json`) : null,
    spec: spec ? parseJson(spec, `${folder}/spec.json`) : (null as never),
    specHash: m.specHash,
    metricName: m.metricName,
    metric: m.metric,
    metrics: m.metrics,
    curve: curve ? parseCurveCsv(curve) : [],
    decision: m.decision,
    ...(m.evaluation ? { evaluation: m.evaluation } : {}),
    error: m.error ?? null,
    durationMs: m.durationMs,
    recordedAt: m.recordedAt,
  };
}

/** campaign.json of a campaign, or null when its branch does not exist. */
export async function readCampaign(repo: HistoryRepo, campaignId: string): Promise<CampaignRecord | null> {
  const tip = await refTip(repo, branchRef(campaignId));
  if (!tip) return null;
  const text = await readBlob(repo, tip, 'campaign.json');
  if (text === null) throw new HistoryError('CORRUPT', `campaign.json is missing on campaign ${campaignId}`);
  const rec = parseJson<CampaignRecord>(text, `campaign.json of ${campaignId}`);
  return { campaignId: rec.campaignId, config: rec.config, createdAt: rec.createdAt };
}

/** Campaign branch names (`campaign/<id>`), sorted. */
export async function listCampaignBranches(repo: HistoryRepo): Promise<string[]> {
  const out = await git(repo, ['for-each-ref', '--format=%(refname)', 'refs/heads/campaign/']);
  return out
    .split('\n')
    .filter((ref) => ref && campaignIdFromBranch(ref) !== null)
    .map((ref) => ref.slice('refs/heads/'.length))
    .sort();
}

/** Campaign ids that have a branch, sorted. */
export async function listCampaignIds(repo: HistoryRepo): Promise<string[]> {
  return (await listCampaignBranches(repo)).map((b) => campaignIdFromBranch(b)!);
}

// ---------------------------------------------------------------------------------------------
// Bulk readers for reviewing a campaign (history, show, diff, report). Each is a fixed number of
// git processes whatever the number of experiments.

/** The files of one experiment folder, by file name (proposal.json, spec.json, log.txt, ...). */
export interface ExperimentFiles {
  n: number;
  folder: string;
  files: Record<string, string>;
}

/** Folders and blob ids of experiment files on `tip` (one `ls-tree` call). */
async function experimentBlobs(
  repo: HistoryRepo,
  tip: string,
  ns: ReadonlySet<number> | null,
  names: ReadonlySet<string> | null,
): Promise<ExperimentBlob[]> {
  const args = ['ls-tree', '-r', '-z', '--full-tree', tip];
  if (ns !== null && ns.size <= 64) {
    // A few experiments: list only their folders (their names come from the root listing).
    const roots = await rootNames(repo, tip);
    const folders = [...ns].map((n) => findFolder(roots, n)).filter((f): f is string => f !== undefined);
    if (folders.length === 0) return [];
    args.push('--', ...folders);
  }
  const out = (await gitBuffer(repo, args)).toString('utf8');
  const entries: ExperimentBlob[] = [];
  for (const record of out.split('\0')) {
    // "<mode> blob <sha>\t<folder>/<name>"
    const tab = record.indexOf('\t');
    if (tab < 0) continue;
    const path = record.slice(tab + 1);
    const slash = path.indexOf('/');
    if (slash < 0 || path.indexOf('/', slash + 1) >= 0) continue;
    const [, type, sha] = record.slice(0, tab).split(' ');
    if (type !== 'blob' || !sha) continue;
    const folder = path.slice(0, slash);
    const n = folderNumber(folder);
    if (n === null || (ns !== null && !ns.has(n))) continue;
    const name = path.slice(slash + 1);
    if (names !== null && !names.has(name)) continue;
    entries.push({ n, folder, name, sha });
  }
  return entries;
}

/** Contents of blobs by id in one `git cat-file --batch` call. */
export async function readBlobsById(repo: HistoryRepo, shas: readonly string[]): Promise<Map<string, string>> {
  const unique = [...new Set(shas)];
  const result = new Map<string, string>();
  if (unique.length === 0) return result;
  const out = await gitBuffer(repo, ['cat-file', '--batch'], `${unique.join('\n')}\n`);
  parseBatch(out, unique.length).forEach((b, i) => {
    if (b && b.type === 'blob') result.set(unique[i]!, out.toString('utf8', b.start, b.end));
  });
  return result;
}

/** One file of an experiment folder at a campaign's tip, with its blob id (content address). */
export interface ExperimentBlob {
  n: number;
  folder: string;
  name: string;
  sha: string;
}

/**
 * Blob ids of experiment files at a campaign's tip (one `ls-tree` call; two for a few
 * experiments): all experiments or those in `ns`, all files or those in `names`. Blob ids are
 * content addresses, so callers can cache what they derive from a file by its id.
 */
export async function listExperimentBlobs(
  repo: HistoryRepo,
  campaignId: string,
  opts: { ns?: readonly number[]; names?: readonly string[] } = {},
): Promise<ExperimentBlob[]> {
  const tip = await refTip(repo, branchRef(campaignId));
  if (!tip) return [];
  return experimentBlobs(repo, tip, opts.ns ? new Set(opts.ns) : null, opts.names ? new Set(opts.names) : null);
}

/**
 * The files of many experiments at a campaign's tip: all experiments, or those in `ns`; all
 * files, or those in `names`. One `ls-tree` and one `cat-file --batch` call (two `ls-tree` for a
 * few experiments). Experiments that are not recorded are absent from the map.
 */
export async function readExperimentFiles(
  repo: HistoryRepo,
  campaignId: string,
  opts: { ns?: readonly number[]; names?: readonly string[] } = {},
): Promise<Map<number, ExperimentFiles>> {
  const result = new Map<number, ExperimentFiles>();
  const entries = await listExperimentBlobs(repo, campaignId, opts);
  const blobs = await readBlobsById(repo, entries.map((e) => e.sha));
  for (const e of entries) {
    let item = result.get(e.n);
    if (!item) {
      item = { n: e.n, folder: e.folder, files: {} };
      result.set(e.n, item);
    }
    const content = blobs.get(e.sha);
    if (content !== undefined) item.files[e.name] = content;
  }
  return result;
}

/** Champion tags of a campaign: experiment number → tagged commit. */
export async function readChampionTags(repo: HistoryRepo, campaignId: string): Promise<Map<number, string>> {
  const prefix = `refs/tags/champion/${validateCampaignId(campaignId)}/`;
  const out = await git(repo, ['for-each-ref', '--format=%(refname) %(objectname)', prefix]);
  const tags = new Map<number, string>();
  for (const line of out.split('\n')) {
    const [ref, sha] = line.trim().split(' ');
    if (!ref || !sha || !ref.startsWith(prefix)) continue;
    const n = Number(ref.slice(prefix.length));
    if (Number.isSafeInteger(n) && n > 0) tags.set(n, sha);
  }
  return tags;
}

/**
 * results.jsonl of a campaign (sorted by n) WITHOUT the commit shas: one `cat-file` call, no
 * walk over the branch's commits, for views that do not show commits ([] without a branch).
 */
export async function readResultLines(repo: HistoryRepo, campaignId: string): Promise<ResultLine[]> {
  const [text] = await readBranchFiles(repo, campaignId, ['results.jsonl']);
  return text ? parseResultLines(text, campaignId) : [];
}

/**
 * campaign.json and results.jsonl of a campaign in ONE git call (the quickest way to answer
 * `arlo history`); campaign null when the branch does not exist.
 */
export async function readCampaignAndResults(
  repo: HistoryRepo,
  campaignId: string,
): Promise<{ campaign: CampaignRecord | null; lines: ResultLine[] }> {
  const [campaignText, resultsText] = await readBranchFiles(repo, campaignId, ['campaign.json', 'results.jsonl']);
  if (campaignText === null) return { campaign: null, lines: [] };
  const rec = parseJson<CampaignRecord>(campaignText, `campaign.json of ${campaignId}`);
  return {
    campaign: { campaignId: rec.campaignId, config: rec.config, createdAt: rec.createdAt },
    lines: resultsText ? parseResultLines(resultsText, campaignId) : [],
  };
}

/** Files at the tip of a campaign branch (null when missing, or when the branch is). One git call. */
async function readBranchFiles(repo: HistoryRepo, campaignId: string, paths: string[]): Promise<Array<string | null>> {
  const ref = branchRef(campaignId);
  const out = await gitBuffer(repo, ['cat-file', '--batch'], paths.map((p) => `${ref}:${p}\n`).join(''));
  const parsed = parseBatch(out, paths.length);
  return parsed.map((b) => (b && b.type === 'blob' ? out.toString('utf8', b.start, b.end) : null));
}

/** Offsets of each object in `git cat-file --batch` output; null for a missing one. */
function parseBatch(out: Buffer, count: number): Array<{ type: string; start: number; end: number } | null> {
  const result: Array<{ type: string; start: number; end: number } | null> = [];
  let pos = 0;
  for (let i = 0; i < count; i++) {
    const nl = out.indexOf(0x0a, pos);
    if (nl < 0) throw new HistoryError('CORRUPT', 'unexpected end of cat-file output');
    const header = out.toString('latin1', pos, nl);
    pos = nl + 1;
    if (header.endsWith(' missing') || header.endsWith(' ambiguous')) {
      result.push(null);
      continue;
    }
    const m = /^[0-9a-f]+ (\w+) (\d+)$/.exec(header);
    if (!m) throw new HistoryError('CORRUPT', `unexpected cat-file header ${JSON.stringify(header)}`);
    const size = Number(m[2]);
    result.push({ type: m[1]!, start: pos, end: pos + size });
    pos += size + 1; // content is followed by a newline
  }
  return result;
}

/** Ambient variables that would redirect git (GIT_DIR, GIT_INDEX_FILE, ...) or prompt a human. */
const DROPPED_ENV = /^(git|editor$|visual$|pager$|prefix$|ssh_askpass$)/i;

/**
 * `git <args>` with stdout as a Buffer. For reads with large outputs (a results.jsonl of 10,000
 * lines, thousands of blobs): simple-git (history/git.ts) handles output as strings, which costs
 * tens of milliseconds per megabyte. Same environment rules as history/git.ts: no inherited GIT_*
 * variables, no prompts; user text never reaches argv.
 */
function gitBuffer(repo: HistoryRepo, args: string[], input?: string): Promise<Buffer> {
  const out: Buffer[] = [];
  return gitStream(repo, args, input, (chunk) => out.push(chunk)).then(() => Buffer.concat(out));
}

/** `git <args>`, handing stdout to `onData` chunk by chunk (see gitBuffer for the environment). */
function gitStream(repo: HistoryRepo, args: string[], input: string | undefined, onData: (chunk: Buffer) => void): Promise<void> {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined && !DROPPED_ENV.test(key.trim())) env[key] = value;
  env.GIT_TERMINAL_PROMPT = '0';
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, { cwd: repo.dir, env, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    const err: Buffer[] = [];
    let failed: unknown = null;
    child.stdout!.on('data', (chunk: Buffer) => {
      if (failed) return;
      try {
        onData(chunk);
      } catch (e) {
        failed = e;
        child.kill();
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', (e) => reject(new GitCommandError(args, e.message, { cause: e })));
    child.on('close', (code) => {
      if (failed) reject(failed);
      else if (code === 0) resolve();
      else reject(new GitCommandError(args, `${Buffer.concat(err).toString('utf8').trim()} (exit code ${code})`));
    });
    if (input !== undefined) {
      child.stdin!.on('error', () => undefined); // git exiting early surfaces through 'close'
      child.stdin!.end(input);
    }
  });
}

/**
 * Calls `onBlob` with the content of each blob in `shas` as `git cat-file --batch` streams it
 * (missing ones are skipped), so thousands of large blobs are processed while git reads them and
 * never held in memory at once. One git call.
 */
export async function forEachBlob(
  repo: HistoryRepo,
  shas: readonly string[],
  onBlob: (sha: string, content: string) => void,
): Promise<void> {
  const unique = [...new Set(shas)];
  if (unique.length === 0) return;
  let pending: Buffer = Buffer.alloc(0);
  let index = 0;
  let need: { type: string; size: number } | null = null;
  await gitStream(repo, ['cat-file', '--batch'], `${unique.join('\n')}\n`, (chunk) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    let pos = 0;
    for (;;) {
      if (need === null) {
        const nl = pending.indexOf(0x0a, pos);
        if (nl < 0) break;
        const header = pending.toString('latin1', pos, nl);
        pos = nl + 1;
        if (header.endsWith(' missing') || header.endsWith(' ambiguous')) {
          index++;
          continue;
        }
        const m = /^[0-9a-f]+ (\w+) (\d+)$/.exec(header);
        if (!m) throw new HistoryError('CORRUPT', `unexpected cat-file header ${JSON.stringify(header)}`);
        need = { type: m[1]!, size: Number(m[2]) };
      }
      if (pending.length - pos < need.size + 1) break;
      if (need.type === 'blob') onBlob(unique[index]!, pending.toString('utf8', pos, pos + need.size));
      pos += need.size + 1;
      index++;
      need = null;
    }
    pending = pos >= pending.length ? Buffer.alloc(0) : pending.subarray(pos);
  });
}

/** results.jsonl text → lines sorted by n. */
export function parseResultLines(text: string, campaignId: string): ResultLine[] {
  const lines: ResultLine[] = [];
  let lineNo = 0;
  for (const raw of text.split('\n')) {
    lineNo++;
    if (raw.trim() === '') continue;
    lines.push(parseJson<ResultLine>(raw, `results.jsonl line ${lineNo} of campaign ${campaignId}`));
  }
  return lines.sort((a, b) => a.n - b.n);
}
