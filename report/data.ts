import type { ResultLine } from '../history/types.ts';
import type { SpecCost } from './cost.ts';

// What a campaign report shows, computed from what the history records. Pure: the HTML renderer
// embeds this object as JSON and draws its charts from it, and tests check it directly.

export type Direction = 'max' | 'min';

export interface ReportInput {
  campaignId: string;
  createdAt: string | null;
  template: string | null;
  agent: string | null;
  seed: number | null;
  metricName: string;
  direction: Direction;
  lines: readonly ResultLine[];
  /** Edit kinds (`addBypass`, …) of each experiment's proposal, by experiment number. */
  editOps: ReadonlyMap<number, readonly string[]>;
  /** Model size and compute of each experiment's spec, by experiment number. */
  costs: ReadonlyMap<number, SpecCost | null>;
  /** Training samples per epoch, for training FLOPs; null when the template does not say. */
  trainSamples: number | null;
  curves: { baseline: Array<Record<string, number>> | null; champion: Array<Record<string, number>> | null };
  /** Champion tags: experiment number → commit. */
  tags: ReadonlyMap<number, string>;
  generatedAt: string;
}

export interface ScatterPoint {
  /** Parameters */
  p: number;
  /** Training FLOPs (or forward MACs per sample when the sample count is unknown) */
  f: number;
  y: number;
  n: number;
}

export interface EditEffect {
  op: string;
  /** Experiments whose proposal made an edit of this kind. */
  count: number;
  kept: number;
  failed: number;
  keepRate: number;
  /** Mean improvement over the parent's metric (positive = better), over experiments with both metrics. */
  meanGain: number | null;
  /** How many experiments the mean is over. */
  measured: number;
  /** Share of measured experiments that beat their parent. */
  winRate: number | null;
}

export interface LineageNode {
  n: number;
  metric: number | null;
  /** Improvement over the kept ancestor it hangs under (positive = better). */
  gain: number | null;
  edits: string[];
  hypothesis: string;
  /** Non-kept experiments between this one and its kept ancestor (evolution may breed from them). */
  via: number[];
  champion: boolean;
  tag: string | null;
  /** The kept ancestor it hangs under; null for a root (normally the baseline). */
  parent: number | null;
}

export interface ReportData {
  campaignId: string;
  generatedAt: string;
  createdAt: string | null;
  template: string | null;
  agent: string | null;
  seed: number | null;
  metricName: string;
  direction: Direction;
  counts: { total: number; kept: number; discarded: number; failed: number };
  baseline: { n: number; metric: number } | null;
  champion: { n: number; metric: number; hypothesis: string; edits: string[]; commit: string | null; tag: string | null } | null;
  /** Champion over baseline (positive = better). */
  gain: number | null;
  /** How many times the champion changed after the baseline. */
  improvements: number;
  trainingMs: number;
  firstRecordedAt: string | null;
  lastRecordedAt: string | null;
  tokens: number | null;
  /** Best-so-far curve: one point per experiment once there is a champion, in experiment order. */
  bestSoFar: Array<{ x: number; y: number }>;
  /** Every experiment's metric (failed ones have none), in experiment order. */
  metrics: Array<{ x: number; y: number }>;
  scatter: { kept: ScatterPoint[]; discarded: ScatterPoint[]; costLabel: string; missingCost: number };
  curves: {
    key: string | null;
    lossKey: string | null;
    baseline: { n: number; rows: Array<Record<string, number>> } | null;
    champion: { n: number; rows: Array<Record<string, number>> } | null;
  };
  editEffects: EditEffect[];
  lineage: LineageNode[];
  top: Array<{ n: number; metric: number; status: string; hypothesis: string; edits: string[] }>;
}

function isBetter(direction: Direction, a: number, b: number): boolean {
  return direction === 'max' ? a > b : a < b;
}

function improvement(direction: Direction, value: number, reference: number): number {
  return direction === 'max' ? value - reference : reference - value;
}

function tokensOf(line: ResultLine): number | null {
  const t = (line as { tokens?: unknown }).tokens;
  return typeof t === 'number' && Number.isFinite(t) ? t : null;
}

/** The curve column that tracks the campaign metric, else the first validation-looking one. */
function curveKey(rows: ReadonlyArray<Record<string, number>>, metricName: string): string | null {
  const keys = new Set(rows.flatMap((r) => Object.keys(r)));
  if (keys.has(metricName)) return metricName;
  for (const k of ['val_accuracy', 'accuracy', 'val_metric']) if (keys.has(k)) return k;
  return [...keys].find((k) => !['epoch', 'epochs', 'seconds', 'step'].includes(k) && !k.includes('loss')) ?? null;
}

function lossKey(rows: ReadonlyArray<Record<string, number>>, metricKey: string | null): string | null {
  const keys = new Set(rows.flatMap((r) => Object.keys(r)));
  for (const k of ['val_loss', 'loss', 'train_loss']) if (keys.has(k) && k !== metricKey) return k;
  return null;
}

export function buildReportData(input: ReportInput): ReportData {
  const { direction } = input;
  const lines = [...input.lines].sort((a, b) => a.n - b.n);
  const byN = new Map(lines.map((l) => [l.n, l]));
  const counts = { total: lines.length, kept: 0, discarded: 0, failed: 0 };
  let trainingMs = 0;
  let tokens: number | null = null;
  for (const l of lines) {
    counts[l.status]++;
    trainingMs += l.durationMs || 0;
    const t = tokensOf(l);
    if (t !== null) tokens = (tokens ?? 0) + t;
  }

  // Best so far, in experiment order: the running best of kept experiments.
  const bestSoFar: Array<{ x: number; y: number }> = [];
  const metrics: Array<{ x: number; y: number }> = [];
  let best: ResultLine | null = null;
  let improvements = 0;
  let baseline: ResultLine | null = null;
  for (const l of lines) {
    if (l.metric !== null && Number.isFinite(l.metric)) metrics.push({ x: l.n, y: l.metric });
    if (l.status === 'kept' && l.metric !== null) {
      if (!baseline) baseline = l;
      if (!best || isBetter(direction, l.metric, best.metric!)) {
        if (best) improvements++;
        best = l;
      }
    }
    if (best) bestSoFar.push({ x: l.n, y: best.metric! });
  }

  // Metric against model size, by decision.
  const scatter: ReportData['scatter'] = {
    kept: [],
    discarded: [],
    costLabel: input.trainSamples !== null ? 'training FLOPs' : 'forward MACs per sample',
    missingCost: 0,
  };
  for (const l of lines) {
    if (l.metric === null || !Number.isFinite(l.metric) || l.status === 'failed') continue;
    const cost = input.costs.get(l.n);
    if (!cost) {
      scatter.missingCost++;
      continue;
    }
    const f = input.trainSamples !== null ? 6 * cost.macs * input.trainSamples * cost.epochs : cost.macs;
    (l.status === 'kept' ? scatter.kept : scatter.discarded).push({ p: cost.params, f, y: l.metric, n: l.n });
  }

  // Effect of each edit kind: improvement over the parent's metric, keep rate.
  const effects = new Map<string, { count: number; kept: number; failed: number; gains: number[] }>();
  for (const l of lines) {
    const ops = [...new Set(input.editOps.get(l.n) ?? [])];
    if (ops.length === 0) continue;
    const parent = l.parent !== null && l.parent !== undefined ? byN.get(l.parent) : undefined;
    const g =
      l.metric !== null && parent?.metric !== null && parent?.metric !== undefined
        ? improvement(direction, l.metric, parent.metric)
        : null;
    for (const op of ops) {
      let e = effects.get(op);
      if (!e) effects.set(op, (e = { count: 0, kept: 0, failed: 0, gains: [] }));
      e.count++;
      if (l.status === 'kept') e.kept++;
      if (l.status === 'failed') e.failed++;
      if (g !== null && Number.isFinite(g)) e.gains.push(g);
    }
  }
  const editEffects: EditEffect[] = [...effects.entries()]
    .map(([op, e]) => ({
      op,
      count: e.count,
      kept: e.kept,
      failed: e.failed,
      keepRate: e.kept / e.count,
      meanGain: e.gains.length > 0 ? e.gains.reduce((s, x) => s + x, 0) / e.gains.length : null,
      measured: e.gains.length,
      winRate: e.gains.length > 0 ? e.gains.filter((x) => x > 0).length / e.gains.length : null,
    }))
    .sort((a, b) => (b.meanGain ?? -Infinity) - (a.meanGain ?? -Infinity) || b.count - a.count);

  const lineage = buildLineage(lines, byN, direction, best?.n ?? null, input.tags, input.campaignId);

  const top = lines
    .filter((l) => l.metric !== null && Number.isFinite(l.metric))
    .sort((a, b) => improvement(direction, b.metric!, a.metric!) || a.n - b.n)
    .slice(0, 10)
    .map((l) => ({ n: l.n, metric: l.metric!, status: l.status, hypothesis: l.hypothesis, edits: l.edits ?? [] }));

  const baseRows = input.curves.baseline ?? [];
  const champRows = input.curves.champion ?? [];
  const key = curveKey([...baseRows, ...champRows], input.metricName);

  return {
    campaignId: input.campaignId,
    generatedAt: input.generatedAt,
    createdAt: input.createdAt,
    template: input.template,
    agent: input.agent,
    seed: input.seed,
    metricName: input.metricName,
    direction,
    counts,
    baseline: baseline ? { n: baseline.n, metric: baseline.metric! } : null,
    champion: best
      ? {
          n: best.n,
          metric: best.metric!,
          hypothesis: best.hypothesis,
          edits: best.edits ?? [],
          commit: input.tags.get(best.n) ?? null,
          tag: input.tags.has(best.n) ? `champion/${input.campaignId}/${best.n}` : null,
        }
      : null,
    gain: best && baseline ? improvement(direction, best.metric!, baseline.metric!) : null,
    improvements,
    trainingMs,
    firstRecordedAt: lines.length > 0 ? lines.map((l) => l.recordedAt).sort()[0]! : null,
    lastRecordedAt: lines.length > 0 ? lines.map((l) => l.recordedAt).sort().at(-1)! : null,
    tokens,
    bestSoFar,
    metrics,
    scatter,
    curves: {
      key,
      lossKey: lossKey([...baseRows, ...champRows], key),
      baseline: baseline && input.curves.baseline ? { n: baseline.n, rows: input.curves.baseline } : null,
      champion: best && input.curves.champion ? { n: best.n, rows: input.curves.champion } : null,
    },
    editEffects,
    lineage,
    top,
  };
}

/**
 * Kept experiments as a tree, flat (in experiment order, with parent links, so any depth embeds
 * as JSON): each hangs under its nearest kept ancestor, following proposal parents through
 * discarded ones (which evolution may breed from). Roots have no kept ancestor (normally just the
 * baseline).
 */
function buildLineage(
  lines: readonly ResultLine[],
  byN: ReadonlyMap<number, ResultLine>,
  direction: Direction,
  championN: number | null,
  tags: ReadonlyMap<number, string>,
  campaignId: string,
): LineageNode[] {
  const kept = new Map<number, ResultLine>();
  for (const l of lines) if (l.status === 'kept') kept.set(l.n, l);
  const out: LineageNode[] = [];
  for (const l of kept.values()) {
    let at = l.parent ?? null;
    const via: number[] = [];
    const seen = new Set<number>([l.n]);
    while (at !== null && !kept.has(at) && !seen.has(at)) {
      seen.add(at);
      via.push(at);
      at = byN.get(at)?.parent ?? null;
    }
    // A parent must come first; anything else (a corrupt link) makes this a root.
    const parent = at !== null && at < l.n && kept.has(at) ? kept.get(at)! : null;
    out.push({
      n: l.n,
      metric: l.metric,
      gain: parent && l.metric !== null && parent.metric !== null ? improvement(direction, l.metric, parent.metric) : null,
      edits: l.edits ?? [],
      hypothesis: l.hypothesis,
      via: parent ? via : [],
      champion: l.n === championN,
      tag: tags.has(l.n) ? `champion/${campaignId}/${l.n}` : null,
      parent: parent ? parent.n : null,
    });
  }
  return out;
}
