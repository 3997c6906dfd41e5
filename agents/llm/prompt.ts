import { readFileSync } from 'node:fs';
import type { EditOp } from '../../arch/edit.ts';
import { depth } from '../../arch/depth.ts';
import { ACTIVATIONS, type SizeLimits, type Spec } from '../../arch/spec.ts';
import type { ExperimentTemplate } from '../../experiments/template.ts';
import type { ResultLine } from '../../history/types.ts';
import { limitsFor } from '../limits.ts';
import { formatSpecCompact } from './spec-text.ts';
import type { BudgetLeft, LlmAttempt, SteeringNote } from './types.ts';

// Builds the prompt from agents/llm/prompt.md. The history grows without bound, the prompt must
// not: it is built at the most detailed level that fits `maxPromptTokens` (estimated as
// characters / 4), condensing by listing fewer experiments, dropping hypotheses and summarising
// the rest in one line. Records are always listed whole, never cut.

export const TEMPLATE_PATH = new URL('./prompt.md', import.meta.url);
/** prompt.md without its leading comment (which documents the placeholders). */
const TEMPLATE = readFileSync(TEMPLATE_PATH, 'utf8').replace(/^<!--(?!\s*(system|user)\s*-->)[\s\S]*?-->\s*/, '');

/** The template text as filled (for tests: every placeholder used, none unknown). */
export function templateText(): string {
  return TEMPLATE;
}

export const PLACEHOLDERS = [
  'n',
  'campaignId',
  'objective',
  'description',
  'championN',
  'champion',
  'edits',
  'lessons',
  'history',
  'notes',
  'budget',
  'maxEdits',
  'metric',
] as const;
type Placeholder = (typeof PLACEHOLDERS)[number];

export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

export interface PromptContext {
  campaignId: string;
  n: number;
  template: ExperimentTemplate;
  champion: { n: number; metric: number; spec: Spec };
  /** Every recorded experiment, ascending n. */
  lines: ResultLine[];
  lessons: string[];
  notes: SteeringNote[];
  budget: BudgetLeft;
  maxEdits: number;
  maxPromptTokens: number;
}

export interface BuiltPrompt {
  system: string;
  user: string;
  /** Estimated tokens of system + user. */
  tokens: number;
  /** 0 = most detailed; higher = more condensed. */
  level: number;
  /** Experiment numbers listed one per line in the history section. */
  listed: number[];
}

interface Level {
  recent: number;
  best: number;
  failures: number;
  lessons: number;
  /** Notes already seen by an earlier accepted proposal (new notes are always shown). */
  oldNotes: number;
  hypotheses: boolean;
}

const LEVELS: Level[] = [
  { recent: 20, best: 10, failures: 8, lessons: 12, oldNotes: 10, hypotheses: true },
  { recent: 12, best: 8, failures: 6, lessons: 10, oldNotes: 6, hypotheses: true },
  { recent: 10, best: 6, failures: 4, lessons: 8, oldNotes: 4, hypotheses: false },
  { recent: 6, best: 4, failures: 3, lessons: 6, oldNotes: 3, hypotheses: false },
  { recent: 4, best: 3, failures: 2, lessons: 4, oldNotes: 2, hypotheses: false },
  { recent: 2, best: 2, failures: 1, lessons: 3, oldNotes: 1, hypotheses: false },
  { recent: 1, best: 1, failures: 0, lessons: 2, oldNotes: 0, hypotheses: false },
  { recent: 0, best: 0, failures: 0, lessons: 0, oldNotes: 0, hypotheses: false },
];

/** Longer hypotheses are left out rather than cut. */
const MAX_HYPOTHESIS_CHARS = 300;

export class PromptTooLargeError extends Error {
  constructor(readonly needed: number, readonly budget: number) {
    super(
      `the prompt needs about ${needed} tokens even with the history condensed away (champion model, allowed edits and new notes), ` +
        `more than llm.maxPromptTokens = ${budget}; raise llm.maxPromptTokens (a new campaign: arlo start ... --max-prompt-tokens <n>)`,
    );
    this.name = 'PromptTooLargeError';
  }
}

/** The most detailed prompt within the token budget. Throws PromptTooLargeError when even the leanest does not fit. */
export function buildPrompt(ctx: PromptContext): BuiltPrompt {
  let last: BuiltPrompt | null = null;
  for (let level = 0; level < LEVELS.length; level++) {
    last = renderAt(ctx, level);
    if (last.tokens <= ctx.maxPromptTokens) return last;
  }
  throw new PromptTooLargeError(last!.tokens, ctx.maxPromptTokens);
}

export function renderAt(ctx: PromptContext, level: number): BuiltPrompt {
  const l = LEVELS[level]!;
  const { template } = ctx;
  const metric = template.metric;
  const history = historySection(ctx, l);
  const values: Record<Placeholder, string> = {
    n: String(ctx.n),
    campaignId: ctx.campaignId,
    objective: objective(ctx),
    description: template.description,
    championN: String(ctx.champion.n),
    champion: formatSpecCompact(ctx.champion.spec),
    edits: allowedEdits(template, ctx.champion.spec, ctx.maxEdits),
    lessons: bulletList(
      ctx.lessons.slice(0, l.lessons),
      ctx.lessons.length > 0 ? `(${ctx.lessons.length} lessons left out to fit the prompt budget)` : '(none yet)',
    ),
    history: history.text,
    notes: notesSection(ctx.notes, l.oldNotes),
    budget: budgetText(ctx.budget, ctx.n),
    maxEdits: String(ctx.maxEdits),
    metric: metric.name,
  };
  const { system, user } = splitTemplate(fill(TEMPLATE, values));
  return { system, user, tokens: estimateTokens(system) + estimateTokens(user), level, listed: history.listed };
}

/** Replaces every {{placeholder}}; an unknown one is a bug in prompt.md and throws. */
export function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{\{(\w+)\}\}/g, (_, name: string) => {
    if (!(name in values)) throw new Error(`agents/llm/prompt.md uses an unknown placeholder {{${name}}}`);
    return values[name]!;
  });
}

function splitTemplate(withoutHeader: string): { system: string; user: string } {
  const s = withoutHeader.indexOf('<!-- system -->');
  const u = withoutHeader.indexOf('<!-- user -->');
  if (s < 0 || u < 0 || u < s) throw new Error('agents/llm/prompt.md needs a "<!-- system -->" and then a "<!-- user -->" marker');
  return {
    system: withoutHeader.slice(s + '<!-- system -->'.length, u).trim(),
    user: withoutHeader.slice(u + '<!-- user -->'.length).trim(),
  };
}

function objective(ctx: PromptContext): string {
  const m = ctx.template.metric;
  const parts = [`${m.direction === 'max' ? 'Raise' : 'Lower'} ${m.name} (${m.direction === 'max' ? 'higher' : 'lower'} is better) on the "${ctx.template.name}" task.`];
  const baseline = ctx.lines.find((l) => (l.parent === null || l.parent === undefined) && l.metric !== null);
  if (baseline) parts.push(`The baseline (experiment ${baseline.n}) reached ${fmt(baseline.metric)};`);
  parts.push(`the champion (experiment ${ctx.champion.n}) reaches ${fmt(ctx.champion.metric)}.`);
  return parts.join(' ');
}

const EDIT_DOCS: Record<EditOp, (limits: SizeLimits, spec: Spec) => string> = {
  addBypass: () =>
    '`addBypass` {from, to, merge}: a bypass (skip) path from an earlier node `from` that joins node `to`; merge "add" sums them ' +
    '(different widths get a learned projection), "concat" joins features. Consumers of `to` then read the new node `bypass_<from>_<to>`.',
  removeBypass: () => '`removeBypass` {node}: removes a merge node (add/concat); its consumers read its first input again.',
  insertLayer: (l) => `\`insertLayer\` {after, units 1–${l.maxUnits}, activation}: a dense layer after node \`after\` (new id \`dense_<k>\`).`,
  removeLayer: () => '`removeLayer` {node}: removes a single-input node (dense, layerNorm, dropout, activation, conv2d, maxPool2d, flatten); not the output.',
  setUnits: (l) => `\`setUnits\` {node, units 1–${l.maxUnits}}: resizes a dense layer (not the output; widths joined by "add" must stay equal).`,
  setActivation: () => `\`setActivation\` {node, activation}: activation one of ${ACTIVATIONS.join(', ')}; not on the output.`,
  addNorm: () => '`addNorm` {after}: inserts a layerNorm after node `after` (new id `norm_<after>`).',
  setDropout: () => '`setDropout` {after, rate in [0, 1)}: sets or inserts dropout after node `after` (new id `drop_<after>`); rate 0 removes it.',
  setLearningRate: (l, s) => `\`setLearningRate\` {value in [${l.minLearningRate}, ${l.maxLearningRate}]}: now ${s.recipe.learningRate}.`,
  setBatchSize: (l, s) => `\`setBatchSize\` {value 1–${l.maxBatchSize}}: now ${s.recipe.batchSize}.`,
  setEpochs: (l, s) => `\`setEpochs\` {value 1–${l.maxEpochs}}: now ${s.recipe.epochs}.`,
};

function allowedEdits(template: ExperimentTemplate, champion: Spec, maxEdits: number): string {
  const limits = limitsFor(template);
  const lines = [...new Set(template.editPolicy.allowed)].map((op) => `- ${EDIT_DOCS[op](limits, champion)}`);
  lines.push(`- 1 to ${maxEdits} edits per experiment, applied in order; a no-op edit (e.g. a value it already has) is an error.`);
  if (template.editPolicy.fixedDepth) {
    lines.push(
      `- The depth is fixed at ${depth(champion.arch)} weight layers on the longest input → output path: edits must not change it ` +
        '(bypasses, norms, dropout, activations and the recipe keep it).',
    );
  }
  lines.push(`- Limits: at most ${limits.maxNodes} nodes and ${limits.maxParams.toLocaleString('en-US')} parameters.`);
  lines.push('- The resulting model must differ from every experiment already tried or in flight.');
  return lines.join('\n');
}

function historySection(ctx: PromptContext, l: Level): { text: string; listed: number[] } {
  const { lines } = ctx;
  if (lines.length === 0) return { text: '(no experiments yet)', listed: [] };
  const metric = ctx.template.metric;
  const better = (a: number, b: number) => (metric.direction === 'max' ? b - a : a - b);
  const byN = new Map(lines.map((x) => [x.n, x] as const));
  const kept = lines.filter((x) => x.status === 'kept').length;
  const failed = lines.filter((x) => x.status === 'failed').length;
  const out: string[] = [
    `${lines.length} experiments so far: ${kept} kept, ${lines.length - kept - failed} discarded, ${failed} failed. ` +
      `Deltas compare with the parent (the model the edits were applied to).`,
  ];
  const listed = new Set<number>();
  const recent = l.recent > 0 ? lines.slice(-l.recent) : [];
  for (const x of recent) listed.add(x.n);
  const best = lines
    .filter((x) => x.status === 'kept' && x.metric !== null && !listed.has(x.n))
    .sort((a, b) => better(a.metric!, b.metric!) || a.n - b.n)
    .slice(0, l.best);
  for (const x of best) listed.add(x.n);
  const failures = lines.filter((x) => x.status === 'failed' && !listed.has(x.n)).slice(-l.failures);
  if (l.failures === 0) failures.length = 0;
  for (const x of failures) listed.add(x.n);

  const line = (x: ResultLine) => recordLine(x, byN, metric.name, l.hypotheses);
  if (best.length > 0) out.push('', 'Best kept experiments (best first):', ...best.map(line));
  if (failures.length > 0) out.push('', 'Other failures (most recent last):', ...failures.map(line));
  if (recent.length > 0) out.push('', 'Most recent experiments (oldest first):', ...recent.map(line));
  const unlisted = lines.filter((x) => !listed.has(x.n));
  if (unlisted.length > 0) {
    const uk = unlisted.filter((x) => x.status === 'kept').length;
    const uf = unlisted.filter((x) => x.status === 'failed').length;
    out.push(
      '',
      `Not listed: ${unlisted.length} other experiments (${uk} kept, ${unlisted.length - uk - uf} discarded, ${uf} failed), ` +
        `numbers ${unlisted[0]!.n}–${unlisted[unlisted.length - 1]!.n}; the lessons above summarise them.`,
    );
  }
  return { text: out.join('\n'), listed: [...listed].sort((a, b) => a - b) };
}

/** One experiment on one line: number, outcome, delta vs parent, edits (and the hypothesis, at detailed levels). */
export function recordLine(x: ResultLine, byN: Map<number, ResultLine>, metricName: string, withHypothesis: boolean): string {
  const parent = x.parent !== null && x.parent !== undefined ? byN.get(x.parent) : undefined;
  const edits = (x.edits ?? []).length > 0 ? (x.edits ?? []).join('; ') : 'no edits (baseline)';
  let outcome: string;
  if (x.status === 'failed') {
    outcome = `failed (${x.error ? x.error.split(':')[0] : 'diverged: the loss became NaN or infinite'})`;
  } else {
    const delta =
      parent && parent.metric !== null && x.metric !== null ? `, ${signed(x.metric - parent.metric)} vs #${parent.n}` : '';
    // The noise (± sd over seeds) and a cheap rung's result must not read as a full-fidelity number.
    const spread = typeof x.spread === 'number' ? ` ± ${fmt(x.spread)}` : '';
    const [rung, of] = (x.rung ?? '').split('/');
    const rungNote = rung && of && rung !== of ? ` (on cheap rung ${rung}/${of}, not comparable)` : '';
    outcome = `${x.status} ${metricName} ${fmt(x.metric)}${spread}${rungNote || delta}`;
  }
  const hypothesis =
    withHypothesis && x.hypothesis && x.hypothesis.length <= MAX_HYPOTHESIS_CHARS ? ` — "${x.hypothesis.replace(/\s+/g, ' ')}"` : '';
  return `- #${x.n} ${outcome}: ${edits}${hypothesis}`;
}

function notesSection(notes: SteeringNote[], oldNotes: number): string {
  const fresh = notes.filter((x) => x.deliveredTo === null);
  const old = oldNotes > 0 ? notes.filter((x) => x.deliveredTo !== null).slice(-oldNotes) : [];
  if (fresh.length === 0 && old.length === 0) return '(none)';
  const lines = [
    ...old.map((x) => `- note ${x.id} (already considered in experiment ${x.deliveredTo}): ${x.text}`),
    ...fresh.map((x) => `- note ${x.id} (NEW, take it into account now): ${x.text}`),
  ];
  return lines.join('\n');
}

function budgetText(b: BudgetLeft, n: number): string {
  const parts = [`${b.experimentsLeft} of ${b.experiments} experiments left, this one (experiment ${n}) included`];
  if (b.minutesLeft !== null) parts.push(`${b.minutesLeft.toFixed(1)} minutes`);
  if (b.tokensLeft !== null) parts.push(`${Math.max(0, Math.round(b.tokensLeft)).toLocaleString('en-US')} LLM tokens`);
  if (b.usdLeft !== null) parts.push(`USD ${Math.max(0, b.usdLeft).toFixed(4)} of LLM spend`);
  return `${parts.join('; ')}.`;
}

function bulletList(items: string[], empty: string): string {
  return items.length > 0 ? items.map((x) => `- ${x}`).join('\n') : empty;
}

function fmt(x: number | null): string {
  return x === null ? '—' : String(Number(x.toPrecision(4)));
}

function signed(x: number): string {
  const r = Number(x.toPrecision(3));
  return `${r >= 0 ? '+' : ''}${r}`;
}

// ---------------------------------------------------------------------------------------------
// Repairs

/** The message that sends an unusable answer back with its exact errors. */
export function repairText(n: number, errors: string[]): string {
  return [
    `Your answer for experiment ${n} could not be used:`,
    ...errors.map((e) => `- ${e}`),
    '',
    'Answer again with the complete JSON object (hypothesis, rationale, expectedEffect, edits), fixing exactly these problems.',
  ].join('\n');
}

export type ChatTurn = { role: 'system' | 'user' | 'assistant'; content: string };

/** System + user prompt, then for each earlier unusable answer: that answer and the repair request. */
export function conversation(prompt: BuiltPrompt, n: number, attempts: LlmAttempt[]): ChatTurn[] {
  const turns: ChatTurn[] = [
    { role: 'system', content: prompt.system },
    { role: 'user', content: prompt.user },
  ];
  for (const a of attempts) {
    turns.push({ role: 'assistant', content: a.answer });
    turns.push({ role: 'user', content: repairText(n, a.errors) });
  }
  return turns;
}

/** prompt.md of an experiment: the whole conversation as sent, in readable Markdown. */
export function conversationMarkdown(turns: ChatTurn[], meta: { n: number; model: string; prompt: BuiltPrompt }): string {
  const head =
    `<!-- arlo: what the llm agent sent for experiment ${meta.n} to ${meta.model}; ` +
    `prompt ≈ ${meta.prompt.tokens} tokens (condensing level ${meta.prompt.level}) -->`;
  let answer = 0;
  let repair = 0;
  const sections = turns.map((t) => {
    if (t.role === 'assistant') return `# assistant (answer ${++answer}, not usable)\n\n${t.content}`;
    if (t.role === 'user' && turns.indexOf(t) > 1) return `# user (repair ${++repair})\n\n${t.content}`;
    return `# ${t.role}\n\n${t.content}`;
  });
  return `${head}\n\n${sections.join('\n\n')}\n`;
}
