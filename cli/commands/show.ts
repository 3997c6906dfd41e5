import { countParams, forwardMacs } from '../../arch/cost.ts';
import { diffSpecs, formatSpecDiff } from '../../arch/diff.ts';
import type { Spec } from '../../arch/spec.ts';
import { rungLabel } from '../../history/format.ts';
import { commitsFromLog, readChampionTags, readExperimentFiles } from '../../history/read.ts';
import { refTip } from '../../history/repo.ts';
import { branchRef, championTagName } from '../../history/slug.ts';
import { color, fmtDuration, fmtMetric } from '../format.ts';
import {
  fmtCount,
  fmtSigned,
  gain,
  openReviewedCampaign,
  readExperimentOrFail,
  terminalWidth,
  wrap,
  type ReviewedCampaign,
} from '../review.ts';
import { sparkline } from '../sparkline.ts';

const STANDARD_FILES = new Set(['proposal.json', 'spec.json', 'metrics.json', 'curve.csv']);
export const LOG_TAIL_LINES = 20;
/** Curve columns that are bookkeeping, not measurements. */
const CURVE_SKIP = new Set(['epoch', 'epochs', 'seconds', 'step', 'steps']);

interface ProposalView {
  agent: string | null;
  /** LLM model and tokens spent on this proposal (proposal.llm), when an LLM proposed it. */
  model: string | null;
  tokens: number | null;
  rationale: string | null;
  expectedEffect: string | null;
  parent: number | null;
  editDescriptions: string[];
  note: string | null;
}

export function proposalView(proposal: unknown): ProposalView {
  const p = (typeof proposal === 'object' && proposal !== null ? proposal : {}) as Record<string, unknown>;
  const str = (x: unknown) => (typeof x === 'string' && x.trim() !== '' ? x : null);
  const llm = (typeof p.llm === 'object' && p.llm !== null ? p.llm : {}) as { model?: unknown; usage?: { totalTokens?: unknown } };
  return {
    agent: str(p.agent),
    model: str(llm.model),
    tokens: typeof llm.usage?.totalTokens === 'number' ? llm.usage.totalTokens : null,
    rationale: str(p.rationale),
    expectedEffect: str(p.expectedEffect),
    parent: typeof p.parent === 'number' && Number.isInteger(p.parent) ? p.parent : null,
    editDescriptions: Array.isArray(p.editDescriptions) ? p.editDescriptions.filter((d): d is string => typeof d === 'string') : [],
    note: str(p.note),
  };
}

/** Params and forward multiply-accumulates of a spec; nulls when its shapes cannot be inferred. */
export function specCost(spec: Spec | null | undefined): { params: number | null; macs: number | null } {
  try {
    return spec ? { params: countParams(spec.arch), macs: forwardMacs(spec.arch) } : { params: null, macs: null };
  } catch {
    return { params: null, macs: null };
  }
}

/** Curve columns worth plotting, with their values per epoch. */
export function curveSeries(curve: ReadonlyArray<Record<string, number>>): Array<{ name: string; values: number[] }> {
  const names: string[] = [];
  for (const row of curve) for (const k of Object.keys(row)) if (!CURVE_SKIP.has(k) && !names.includes(k)) names.push(k);
  return names.map((name) => ({ name, values: curve.map((row) => (typeof row[name] === 'number' ? row[name]! : NaN)) }));
}

function recordedFidelity(metrics: Record<string, unknown>): string | null {
  for (const key of ['fidelity', 'rung']) {
    const v = metrics[key];
    if (typeof v === 'string' || typeof v === 'number') return String(v);
  }
  return null;
}

/** A recorded spread of the metric (`spread`, `<metric>_spread` or `<metric>_std`), else null. */
function metricSpread(metrics: Record<string, unknown>, metricName: string): number | null {
  for (const key of ['spread', `${metricName}_spread`, `${metricName}_std`]) {
    const v = metrics[key];
    if (typeof v === 'number' && Number.isFinite(v)) return v;
  }
  return null;
}

function testText(stats: Record<string, unknown> | null): string | null {
  if (!stats) return null;
  const num = (k: string, digits = 3) => (typeof stats[k] === 'number' ? Number(stats[k]).toPrecision(digits) : null);
  const ci = Array.isArray(stats.ci) ? `CI [${(stats.ci as number[]).map((x) => x.toFixed(4)).join(', ')}]` : null;
  const parts = [
    num('statistic') !== null ? `t=${num('statistic', 4)}` : null,
    num('df') !== null ? `df=${Number(stats.df).toFixed(1)}` : null,
    num('pValue') !== null ? `p=${num('pValue', 2)}` : null,
    ci,
    `α=${String(stats.alpha)}`,
    typeof stats.minEffect === 'number' && stats.minEffect > 0 ? `min effect ${stats.minEffect}` : null,
    Array.isArray(stats.seeds) ? `seeds ${(stats.seeds as number[]).join(', ')}` : null,
  ];
  return `${String(stats.test)}: ${parts.filter(Boolean).join(', ')}`;
}

function parseHoldout(text: string): ShowResult['holdout'] {
  try {
    const h = JSON.parse(text) as Record<string, unknown>;
    const n = (k: string) => (typeof h[k] === 'number' ? (h[k] as number) : null);
    return {
      metric: String(h.metric ?? 'holdout'),
      holdout: n('holdout'),
      validation: n('validationMean') ?? n('validation'),
      gap: n('gap'),
      ...(typeof h.error === 'string' ? { error: h.error } : {}),
    };
  } catch {
    return { metric: 'holdout', holdout: null, validation: null, gap: null, error: 'holdout.json is not valid JSON' };
  }
}

function tail(text: string, lines: number): string[] {
  const all = text.replace(/\s+$/, '').split('\n');
  return all.slice(-lines);
}

export interface ShowResult {
  campaignId: string;
  n: number;
  status: string;
  hypothesis: string;
  rationale: string | null;
  expectedEffect: string | null;
  agent: string | null;
  model: string | null;
  tokens: number | null;
  parent: number | null;
  edits: string[];
  decision: string;
  /** Fidelity rung the metric was measured at ("2/3 (6 epochs)"); null without a ladder. */
  fidelity: string | null;
  /** Seeds and the metric of each (multi-seed campaigns); null for single-seed records. */
  seeds: Array<{ seed: number; metric: number | null }> | null;
  /** The keep test that decided, e.g. "welch-t: t=11.27, df=4.0, p=1.9e-4, α=0.05"; null if none ran. */
  test: string | null;
  /** Hidden-holdout check made when this experiment became champion (holdout.json); null otherwise. */
  holdout: { metric: string; holdout: number | null; validation: number | null; gap: number | null; error?: string } | null;
  /** Sample-epochs of training this experiment used (all seeds and rungs). */
  compute: number | null;
  epochs: number | null;
  metricName: string;
  metric: number | null;
  parentMetric: number | null;
  gainOverParent: number | null;
  metrics: Record<string, number | boolean | null>;
  /** Spread of the metric over seeds, when recorded (a later feature); null until then. */
  spread: number | null;
  specDiff: string[];
  params: number | null;
  parentParams: number | null;
  curve: Array<Record<string, number>>;
  durationMs: number;
  recordedAt: string;
  error: { class: string; message: string } | null;
  commit: string | null;
  tag: string | null;
  workflowId: string;
  campaignWorkflowId: string;
  folder: string | null;
  attachments: string[];
  logTail: string[] | null;
}

/** Everything `arlo show` prints, as data. */
export async function collectShow(c: ReviewedCampaign, n: number): Promise<ShowResult> {
  const rec = await readExperimentOrFail(c, n);
  const view = proposalView(rec.proposal);
  const tip = await refTip(c.repo, branchRef(c.campaignId));
  const [parentRec, files, commits, tags] = await Promise.all([
    view.parent !== null && view.parent !== n ? readExperimentOrFail(c, view.parent).catch(() => null) : Promise.resolve(null),
    readExperimentFiles(c.repo, c.campaignId, { ns: [n] }),
    tip ? commitsFromLog(c.repo, tip, n) : Promise.resolve(new Map<number, string>()),
    readChampionTags(c.repo, c.campaignId),
  ]);
  const mine = files.get(n);
  const attachments = Object.keys(mine?.files ?? {}).filter((name) => !STANDARD_FILES.has(name)).sort();
  const log = mine?.files['log.txt'];
  const cost = specCost(rec.spec);
  const parentCost = parentRec ? specCost(parentRec.spec) : { params: null, macs: null };
  const parentMetric = parentRec?.metric ?? null;
  return {
    campaignId: c.campaignId,
    n,
    status: rec.status,
    hypothesis: rec.hypothesis,
    rationale: view.rationale,
    expectedEffect: view.expectedEffect,
    agent: view.agent,
    model: view.model,
    tokens: view.tokens,
    parent: view.parent,
    edits: view.editDescriptions,
    decision: rec.decision.reason,
    fidelity: rec.evaluation?.rung ? rungLabel(rec.evaluation.rung) : recordedFidelity(rec.metrics ?? {}),
    seeds:
      rec.evaluation && rec.evaluation.seeds.length > 1
        ? rec.evaluation.seeds.map((seed, i) => ({ seed, metric: rec.evaluation!.seedMetrics?.[i] ?? null }))
        : null,
    test: testText(rec.decision.statistics ?? null),
    holdout: mine?.files['holdout.json'] ? parseHoldout(mine.files['holdout.json']) : null,
    compute: rec.evaluation?.compute ?? null,
    epochs: rec.spec?.recipe?.epochs ?? null,
    metricName: rec.metricName,
    metric: rec.metric,
    parentMetric,
    gainOverParent: rec.metric !== null && parentMetric !== null ? gain(c.direction, rec.metric, parentMetric) : null,
    metrics: rec.metrics ?? {},
    spread: rec.evaluation ? rec.evaluation.spread : metricSpread(rec.metrics ?? {}, rec.metricName),
    specDiff: parentRec ? formatSpecDiff(diffSpecs(parentRec.spec, rec.spec)) : [],
    params: cost.params,
    parentParams: parentCost.params,
    curve: rec.curve,
    durationMs: rec.durationMs,
    recordedAt: rec.recordedAt,
    error: rec.error ?? null,
    commit: commits.get(n) ?? null,
    tag: tags.has(n) ? championTagName(c.campaignId, n) : null,
    workflowId: rec.workflowId,
    campaignWorkflowId: `campaign-${c.campaignId}`,
    folder: mine?.folder ?? null,
    attachments,
    logTail: log !== undefined ? tail(log, LOG_TAIL_LINES) : null,
  };
}

/** `arlo show <id> <n>`: everything about one experiment. */
export async function showCommand(campaignId: string, n: number, opts: { json?: boolean } = {}): Promise<void> {
  const c = await openReviewedCampaign(campaignId);
  const s = await collectShow(c, n);
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(s, null, 2)}\n`);
    return;
  }
  process.stdout.write(`${renderShow(s, c, terminalWidth()).join('\n')}\n`);
}

function statusText(status: string): string {
  return status === 'kept' ? color.green(status) : status === 'failed' ? color.red(status) : color.dim(status);
}

export function renderShow(s: ShowResult, c: Pick<ReviewedCampaign, 'repo' | 'direction'>, width: number): string[] {
  const out: string[] = [];
  const label = (name: string) => color.dim(name.padEnd(12));
  const field = (name: string, text: string) => out.push(`${label(name)}${wrap(text, width - 12, ' '.repeat(12))}`);
  /** Identifiers, paths and commands: never wrapped (copy-paste must work). */
  const exact = (name: string, text: string) => out.push(`${label(name)}${text}`);
  const section = (title: string) => out.push('', color.bold(title));

  const vsParent =
    s.parent !== null && s.parentMetric !== null && s.metric !== null
      ? `  (parent #${s.parent}: ${fmtMetric(s.parentMetric)}; gain ${fmtSigned(s.gainOverParent)}, ${c.direction === 'max' ? 'higher' : 'lower'} is better)`
      : '';
  out.push(
    `${color.bold(`experiment ${s.n}`)} of campaign ${color.bold(s.campaignId)} — ${statusText(s.status)}`,
    `${s.metricName} ${s.metric === null ? '—' : color.bold(fmtMetric(s.metric))} ± ${fmtMetric(s.spread)}${vsParent}`,
    '',
  );
  field('hypothesis', s.hypothesis);
  if (s.rationale) field('rationale', s.rationale);
  if (s.expectedEffect) field('expected', s.expectedEffect);
  field('agent', `${s.agent ?? '—'}${s.parent === null ? ' (baseline: no parent)' : `, parent #${s.parent}`}`);
  if (s.model || s.tokens !== null) field('llm', `${s.model ?? '—'}, ${s.tokens === null ? '—' : fmtCount(s.tokens)} tokens`);
  if (s.edits.length > 0) field('edits', s.edits.join('; '));
  field('decision', s.decision);
  if (s.test) field('test', s.test);
  if (s.seeds) field('seeds', s.seeds.map((x) => `${x.seed}: ${fmtMetric(x.metric)}`).join(', '));
  if (s.holdout) {
    field(
      'holdout',
      s.holdout.error
        ? `check failed: ${s.holdout.error}`
        : `${s.holdout.metric} ${fmtMetric(s.holdout.holdout)} (validation ${fmtMetric(s.holdout.validation)}, gap ${fmtSigned(s.holdout.gap)}); ` +
            'measured once, at promotion; never used to decide',
    );
  }
  if (s.compute !== null) field('compute', `${fmtCount(s.compute)} sample-epochs`);
  if (s.error) field('error', `${s.error.class}: ${s.error.message}`);

  if (s.parent !== null) {
    section(`spec diff against #${s.parent}`);
    for (const line of s.specDiff) out.push(`  ${colourDiff(line)}`);
  }
  const paramsDelta = s.params !== null && s.parentParams !== null ? ` (${s.params >= s.parentParams ? '+' : ''}${fmtCount(s.params - s.parentParams)})` : '';
  out.push(`  ${color.dim('params')} ${s.parentParams !== null ? `${fmtCount(s.parentParams)} → ` : ''}${fmtCount(s.params)}${paramsDelta}`);

  section('metrics');
  const keys = Object.keys(s.metrics);
  const keyWidth = Math.max(12, ...keys.map((k) => k.length));
  out.push(
    `  ${'fidelity'.padEnd(keyWidth)}  ${s.fidelity ?? '—'}${s.epochs !== null ? color.dim(`  (trained the recipe's ${s.epochs} epoch${s.epochs === 1 ? '' : 's'})`) : ''}`,
  );
  for (const k of keys) {
    const v = s.metrics[k];
    out.push(`  ${k.padEnd(keyWidth)}  ${typeof v === 'number' ? fmtMetric(v) : String(v)}`);
  }
  if (keys.length === 0) out.push('  (none recorded)');

  section(`training curve (${s.curve.length} epoch${s.curve.length === 1 ? '' : 's'})`);
  const series = curveSeries(s.curve);
  const nameWidth = Math.max(12, ...series.map((x) => x.name.length));
  const sparkWidth = Math.max(8, Math.min(40, width - nameWidth - 30));
  for (const { name, values } of series) {
    const finite = values.filter(Number.isFinite);
    const range = finite.length > 0 ? `${fmtMetric(finite[0])} → ${fmtMetric(finite[finite.length - 1])}` : '';
    out.push(`  ${name.padEnd(nameWidth)}  ${sparkline(values, sparkWidth)}  ${color.dim(range)}`);
  }
  if (series.length === 0) out.push('  (no curve recorded)');

  section('record');
  exact('duration', fmtDuration(s.durationMs));
  exact('recorded', s.recordedAt);
  exact('commit', `${s.commit ?? '—'}${s.tag ? `  (tag ${s.tag})` : ''}`);
  exact('workflow', `${s.workflowId}  (Temporal; campaign workflow ${s.campaignWorkflowId})`);
  if (s.folder) exact('folder', `${s.folder}/ on branch campaign/${s.campaignId}`);
  if (s.commit) exact('git', `git -C ${c.repo.dir} show --stat ${s.commit.slice(0, 12)}`);
  if (s.attachments.length > 0) exact('attachments', s.attachments.join(', '));

  if (s.logTail) {
    section(`log tail (log.txt, last ${s.logTail.length} lines)`);
    for (const line of s.logTail) out.push(`  ${line}`);
  }
  return out;
}

export function colourDiff(line: string): string {
  if (line.startsWith('+ ')) return color.green(line);
  if (line.startsWith('- ')) return color.red(line);
  if (line.startsWith('~ ')) return color.yellow(line);
  return line;
}
