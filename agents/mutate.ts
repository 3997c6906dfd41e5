import { ACTIVATIONS, type Activation, type ArchNode, type Spec } from '../arch/spec.ts';
import type { Edit, EditOp } from '../arch/edit.ts';
import { applyEdit } from '../arch/apply-edit.ts';
import { inferShapes } from '../arch/analyze.ts';
import { depth, isWeightLayer } from '../arch/depth.ts';
import { EditError } from '../arch/errors.ts';
import { inputIds, liveNodes, nodesById, topoOrder } from '../arch/graph.ts';
import type { ExperimentTemplate } from '../experiments/template.ts';
import { limitsFor } from './limits.ts';
import type { Rng } from './rng.ts';

// Random edits with sensible parameters. Sampling only has to be plausible: applyEdit is the
// judge, and mutate() retries when an edit does not apply.

export const UNIT_CHOICES = [16, 32, 64, 128, 256];
export const LEARNING_RATE_GRID = [1e-4, 2e-4, 3e-4, 5e-4, 1e-3, 2e-3, 3e-3, 5e-3, 1e-2, 2e-2, 3e-2];
export const DROPOUT_CHOICES = [0, 0.1, 0.2, 0.3];
export const BATCH_SIZE_CHOICES = [32, 64, 128, 256];
/** Activations for hidden layers; `linear` would make adjacent layers collapse into one. */
export const HIDDEN_ACTIVATIONS: Activation[] = ACTIVATIONS.filter((a) => a !== 'linear');
/** A bypass should skip real work: at least this many weight layers between `from` and `to`. */
export const MIN_BYPASS_SPAN = 2;
/** Share of bypasses that merge with `add` (residual) rather than `concat` (dense-net style). */
const ADD_MERGE_SHARE = 0.8;
/** Attempts to find an applicable edit for one edit slot before giving up on it. */
const ATTEMPTS_PER_EDIT = 30;

/** What edit samplers need to know about a spec, computed once per sampled edit. */
interface SpecView {
  spec: Spec;
  byId: Map<string, ArchNode>;
  /** Live nodes (feeding the output) in topological order. */
  order: string[];
  shapes: Record<string, number[]>;
  output: string;
  readers: Map<string, string[]>;
  template: ExperimentTemplate;
}

function buildView(spec: Spec, template: ExperimentTemplate): SpecView {
  const byId = nodesById(spec.arch);
  const live = liveNodes(spec.arch);
  const order = topoOrder(spec.arch).filter((id) => live.has(id));
  const readers = new Map<string, string[]>(order.map((id) => [id, []]));
  for (const id of order) {
    for (const inputId of inputIds(byId.get(id)!)) readers.get(inputId)?.push(id);
  }
  return { spec, byId, order, shapes: inferShapes(spec.arch), output: spec.arch.output, readers, template };
}

function isRank1(view: SpecView, id: string): boolean {
  return view.shapes[id]?.length === 1;
}

function soleReader(view: SpecView, id: string): ArchNode | undefined {
  const readers = view.readers.get(id) ?? [];
  return readers.length === 1 && id !== view.output ? view.byId.get(readers[0]!) : undefined;
}

/**
 * For a target `to`, the largest number of weight layers on any path from each ancestor
 * (exclusive) to `to` (inclusive). Reverse topological sweep over the ancestors of `to`.
 */
function weightSpansTo(view: SpecView, to: string): Map<string, number> {
  const span = new Map<string, number>([[to, 0]]);
  const toIndex = view.order.indexOf(to);
  for (let i = toIndex - 1; i >= 0; i--) {
    const id = view.order[i]!;
    let best = -1;
    for (const reader of view.readers.get(id) ?? []) {
      const readerSpan = span.get(reader);
      if (readerSpan === undefined) continue;
      const readerNode = view.byId.get(reader)!;
      const throughReader = (isWeightLayer(readerNode) ? 1 : 0) + (reader === to ? 0 : readerSpan);
      best = Math.max(best, throughReader);
    }
    if (best >= 0) span.set(id, best);
  }
  span.delete(to);
  return span;
}

/** True if `to` already feeds a merge that also reads `from` (directly or via a projection). */
function alreadyBypassed(view: SpecView, from: string, to: string): boolean {
  return (view.readers.get(to) ?? []).some((readerId) => {
    const reader = view.byId.get(readerId)!;
    if (reader.op !== 'add' && reader.op !== 'concat') return false;
    return reader.inputs.some((input) => input === from || inputIds(view.byId.get(input)!).includes(from));
  });
}

type Sampler = (view: SpecView, rng: Rng) => Edit | null;

const sampleAddBypass: Sampler = (view, rng) => {
  // Target first, then source: one span sweep per tried target keeps this linear in the graph
  // size instead of enumerating every pair (quadratic on a 256-node spec).
  const targets = view.order.filter((to) => to !== view.output && view.byId.get(to)!.op !== 'input' && isRank1(view, to));
  for (const to of rng.sample(targets, targets.length)) {
    const sources: string[] = [];
    for (const [from, span] of weightSpansTo(view, to)) {
      if (span >= MIN_BYPASS_SPAN && isRank1(view, from) && !alreadyBypassed(view, from, to)) sources.push(from);
    }
    if (sources.length > 0) {
      return { op: 'addBypass', from: rng.pick(sources), to, merge: rng.chance(ADD_MERGE_SHARE) ? 'add' : 'concat' };
    }
  }
  return null;
};

const sampleRemoveBypass: Sampler = (view, rng) => {
  const merges = view.order.filter((id) => {
    const op = view.byId.get(id)!.op;
    return op === 'add' || op === 'concat';
  });
  return merges.length === 0 ? null : { op: 'removeBypass', node: rng.pick(merges) };
};

function unitChoices(view: SpecView, exclude?: number): number[] {
  const maxUnits = limitsFor(view.template).maxUnits;
  return UNIT_CHOICES.filter((units) => units <= maxUnits && units !== exclude);
}

const sampleInsertLayer: Sampler = (view, rng) => {
  if (view.template.editPolicy.fixedDepth) return null;
  const anchors = view.order.filter((id) => id !== view.output && isRank1(view, id));
  const units = unitChoices(view);
  if (anchors.length === 0 || units.length === 0) return null;
  return { op: 'insertLayer', after: rng.pick(anchors), units: rng.pick(units), activation: rng.pick(HIDDEN_ACTIVATIONS) };
};

const REMOVABLE_OPS = new Set(['dense', 'layerNorm', 'dropout', 'activation', 'conv2d', 'maxPool2d', 'flatten']);

const sampleRemoveLayer: Sampler = (view, rng) => {
  const fixedDepth = view.template.editPolicy.fixedDepth;
  const removable = view.order.filter((id) => {
    const node = view.byId.get(id)!;
    return id !== view.output && REMOVABLE_OPS.has(node.op) && !(fixedDepth && isWeightLayer(node));
  });
  return removable.length === 0 ? null : { op: 'removeLayer', node: rng.pick(removable) };
};

const sampleSetUnits: Sampler = (view, rng) => {
  const denseIds = view.order.filter((id) => id !== view.output && view.byId.get(id)!.op === 'dense');
  if (denseIds.length === 0) return null;
  const id = rng.pick(denseIds);
  const node = view.byId.get(id)! as Extract<ArchNode, { op: 'dense' }>;
  const units = unitChoices(view, node.units);
  return units.length === 0 ? null : { op: 'setUnits', node: id, units: rng.pick(units) };
};

const sampleSetActivation: Sampler = (view, rng) => {
  const ids = view.order.filter((id) => {
    const op = view.byId.get(id)!.op;
    return id !== view.output && (op === 'dense' || op === 'conv2d' || op === 'activation');
  });
  if (ids.length === 0) return null;
  const id = rng.pick(ids);
  const current = (view.byId.get(id) as { activation: Activation }).activation;
  return { op: 'setActivation', node: id, activation: rng.pick(HIDDEN_ACTIVATIONS.filter((a) => a !== current)) };
};

const sampleAddNorm: Sampler = (view, rng) => {
  const anchors = view.order.filter((id) => {
    const node = view.byId.get(id)!;
    return id !== view.output && node.op !== 'layerNorm' && soleReader(view, id)?.op !== 'layerNorm';
  });
  return anchors.length === 0 ? null : { op: 'addNorm', after: rng.pick(anchors) };
};

const sampleSetDropout: Sampler = (view, rng) => {
  const anchors = view.order.filter((id) => id !== view.output && view.byId.get(id)!.op !== 'dropout');
  if (anchors.length === 0) return null;
  const after = rng.pick(anchors);
  const existing = soleReader(view, after);
  const rates = existing?.op === 'dropout' ? DROPOUT_CHOICES.filter((r) => r !== existing.rate) : DROPOUT_CHOICES.filter((r) => r > 0);
  return { op: 'setDropout', after, rate: rng.pick(rates) };
};

const sampleSetLearningRate: Sampler = (view, rng) => {
  const limits = limitsFor(view.template);
  const current = view.spec.recipe.learningRate;
  // Local moves on a log grid: one or two steps from the grid point nearest the current rate.
  const nearest = LEARNING_RATE_GRID.reduce(
    (best, lr, i) => (Math.abs(Math.log(lr / current)) < Math.abs(Math.log(LEARNING_RATE_GRID[best]! / current)) ? i : best),
    0,
  );
  const choices = LEARNING_RATE_GRID.filter(
    (lr, i) => Math.abs(i - nearest) <= 2 && lr !== current && lr >= limits.minLearningRate && lr <= limits.maxLearningRate,
  );
  return choices.length === 0 ? null : { op: 'setLearningRate', value: rng.pick(choices) };
};

const sampleSetBatchSize: Sampler = (view, rng) => {
  const limits = limitsFor(view.template);
  const choices = BATCH_SIZE_CHOICES.filter((b) => b !== view.spec.recipe.batchSize && b <= limits.maxBatchSize);
  return choices.length === 0 ? null : { op: 'setBatchSize', value: rng.pick(choices) };
};

const sampleSetEpochs: Sampler = (view, rng) => {
  const maxEpochs = limitsFor(view.template).maxEpochs;
  const current = view.spec.recipe.epochs;
  const raw = [current / 2, current * 0.75, current * 1.5, current * 2, current - 1, current + 1];
  const choices = [...new Set(raw.map((e) => Math.min(maxEpochs, Math.max(1, Math.round(e)))))].filter((e) => e !== current);
  return choices.length === 0 ? null : { op: 'setEpochs', value: rng.pick(choices) };
};

const SAMPLERS: Record<EditOp, Sampler> = {
  addBypass: sampleAddBypass,
  removeBypass: sampleRemoveBypass,
  insertLayer: sampleInsertLayer,
  removeLayer: sampleRemoveLayer,
  setUnits: sampleSetUnits,
  setActivation: sampleSetActivation,
  addNorm: sampleAddNorm,
  setDropout: sampleSetDropout,
  setLearningRate: sampleSetLearningRate,
  setBatchSize: sampleSetBatchSize,
  setEpochs: sampleSetEpochs,
};

/**
 * The allowed kinds in a random order where a kind of weight w comes first w times as often as
 * one of weight 1 (weighted sampling without replacement: keys u^(1/w), largest first).
 */
function weightedOrder(ops: EditOp[], weights: Partial<Record<EditOp, number>>, rng: Rng): EditOp[] {
  const keyed = ops.map((op) => ({ op, key: Math.pow(rng.next(), 1 / Math.max(1e-6, weights[op] ?? 1)) }));
  return keyed.sort((a, b) => b.key - a.key).map((k) => k.op);
}

/**
 * One random edit of a kind the template allows, with parameters drawn from the spec. Kinds
 * with nothing to act on (e.g. removeBypass without merges) are skipped. The edit is plausible,
 * not guaranteed to apply. Throws if no allowed kind has a candidate.
 */
export function randomEdit(spec: Spec, template: ExperimentTemplate, rng: Rng): Edit {
  const view = buildView(spec, template);
  const allowed = [...new Set(template.editPolicy.allowed)].filter((op) => op in SAMPLERS);
  const weights = template.editPolicy.editWeights;
  for (const op of weights ? weightedOrder(allowed, weights, rng) : rng.sample(allowed, allowed.length)) {
    const edit = SAMPLERS[op](view, rng);
    if (edit) return edit;
  }
  throw new Error(
    `no edit is possible on template "${template.name}": none of the allowed kinds (${allowed.join(', ') || 'none'}) has a candidate in this spec`,
  );
}

/**
 * What an edit acts on. Two edits of one mutation never share a target: "epochs 39 → 38 → 37"
 * or two dropout changes on one node waste an experiment on a muddled hypothesis.
 */
function editTarget(edit: Edit): string {
  switch (edit.op) {
    case 'addBypass':
      return `bypass:${edit.from}:${edit.to}`;
    case 'removeBypass':
    case 'removeLayer':
    case 'setUnits':
    case 'setActivation':
      return `node:${edit.node}`;
    case 'insertLayer':
    case 'addNorm':
    case 'setDropout':
      return `after:${edit.after}`;
    case 'setLearningRate':
    case 'setBatchSize':
    case 'setEpochs':
      return `recipe:${edit.op}`;
  }
}

export interface Mutation {
  spec: Spec;
  /** The edits that were applied, in order; `spec` = applyEdits(original, edits). */
  edits: Edit[];
}

/**
 * Applies 1..maxEdits random edits (count drawn uniformly), resampling an edit that fails to
 * apply up to a bounded number of times. With `fixedDepth`, an edit that changes depth() is
 * rejected too. The result always validates under limitsFor(template). Throws if not even one
 * edit could be applied.
 */
export function mutate(spec: Spec, template: ExperimentTemplate, rng: Rng, maxEdits: number): Mutation {
  const limits = limitsFor(template);
  const targetDepth = template.editPolicy.fixedDepth ? depth(spec.arch) : null;
  const editCount = rng.int(1, Math.max(1, Math.floor(maxEdits)));
  let current = spec;
  const edits: Edit[] = [];
  const targets = new Set<string>();
  let lastProblem = '';

  for (let slot = 0; slot < editCount; slot++) {
    let applied = false;
    for (let attempt = 0; attempt < ATTEMPTS_PER_EDIT && !applied; attempt++) {
      const edit = randomEdit(current, template, rng);
      if (targets.has(editTarget(edit))) {
        lastProblem = `"${edit.op}" targets something an earlier edit of this mutation already changed`;
        continue;
      }
      try {
        const next = applyEdit(current, edit, limits);
        if (targetDepth !== null && depth(next.arch) !== targetDepth) {
          lastProblem = `"${edit.op}" would change the depth and the template fixes it at ${targetDepth}`;
          continue;
        }
        current = next;
        edits.push(edit);
        targets.add(editTarget(edit));
        applied = true;
      } catch (error) {
        if (!(error instanceof EditError)) throw error;
        lastProblem = error.message;
      }
    }
    if (!applied) break;
  }
  if (edits.length === 0) {
    throw new Error(`could not apply any random edit after ${ATTEMPTS_PER_EDIT} attempts; last problem: ${lastProblem}`);
  }
  return { spec: current, edits };
}
