import { git, readBlob, readBlobs, refTip, rootNames } from './repo.ts';
import { parseCurveCsv, TRAILER } from './format.ts';
import { branchRef, campaignIdFromBranch, HistoryError, padN, validateN } from './slug.ts';
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
