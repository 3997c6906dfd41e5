import { advanceRef, casRef, git, maintainHistory, readBlob, refTip, rootNames } from './repo.ts';
import {
  campaignJson,
  campaignMessage,
  curveToCsv,
  experimentMessage,
  jsonFile,
  metricsJson,
  resultLine,
} from './format.ts';
import { findExperimentCommit, findFolder } from './read.ts';
import {
  branchRef,
  championTagName,
  experimentFolder,
  HistoryError,
  validateCampaignId,
  validateN,
} from './slug.ts';
import type { CampaignRecord, ExperimentRecord, HistoryRepo } from './types.ts';

// Writers. Each is one compare-and-swap ref update (see advanceRef) and idempotent.

const STATUSES = new Set(['kept', 'discarded', 'failed']);

/** Every this many experiments a record lets git pack loose objects (`gc --auto`). */
const MAINTAIN_EVERY = 50;

function invalid(message: string): never {
  throw new HistoryError('INVALID_RECORD', message);
}

function checkIso(value: unknown, field: string): void {
  if (typeof value !== 'string' || !Number.isFinite(Date.parse(value))) {
    invalid(`${field} must be an ISO date string, got ${JSON.stringify(value)}`);
  }
}

function serialisable(value: unknown, field: string, where = ''): void {
  try {
    JSON.stringify(value);
  } catch (err) {
    invalid(`${where}${field} is not JSON-serialisable (${(err as Error).message.split('\n')[0]}); pass plain JSON data: no cycles, BigInt or class instances`);
  }
}

function validateExperiment(rec: ExperimentRecord): void {
  if (typeof rec !== 'object' || rec === null) invalid('experiment record must be an object');
  validateCampaignId(rec.campaignId);
  validateN(rec.n);
  // Every message names the experiment: nothing was written, and the caller can fix that one record.
  const where = `experiment ${rec.n} of ${rec.campaignId}: `;
  const bad = (message: string): never => invalid(`${where}${message}`);
  if (!STATUSES.has(rec.status)) bad(`status must be kept, discarded or failed, got ${JSON.stringify(rec.status)}`);
  for (const field of ['workflowId', 'hypothesis', 'specHash', 'metricName'] as const) {
    if (typeof rec[field] !== 'string') bad(`${field} must be a string, got ${rec[field] === null ? 'null' : typeof rec[field]}`);
  }
  if (rec.metric !== null && typeof rec.metric !== 'number') bad('metric must be a number or null');
  if (typeof rec.metric === 'number' && !Number.isFinite(rec.metric)) {
    // JSON would store NaN/Infinity as null: a kept result without its number.
    bad(`metric ${rec.metric} is not finite; record a diverged or failed run with status "failed" and metric null`);
  }
  if (!rec.decision || typeof rec.decision !== 'object') bad('decision must be an object');
  if (!Array.isArray(rec.curve)) bad('curve must be an array of rows');
  if (typeof rec.durationMs !== 'number') bad('durationMs must be a number');
  checkIso(rec.recordedAt, `${where}recordedAt`);
  serialisable(rec.proposal, 'proposal', where);
  serialisable(rec.spec, 'spec', where);
  serialisable(rec.metrics, 'metrics', where);
  const reserved = new Set(['proposal.json', 'spec.json', 'metrics.json', 'curve.csv']);
  for (const [name, content] of Object.entries(rec.attachments ?? {})) {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name) || reserved.has(name)) {
      bad(
        `attachment name ${JSON.stringify(name)} must be a plain file name (letters, digits, ".", "_", "-"; no "/") ` +
          `other than ${[...reserved].join(', ')}`,
      );
    }
    if (typeof content !== 'string') bad(`attachment ${name} must be a string`);
  }
}

/**
 * Create `campaign/<id>` with a root commit holding campaign.json and an empty results.jsonl.
 * Idempotent: when the branch exists nothing is written and `created` is false.
 */
export async function initCampaign(repo: HistoryRepo, rec: CampaignRecord): Promise<{ created: boolean }> {
  validateCampaignId(rec?.campaignId);
  checkIso(rec.createdAt, 'createdAt');
  serialisable(rec.config, 'config');
  const { created } = await advanceRef(repo, branchRef(rec.campaignId), async (tip) => {
    if (tip) return { kind: 'exists', commit: tip };
    return {
      kind: 'commit',
      plan: {
        files: [
          { path: 'campaign.json', content: campaignJson(rec) },
          { path: 'results.jsonl', content: '' },
        ],
        message: campaignMessage(rec),
        date: rec.createdAt,
        reflog: 'arlo: init campaign',
      },
    };
  });
  return { created };
}

/**
 * Record one experiment as one commit on its campaign branch: folder `<nnnn>-<slug>/` with
 * proposal.json, spec.json, metrics.json, curve.csv and any attachments (e.g. log.txt, prompt.md),
 * plus one appended results.jsonl line.
 *
 * Idempotent by (campaign, n): if the tip already has a folder for `n` (from an earlier attempt of
 * this record, or a concurrent one that won the race) the existing commit is returned with
 * `created: false` and nothing is written. The commit content depends only on `rec` and the
 * parent, never on the current time.
 */
export async function recordExperiment(
  repo: HistoryRepo,
  rec: ExperimentRecord,
): Promise<{ commit: string; created: boolean }> {
  validateExperiment(rec);
  const folder = experimentFolder(rec.n, rec.hypothesis);
  const line = resultLine(rec);
  const files = [
    { path: `${folder}/proposal.json`, content: jsonFile(rec.proposal ?? null) },
    { path: `${folder}/spec.json`, content: jsonFile(rec.spec) },
    { path: `${folder}/metrics.json`, content: metricsJson(rec) },
    { path: `${folder}/curve.csv`, content: curveToCsv(rec.curve) },
    ...Object.entries(rec.attachments ?? {}).map(([name, content]) => ({ path: `${folder}/${name}`, content })),
  ];
  const message = experimentMessage(rec);

  const result = await advanceRef(repo, branchRef(rec.campaignId), async (tip) => {
    if (!tip) {
      throw new HistoryError(
        'CAMPAIGN_NOT_FOUND',
        `campaign ${rec.campaignId} has no history branch; call initCampaign first`,
      );
    }
    const [names, current] = await Promise.all([rootNames(repo, tip), readBlob(repo, tip, 'results.jsonl')]);
    const existing = findFolder(names, rec.n);
    if (existing) {
      const commit = await findExperimentCommit(repo, tip, rec.n, existing);
      if (!commit) {
        throw new HistoryError('CORRUPT', `experiment ${rec.n} of ${rec.campaignId} has a folder but no commit`);
      }
      return { kind: 'exists', commit };
    }
    let results = current ?? '';
    if (results.length > 0 && !results.endsWith('\n')) results += '\n';
    return {
      kind: 'commit',
      plan: {
        files: [...files, { path: 'results.jsonl', content: `${results}${line}\n` }],
        message,
        date: rec.recordedAt,
        reflog: 'arlo: record experiment',
      },
    };
  });
  if (result.created && rec.n % MAINTAIN_EVERY === 0) await maintainHistory(repo, { auto: true });
  return result;
}

/**
 * Lightweight tag `champion/<campaignId>/<n>` on `commit` (which must be on the campaign branch).
 * Idempotent: an existing tag on the same commit gives `created: false`; on another commit it is
 * an error (TAG_CONFLICT).
 */
export async function tagChampion(
  repo: HistoryRepo,
  campaignId: string,
  n: number,
  commit: string,
): Promise<{ tag: string; commit: string; created: boolean }> {
  const tag = championTagName(campaignId, n);
  const ref = `refs/tags/${tag}`;
  if (typeof commit !== 'string' || !/^[0-9a-f]{4,64}$/i.test(commit)) invalid(`invalid commit ${JSON.stringify(commit)}`);
  let full: string;
  try {
    full = (await git(repo, ['rev-parse', '--verify', '--quiet', `${commit}^{commit}`])).trim();
  } catch {
    invalid(`unknown commit ${commit}`);
  }
  const branch = branchRef(campaignId);
  const tip = await refTip(repo, branch);
  if (!tip) throw new HistoryError('CAMPAIGN_NOT_FOUND', `campaign ${campaignId} has no history branch`);
  // (merge-base prints the base, unlike the silent --is-ancestor; unrelated histories fail.)
  const base = await git(repo, ['merge-base', full, tip]).then((o) => o.trim(), () => '');
  if (base !== full) invalid(`commit ${full} is not on ${branch.slice('refs/heads/'.length)}`);

  for (let attempt = 1; attempt <= repo.maxAttempts; attempt++) {
    const current = await refTip(repo, ref);
    if (current === full) return { tag, commit: full, created: false };
    if (current) {
      throw new HistoryError('TAG_CONFLICT', `tag ${tag} already points to ${current}, not ${full}`);
    }
    try {
      await casRef(repo, ref, full, null, 'arlo: tag champion');
      return { tag, commit: full, created: true };
    } catch {
      await new Promise((r) => setTimeout(r, 5 * attempt));
    }
  }
  throw new HistoryError('CAS_EXHAUSTED', `could not create tag ${tag}`);
}
