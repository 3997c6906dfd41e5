import type { Edit } from '../../arch/edit.ts';
import { ACTIVATIONS, type Activation } from '../../arch/spec.ts';
import type { ResultLine } from '../../history/types.ts';

// Research memory: what the recorded results say about each kind of edit. Computed from facts in
// results.jsonl (status, metric, parent, edit descriptions, error class), never from LLM prose, so
// every lesson can be checked against `arlo history`. Pure: the same lines give the same lessons.
//
//   addBypass (add): +0.118 val_accuracy vs parent on average (3 of 3 kept)
//   setLearningRate > 0.01: diverged 2 of 2

/** The inverse of arch/describe.ts describeEdit (descriptions are what results.jsonl stores). */
export function parseEditDescription(text: string): Edit | null {
  const t = text.trim();
  let m: RegExpMatchArray | null;
  if ((m = t.match(/^\+ bypass (\S+) → (\S+) \((add|concat)\)$/))) return { op: 'addBypass', from: m[1]!, to: m[2]!, merge: m[3] as 'add' | 'concat' };
  if ((m = t.match(/^- bypass (\S+)$/))) return { op: 'removeBypass', node: m[1]! };
  if ((m = t.match(/^\+ dense\((\d+), (\w+)\) after (\S+)$/)) && isActivation(m[2]!)) {
    return { op: 'insertLayer', units: Number(m[1]), activation: m[2], after: m[3]! };
  }
  if ((m = t.match(/^- layer (\S+)$/))) return { op: 'removeLayer', node: m[1]! };
  if ((m = t.match(/^set units of (\S+) to (\d+)$/))) return { op: 'setUnits', node: m[1]!, units: Number(m[2]) };
  if ((m = t.match(/^set activation of (\S+) to (\w+)$/)) && isActivation(m[2]!)) return { op: 'setActivation', node: m[1]!, activation: m[2] };
  if ((m = t.match(/^\+ layerNorm after (\S+)$/))) return { op: 'addNorm', after: m[1]! };
  if ((m = t.match(/^- dropout after (\S+)$/))) return { op: 'setDropout', after: m[1]!, rate: 0 };
  if ((m = t.match(/^set dropout after (\S+) to (\S+)$/)) && isNumber(m[2]!)) return { op: 'setDropout', after: m[1]!, rate: Number(m[2]) };
  if ((m = t.match(/^set learning rate (\S+)$/)) && isNumber(m[1]!)) return { op: 'setLearningRate', value: Number(m[1]) };
  if ((m = t.match(/^set batch size (\S+)$/)) && isNumber(m[1]!)) return { op: 'setBatchSize', value: Number(m[1]) };
  if ((m = t.match(/^set epochs (\S+)$/)) && isNumber(m[1]!)) return { op: 'setEpochs', value: Number(m[1]) };
  return null;
}

function isActivation(x: string): x is Activation {
  return (ACTIVATIONS as readonly string[]).includes(x);
}

function isNumber(x: string): boolean {
  return x.trim() !== '' && Number.isFinite(Number(x));
}

/** The group an edit's evidence is pooled in: the kind, refined where the parameter matters. */
export function lessonKey(edit: Edit): string {
  switch (edit.op) {
    case 'addBypass':
      return `addBypass (${edit.merge})`;
    case 'insertLayer':
      return `insertLayer (${edit.activation})`;
    case 'setActivation':
      return `setActivation → ${edit.activation}`;
    case 'setDropout':
      return edit.rate === 0 ? 'setDropout 0 (remove)' : edit.rate >= 0.3 ? 'setDropout ≥ 0.3' : 'setDropout < 0.3';
    case 'setLearningRate':
      return edit.value > 0.01 ? 'setLearningRate > 0.01' : edit.value < 1e-3 ? 'setLearningRate < 0.001' : 'setLearningRate 0.001–0.01';
    case 'setBatchSize':
      return edit.value < 128 ? 'setBatchSize < 128' : 'setBatchSize ≥ 128';
    case 'setEpochs':
      return `setEpochs → ${edit.value}`;
    default:
      return edit.op;
  }
}

interface Evidence {
  key: string;
  tried: number;
  kept: number;
  failed: number;
  diverged: number;
  combined: number;
  deltas: number[];
  errorClasses: Map<string, number>;
}

export interface LessonOptions {
  /** At most this many lessons, strongest evidence first (default 12). */
  max?: number;
}

/** Lessons from every recorded experiment that has a parent (the baseline has none). */
export function computeLessons(lines: readonly ResultLine[], options: LessonOptions = {}): string[] {
  const max = options.max ?? 12;
  if (lines.length === 0) return [];
  const metricName = lines[0]!.metricName;
  const metricOf = new Map(lines.map((l) => [l.n, l.metric] as const));
  const groups = new Map<string, Evidence>();

  for (const line of lines) {
    const edits = (line.edits ?? []).map((d) => parseEditDescription(d));
    if (edits.length === 0 || line.parent === null || line.parent === undefined) continue;
    const keys = [...new Set(edits.map((e) => (e ? lessonKey(e) : 'other edits')))];
    const parentMetric = metricOf.get(line.parent) ?? null;
    const delta = line.metric !== null && parentMetric !== null ? line.metric - parentMetric : null;
    for (const key of keys) {
      const g: Evidence = groups.get(key) ?? { key, tried: 0, kept: 0, failed: 0, diverged: 0, combined: 0, deltas: [], errorClasses: new Map() };
      g.tried++;
      if (edits.length > 1) g.combined++;
      if (line.status === 'kept') g.kept++;
      if (line.status === 'failed') {
        g.failed++;
        const cls = errorClass(line.error);
        if (cls === null) g.diverged++;
        else g.errorClasses.set(cls, (g.errorClasses.get(cls) ?? 0) + 1);
      }
      if (delta !== null) g.deltas.push(delta);
      groups.set(key, g);
    }
  }

  const ranked = [...groups.values()].sort(
    (a, b) => b.tried - a.tried || Math.abs(mean(b.deltas) ?? 0) - Math.abs(mean(a.deltas) ?? 0) || a.key.localeCompare(b.key),
  );
  return ranked.slice(0, max).map((g) => renderLesson(g, metricName));
}

function renderLesson(g: Evidence, metricName: string): string {
  const parts: string[] = [];
  const avg = mean(g.deltas);
  if (avg !== null) {
    parts.push(`${signed(avg)} ${metricName} vs parent on average (${g.kept} of ${g.tried} kept)`);
  } else {
    parts.push(`${g.kept} of ${g.tried} kept`);
  }
  if (g.diverged > 0) parts.push(`diverged ${g.diverged} of ${g.tried}`);
  for (const [cls, count] of [...g.errorClasses].sort((a, b) => b[1] - a[1])) parts.push(`failed ${count} of ${g.tried} (${cls})`);
  if (g.combined > 0) parts.push(`${g.combined} combined with other edits`);
  // A group that only ever failed leads with the failure: "setLearningRate > 0.01: diverged 2 of 2".
  const text = avg === null && g.failed === g.tried ? parts.slice(1).join('; ') : parts.join('; ');
  return `${g.key}: ${text}`;
}

/** "TrainingError: out of memory" → "TrainingError"; null (no error, yet failed) means diverged. */
function errorClass(error: string | null | undefined): string | null {
  if (!error) return null;
  const at = error.indexOf(':');
  return at > 0 ? error.slice(0, at) : error;
}

function mean(xs: number[]): number | null {
  return xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length;
}

function signed(x: number): string {
  const r = Number(x.toPrecision(3));
  return `${r >= 0 ? '+' : ''}${Math.abs(r) < 1e-4 && r !== 0 ? r.toExponential(1) : r}`;
}
