import type { MetricDirection } from '../experiments/template.ts';
import type { CampaignRecord, ExperimentRecord, HistoryRepo, ResultLine } from '../history/index.ts';
import { listCampaignIds, openHistory, readCampaign, readExperiment } from '../history/index.ts';
import { readCampaignAndResults } from '../history/read.ts';
import { arloHome } from '../server/arlo-home.ts';
import { UserError } from '../server/user-error.ts';

// What the review commands (history, show, diff, report, rerun) share: opening a campaign's
// history with errors a user can act on, the campaign's metric, and optional per-experiment
// fields that later features add to results.jsonl (spread, fidelity rung, tokens).

export interface ReviewedCampaign {
  repo: HistoryRepo;
  campaign: CampaignRecord;
  campaignId: string;
  metricName: string;
  direction: MetricDirection;
  /** Experiment template name from campaign.json, when recorded. */
  template: string | null;
  seed: number | null;
  agent: string | null;
}

function asRecord(x: unknown): Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x) ? (x as Record<string, unknown>) : {};
}

/** The campaign's history, or a UserError that lists the campaigns this home does have. */
export async function openReviewedCampaign(campaignId: string, home = arloHome()): Promise<ReviewedCampaign> {
  const repo = await openHistory(home);
  const campaign = await userErrors(() => readCampaign(repo, campaignId));
  return reviewed(repo, campaignId, campaign);
}

/** openReviewedCampaign and the results index (without commit shas), in one git call. */
export async function openReviewedCampaignWithResults(
  campaignId: string,
  home = arloHome(),
): Promise<ReviewedCampaign & { lines: ResultLine[] }> {
  const repo = await openHistory(home);
  const { campaign, lines } = await userErrors(() => readCampaignAndResults(repo, campaignId));
  return { ...(await reviewed(repo, campaignId, campaign)), lines };
}

async function userErrors<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (err) {
    if ((err as { code?: string }).code === 'INVALID_CAMPAIGN_ID') throw new UserError((err as Error).message);
    throw err;
  }
}

async function reviewed(repo: HistoryRepo, campaignId: string, campaign: CampaignRecord | null): Promise<ReviewedCampaign> {
  if (campaign === null) {
    const known = await listCampaignIds(repo);
    throw new UserError(`no history for campaign "${campaignId}" in ${repo.dir}`, {
      hint:
        (known.length > 0 ? `campaigns recorded here: ${known.slice(-10).join(', ')}. ` : '') +
        'Check the id with `arlo list`, and that ARLO_HOME points at the home the worker used.',
    });
  }
  const config = asRecord(campaign.config);
  const metric = asRecord(config.metric);
  return {
    repo,
    campaign,
    campaignId,
    metricName: typeof metric.name === 'string' ? metric.name : 'metric',
    direction: metric.direction === 'min' ? 'min' : 'max',
    template: typeof config.experiment === 'string' ? config.experiment : null,
    seed: typeof config.seed === 'number' ? config.seed : null,
    agent: typeof config.agent === 'string' ? config.agent : null,
  };
}

/** Experiment `n`, or a UserError naming the experiments that exist. */
export async function readExperimentOrFail(c: ReviewedCampaign, n: number): Promise<ExperimentRecord> {
  const rec = await readExperiment(c.repo, c.campaignId, n);
  if (!rec) {
    throw new UserError(`campaign ${c.campaignId} has no experiment ${n}`, {
      hint: `list its experiments with \`arlo history ${c.campaignId}\``,
    });
  }
  return rec;
}

/** a is better than b under the campaign's direction (null is worst). */
export function better(direction: MetricDirection, a: number | null | undefined, b: number | null | undefined): boolean {
  if (a === null || a === undefined || !Number.isFinite(a)) return false;
  if (b === null || b === undefined || !Number.isFinite(b)) return true;
  return direction === 'max' ? a > b : a < b;
}

/** Improvement of `value` over `reference` (positive = better, whatever the direction). */
export function gain(direction: MetricDirection, value: number, reference: number): number {
  return direction === 'max' ? value - reference : reference - value;
}

function finiteOrNull(x: unknown): number | null {
  return typeof x === 'number' && Number.isFinite(x) ? x : null;
}

/** Fields that later features add to a result line; null until they do. */
export interface LineExtras {
  /** Spread of the metric over seeds (e.g. a standard deviation). */
  spread: number | null;
  /** Fidelity rung the metric was measured at. */
  fidelity: string | null;
  /** LLM tokens spent proposing the experiment. */
  tokens: number | null;
}

export function lineExtras(line: ResultLine): LineExtras {
  const l = line as ResultLine & {
    spread?: unknown;
    metricSpread?: unknown;
    fidelity?: unknown;
    rung?: unknown;
    fidelityRung?: unknown;
    tokens?: unknown;
  };
  const spreadSource = l.spread ?? l.metricSpread;
  const spread = finiteOrNull(spreadSource) ?? finiteOrNull(asRecord(spreadSource).std) ?? finiteOrNull(asRecord(spreadSource).value);
  const rung = l.fidelity ?? l.rung ?? l.fidelityRung;
  const fidelity =
    typeof rung === 'string' || typeof rung === 'number'
      ? String(rung)
      : typeof asRecord(rung).name === 'string'
        ? String(asRecord(rung).name)
        : finiteOrNull(asRecord(rung).rung) !== null
          ? String(asRecord(rung).rung)
          : null;
  let tokens = finiteOrNull(l.tokens);
  if (tokens === null && l.tokens && typeof l.tokens === 'object') {
    const t = asRecord(l.tokens);
    tokens =
      finiteOrNull(t.total) ??
      (finiteOrNull(t.input) !== null || finiteOrNull(t.output) !== null
        ? (finiteOrNull(t.input) ?? 0) + (finiteOrNull(t.output) ?? 0)
        : null);
  }
  return { spread, fidelity, tokens };
}

/** 1234 → "1,234"; 1234567 → "1.23M" (compact for tables). */
export function fmtCount(x: number | null | undefined, compact = false): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '—';
  if (!compact || Math.abs(x) < 10_000) return Math.round(x).toLocaleString('en-US');
  const units: Array<[number, string]> = [
    [1e12, 'T'],
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'k'],
  ];
  for (const [size, suffix] of units) {
    if (Math.abs(x) >= size) return `${(x / size).toFixed(Math.abs(x) >= size * 100 ? 0 : 1)}${suffix}`;
  }
  return String(x);
}

/** "+0.0123" / "-0.0040" */
export function fmtSigned(x: number | null | undefined, digits = 4): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '—';
  return `${x >= 0 ? '+' : ''}${x.toFixed(digits)}`;
}

/** Terminal width for tables: the terminal's, else $COLUMNS, else 80; never below 80. */
export function terminalWidth(): number {
  const cols = process.stdout.columns ?? Number(process.env.COLUMNS);
  return Math.max(80, Number.isFinite(cols) && cols > 0 ? Math.floor(cols) : 80);
}

/** Word-wrap `text` to `width`, continuing lines with `indent`. */
export function wrap(text: string, width: number, indent = ''): string {
  const words = String(text ?? '').replace(/\s+/g, ' ').trim().split(' ');
  const lines: string[] = [];
  let current = '';
  for (const word of words) {
    if (current && current.length + 1 + word.length > width) {
      lines.push(current);
      current = word;
    } else current = current ? `${current} ${word}` : word;
  }
  if (current) lines.push(current);
  return lines.join(`\n${indent}`);
}
