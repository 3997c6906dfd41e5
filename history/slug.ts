// Names used inside the history repository: branches, tags, experiment folders.

export type HistoryErrorCode =
  | 'INVALID_CAMPAIGN_ID'
  | 'INVALID_RECORD'
  | 'CAMPAIGN_NOT_FOUND'
  | 'CAS_EXHAUSTED'
  | 'TAG_CONFLICT'
  | 'NOT_A_REPOSITORY'
  | 'CORRUPT';

export class HistoryError extends Error {
  readonly code: HistoryErrorCode;
  constructor(code: HistoryErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HistoryError';
    this.code = code;
  }
}

const CAMPAIGN_ID_RE = /^[A-Za-z0-9_.-]{1,64}$/;

/** Why `id` is not a usable campaign id, or null when it is. */
export function campaignIdProblem(id: unknown): string | null {
  if (typeof id !== 'string') return 'it must be a string';
  if (!CAMPAIGN_ID_RE.test(id)) {
    return "use 1 to 64 characters from letters, digits, '-', '_' and '.'";
  }
  // Git ref-name rules that the character set alone does not exclude.
  if (id.startsWith('.')) return "it must not start with '.'";
  if (id.endsWith('.')) return "it must not end with '.'";
  if (id.includes('..')) return "it must not contain '..'";
  if (id.toLowerCase().endsWith('.lock')) return "it must not end with '.lock'";
  return null;
}

export function isValidCampaignId(id: unknown): id is string {
  return campaignIdProblem(id) === null;
}

export function validateCampaignId(id: unknown): string {
  const problem = campaignIdProblem(id);
  if (problem !== null) {
    const shown = typeof id === 'string' ? JSON.stringify(id.length > 80 ? `${id.slice(0, 80)}…` : id) : typeof id;
    throw new HistoryError('INVALID_CAMPAIGN_ID', `invalid campaign id ${shown}: ${problem}`);
  }
  return id as string;
}

export const BRANCH_PREFIX = 'campaign/';

/** `campaign/<campaignId>` (validates the id). */
export function branchName(campaignId: string): string {
  return `${BRANCH_PREFIX}${validateCampaignId(campaignId)}`;
}

/** `refs/heads/campaign/<campaignId>` */
export function branchRef(campaignId: string): string {
  return `refs/heads/${branchName(campaignId)}`;
}

/** Inverse of branchName; null when `branch` is not a campaign branch. */
export function campaignIdFromBranch(branch: string): string | null {
  const b = branch.startsWith('refs/heads/') ? branch.slice('refs/heads/'.length) : branch;
  if (!b.startsWith(BRANCH_PREFIX)) return null;
  const id = b.slice(BRANCH_PREFIX.length);
  return isValidCampaignId(id) ? id : null;
}

/** `champion/<campaignId>/<n>` */
export function championTagName(campaignId: string, n: number): string {
  return `champion/${validateCampaignId(campaignId)}/${validateN(n)}`;
}

export function validateN(n: unknown): number {
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1) {
    throw new HistoryError('INVALID_RECORD', `invalid experiment number ${String(n)}: must be an integer >= 1`);
  }
  return n;
}

/** Experiment number padded to 4 digits (wider numbers are kept whole): 7 → "0007". */
export function padN(n: number): string {
  return String(validateN(n)).padStart(4, '0');
}

export const SLUG_MAX = 40;

/**
 * Folder-safe slug of a hypothesis: lowercase ASCII letters, digits and single dashes, at most 40
 * characters, cut at a word boundary when one is near. "Add bypass h3 → h7" → "add-bypass-h3-h7".
 * Never empty ("experiment" when nothing usable is left).
 */
export function slugify(text: string): string {
  const ascii = String(text ?? '')
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase();
  let slug = ascii.replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
  if (slug.length > SLUG_MAX) {
    const cut = slug.slice(0, SLUG_MAX);
    const lastDash = cut.lastIndexOf('-');
    // Prefer a word boundary unless that would throw away most of the slug.
    slug = slug[SLUG_MAX] === '-' ? cut : lastDash >= SLUG_MAX / 2 ? cut.slice(0, lastDash) : cut;
    slug = slug.replace(/-+$/g, '');
  }
  return slug || 'experiment';
}

/** `<n padded>-<slug>`, e.g. "0007-add-bypass-h3-h7". */
export function experimentFolder(n: number, hypothesis: string): string {
  return `${padN(n)}-${slugify(hypothesis)}`;
}

/** The experiment number of a root-level folder name, or null when it is not an experiment folder. */
export function folderNumber(name: string): number | null {
  const m = /^(\d{4,})-/.exec(name);
  return m ? Number(m[1]) : null;
}
