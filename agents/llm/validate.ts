import { applyEdits } from '../../arch/apply-edit.ts';
import { depth } from '../../arch/depth.ts';
import type { Edit } from '../../arch/edit.ts';
import { EditError } from '../../arch/errors.ts';
import { specHash } from '../../arch/hash.ts';
import type { Spec } from '../../arch/spec.ts';
import type { ExperimentTemplate } from '../../experiments/template.ts';
import type { ResultLine } from '../../history/types.ts';
import { limitsFor } from '../limits.ts';
import type { z } from 'zod';
import { answerSchema, flatEditSchema, toEdit, type LlmAnswer } from './schema.ts';

// Everything an answer must satisfy before it is trained, each failure as one precise sentence
// that goes back to the model in a repair request: schema, allowed edit kinds, fields per kind,
// node ids and shapes (applyEdits), fixed depth, and novelty (canonical spec hash).

export interface ValidationContext {
  template: ExperimentTemplate;
  champion: { n: number; spec: Spec; specHash: string };
  /** Every recorded experiment (for "already tried as experiment k"). */
  lines: ResultLine[];
  pendingHashes: string[];
  maxEdits: number;
}

export type Validated =
  | { ok: true; answer: LlmAnswer; edits: Edit[]; spec: Spec; specHash: string }
  | { ok: false; errors: string[] };

const MAX_ERRORS = 8;

/**
 * Longest accepted text fields, in characters. An answer travels through workflow history (2 MB
 * payload limit), git and every later prompt, so a runaway answer is sent back, not stored.
 */
export const MAX_TEXT_CHARS = { hypothesis: 1000, rationale: 4000, expectedEffect: 1000 } as const;

export function validateAnswer(value: unknown, ctx: ValidationContext): Validated {
  const parsed = answerSchema.safeParse(value);
  if (!parsed.success) {
    const errors = parsed.error.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : '(the answer)'}: ${i.message}${schemaFix(i, value)}`);
    return { ok: false, errors: errors.slice(0, MAX_ERRORS) };
  }
  const answer = parsed.data;
  const errors: string[] = [];
  // Zero-width and direction marks count as empty: they show as nothing in every record.
  if (answer.hypothesis.replace(/[\p{Cf}\s]/gu, '') === '') errors.push('hypothesis: must not be empty');
  for (const field of ['hypothesis', 'rationale', 'expectedEffect'] as const) {
    const length = answer[field].length;
    if (length > MAX_TEXT_CHARS[field]) {
      errors.push(`${field}: ${length} characters is too long; keep it under ${MAX_TEXT_CHARS[field]} characters`);
    }
  }
  if (answer.edits.length === 0) errors.push(`edits: give 1 to ${ctx.maxEdits} edits`);
  if (answer.edits.length > ctx.maxEdits) errors.push(`edits: ${answer.edits.length} edits given; give at most ${ctx.maxEdits}`);
  const allowed = ctx.template.editPolicy.allowed;
  const edits: Edit[] = [];
  answer.edits.forEach((flat, i) => {
    if (!allowed.includes(flat.op)) {
      errors.push(`edits.${i}.op: "${flat.op}" is not allowed on this template; use one of ${allowed.join(', ')}`);
      return;
    }
    const converted = toEdit(flat);
    if ('missing' in converted) {
      errors.push(`edits.${i} (${flat.op}): set ${converted.missing.join(', ')} (they are null)`);
      return;
    }
    edits.push(converted.edit);
  });
  if (errors.length > 0) return { ok: false, errors: errors.slice(0, MAX_ERRORS) };

  let spec: Spec;
  try {
    spec = applyEdits(ctx.champion.spec, edits, limitsFor(ctx.template));
  } catch (err) {
    if (!(err instanceof EditError)) throw err;
    return { ok: false, errors: [`edits: ${err.message} (edit numbers count from 0)`] };
  }
  if (ctx.template.editPolicy.fixedDepth) {
    const before = depth(ctx.champion.spec.arch);
    const after = depth(spec.arch);
    if (after !== before) {
      return {
        ok: false,
        errors: [
          `edits: they change the depth from ${before} to ${after} weight layers, but this template keeps the depth fixed; ` +
            'make the network train better without adding or removing layers on the main path (e.g. bypasses, norms, activations, learning rate)',
        ],
      };
    }
  }
  const hash = specHash(spec);
  if (hash === ctx.champion.specHash) {
    return { ok: false, errors: ['edits: they give back the champion unchanged; propose a change'] };
  }
  if (ctx.pendingHashes.includes(hash)) {
    return { ok: false, errors: ['edits: this exact model is being trained right now (an experiment in flight); propose a different one'] };
  }
  const earlier = ctx.lines.find((l) => l.specHash === hash);
  if (earlier) {
    const result = earlier.status === 'failed' ? 'failed' : `${earlier.status}, ${earlier.metricName} ${earlier.metric}`;
    return {
      ok: false,
      errors: [`edits: this exact model was already tried as experiment ${earlier.n} (${result}); propose a model not tried yet`],
    };
  }
  return { ok: true, answer, edits, spec, specHash: hash };
}

/** What to do about a schema violation, for the repair message (zod says only what is wrong). */
function schemaFix(issue: z.core.$ZodIssue, value: unknown): string {
  const inEdit = issue.path[0] === 'edits' && issue.path.length >= 2;
  const fields = inEdit ? Object.keys(flatEditSchema.shape) : Object.keys(answerSchema.shape);
  if (issue.code === 'unrecognized_keys') {
    return `; remove ${issue.keys.length === 1 ? 'it' : 'them'}: ${inEdit ? 'an edit' : 'the answer'} has exactly the fields ${fields.join(', ')}`;
  }
  if (issue.code === 'invalid_type') {
    let at: unknown = value;
    for (const key of issue.path) at = at !== null && typeof at === 'object' ? (at as Record<PropertyKey, unknown>)[key as string] : undefined;
    if (issue.path.length === 0) return '; answer with one JSON object with the fields hypothesis, rationale, expectedEffect and edits';
    if (at === undefined) return inEdit ? '; give every field, null for the ones this edit does not use' : '; give every field';
  }
  return '';
}
