import { ACTIVATIONS, DEFAULT_LIMITS, type ArchNode, type SizeLimits, type Spec } from './spec.ts';
import { EDIT_OPS, type Edit } from './edit.ts';
import { inferShapes } from './analyze.ts';
import { cloneSpec } from './clone.ts';
import { describeEdit } from './describe.ts';
import { EditError } from './errors.ts';
import { formatIdList, formatShape, formatValue, showInvisible } from './format.ts';
import { ancestors, consumers, liveNodes, nodesById } from './graph.ts';
import { numberedId, uniqueId } from './ids.ts';
import { isActivation, isIntegerIn, isSingleInputOp } from './params.ts';
import { validateSpec } from './validate.ts';

// Applying typed edits. The input spec is never touched: every edit works on a deep copy, and
// the copy must validate and keep the output shape (one logit per class) before it is returned.
//
// Choices beyond arch/edit.ts:
// - No-op edits (same units, same activation, same rate, same recipe value) are EditErrors, so
//   an agent never spends an experiment on an unchanged model.
// - setUnits does not repair an `add` partner: a width change that breaks a merge is an EditError
//   telling the caller to remove the bypass or resize the partner too.
// - The output node (the logits) cannot be removed, resized, re-activated, or have a layer,
//   norm or dropout inserted after it.
// - addNorm accepts any rank: layerNorm normalises the last axis (channels for images).
// - removeLayer also removes conv2d, maxPool2d and flatten (any single-input op).
// - New ids: bypass_<from>_<to>, proj_<from>_<to>, dense_<n>, norm_<after>, drop_<after>, with
//   _2, _3... (or the next free n) when taken, so they depend only on the spec and the edit.

interface EditContext {
  spec: Spec; // the original, read-only
  draft: Spec; // the copy being edited
  shapes: Record<string, number[]>; // shapes in the original
  limits: SizeLimits;
  fail(message: string): EditError;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((dim, i) => dim === b[i]);
}

function takenIds(ctx: EditContext): Set<string> {
  return new Set(ctx.draft.arch.nodes.map((node) => node.id));
}

function getNode(ctx: EditContext, id: unknown, role: string): ArchNode {
  const byId = nodesById(ctx.draft.arch);
  const node = typeof id === 'string' ? byId.get(id) : undefined;
  if (!node) {
    const cleaned = typeof id === 'string' ? id.replace(/[\p{Cf}\s]/gu, '') : '';
    const hint = cleaned !== id && byId.has(cleaned) ? ` (did you mean "${cleaned}"? the id holds invisible characters or spaces)` : '';
    throw ctx.fail(`${role} node ${formatValue(id)} does not exist${hint} (known nodes: ${formatIdList([...byId.keys()])})`);
  }
  return node;
}

function requireNotOutput(ctx: EditContext, id: string, why: string): void {
  if (id === ctx.draft.arch.output) throw ctx.fail(`node "${id}" is the output (the logits); ${why}`);
}

/** Every reader of `oldId` (except `except`) and the spec output now read `newId`. */
function redirectConsumers(ctx: EditContext, oldId: string, newId: string, except: ReadonlySet<string> = new Set()): void {
  for (const node of ctx.draft.arch.nodes) {
    if (node.op === 'input' || except.has(node.id)) continue;
    node.inputs = node.inputs.map((input) => (input === oldId ? newId : input)) as typeof node.inputs;
  }
  if (ctx.draft.arch.output === oldId) ctx.draft.arch.output = newId;
}

/** Places a new node right after `afterId` in `nodes` so the list still reads top to bottom. */
function insertNodeAfter(ctx: EditContext, node: ArchNode, afterId: string): void {
  const nodes = ctx.draft.arch.nodes;
  const index = nodes.findIndex((n) => n.id === afterId);
  nodes.splice(index + 1, 0, node);
}

function removeNode(ctx: EditContext, id: string): void {
  ctx.draft.arch.nodes = ctx.draft.arch.nodes.filter((node) => node.id !== id);
}

/** Drops nodes that no longer feed the output (e.g. a bypass projection after its merge is gone). */
function pruneDeadNodes(ctx: EditContext): void {
  const live = liveNodes(ctx.draft.arch);
  ctx.draft.arch.nodes = ctx.draft.arch.nodes.filter((node) => live.has(node.id) || node.op === 'input');
}

function requireUnits(ctx: EditContext, units: unknown): number {
  if (!isIntegerIn(units, 1, ctx.limits.maxUnits)) {
    throw ctx.fail(`units ${formatValue(units)} is out of range; use an integer from 1 to ${ctx.limits.maxUnits}`);
  }
  return units;
}

function requireActivation(ctx: EditContext, activation: unknown): void {
  if (!isActivation(activation)) {
    throw ctx.fail(`unknown activation ${formatValue(activation)}; use one of ${ACTIVATIONS.join(', ')}`);
  }
}

/** A node followed by nothing but a node of `op`, e.g. "h2 is already followed by dropout d". */
function soleConsumerWithOp(ctx: EditContext, id: string, op: ArchNode['op']): ArchNode | undefined {
  const readers = consumers(ctx.draft.arch, id);
  if (readers.length !== 1 || ctx.draft.arch.output === id) return undefined;
  const reader = nodesById(ctx.draft.arch).get(readers[0]!)!;
  return reader.op === op ? reader : undefined;
}

function applyAddBypass(ctx: EditContext, edit: Extract<Edit, { op: 'addBypass' }>): void {
  const from = getNode(ctx, edit.from, '"from"').id;
  const to = getNode(ctx, edit.to, '"to"').id;
  if (edit.merge !== 'add' && edit.merge !== 'concat') {
    throw ctx.fail(`merge ${formatValue(edit.merge)} is invalid; use "add" or "concat"`);
  }
  if (from === to) throw ctx.fail(`"from" and "to" are the same node "${from}"; a bypass must start at an earlier node`);
  if (!ancestors(ctx.spec.arch, to).has(from)) {
    throw ctx.fail(
      `node "${from}" does not come before "${to}" (it is not a direct or indirect input of it), so the bypass would create a cycle or join unrelated paths; pick an earlier node as "from" or swap them`,
    );
  }

  const fromShape = ctx.shapes[from]!;
  const toShape = ctx.shapes[to]!;
  const taken = takenIds(ctx);
  let bypassSource = from;

  if (edit.merge === 'add' && !sameShape(fromShape, toShape)) {
    if (fromShape.length !== 1 || toShape.length !== 1) {
      throw ctx.fail(
        `"${from}" ${formatShape(fromShape)} and "${to}" ${formatShape(toShape)} have different shapes and only rank-1 paths get an automatic projection; pick nodes with identical shapes or use merge "concat"`,
      );
    }
    // A learned linear map makes the widths match without restricting what the bypass carries.
    const projectionId = uniqueId(`proj_${from}_${to}`, taken);
    taken.add(projectionId);
    insertNodeAfter(ctx, { id: projectionId, op: 'dense', inputs: [from], units: toShape[0]!, activation: 'linear' }, from);
    bypassSource = projectionId;
  }
  if (edit.merge === 'concat') {
    const compatible =
      fromShape.length === toShape.length && sameShape(fromShape.slice(0, -1), toShape.slice(0, -1));
    if (!compatible) {
      throw ctx.fail(
        `"${from}" ${formatShape(fromShape)} and "${to}" ${formatShape(toShape)} cannot be concatenated; concat needs the same rank and leading dimensions`,
      );
    }
  }

  const mergeId = uniqueId(`bypass_${from}_${to}`, taken);
  redirectConsumers(ctx, to, mergeId);
  insertNodeAfter(ctx, { id: mergeId, op: edit.merge, inputs: [to, bypassSource] }, to);
}

function applyRemoveBypass(ctx: EditContext, edit: Extract<Edit, { op: 'removeBypass' }>): void {
  const node = getNode(ctx, edit.node, 'merge');
  if (node.op !== 'add' && node.op !== 'concat') {
    throw ctx.fail(`node "${node.id}" is a ${node.op}, not an add/concat merge; only merge nodes can be removed with removeBypass (use removeLayer for single-input layers)`);
  }
  const keep = node.inputs[0]!;
  redirectConsumers(ctx, node.id, keep);
  removeNode(ctx, node.id);
  pruneDeadNodes(ctx);
}

function applyInsertLayer(ctx: EditContext, edit: Extract<Edit, { op: 'insertLayer' }>): void {
  const after = getNode(ctx, edit.after, '"after"').id;
  const units = requireUnits(ctx, edit.units);
  requireActivation(ctx, edit.activation);
  requireNotOutput(ctx, after, 'a layer after it would replace the logits; insert before it instead');
  const shape = ctx.shapes[after]!;
  if (shape.length !== 1) {
    throw ctx.fail(
      `node "${after}" has shape ${formatShape(shape)} but a dense layer needs a rank-1 input; insert after a flatten node (add one if there is none)`,
    );
  }
  const id = numberedId('dense', takenIds(ctx));
  redirectConsumers(ctx, after, id);
  insertNodeAfter(ctx, { id, op: 'dense', inputs: [after], units, activation: edit.activation }, after);
}

function applyRemoveLayer(ctx: EditContext, edit: Extract<Edit, { op: 'removeLayer' }>): void {
  const node = getNode(ctx, edit.node, 'layer');
  if (node.op === 'input') throw ctx.fail(`node "${node.id}" is the input node; it cannot be removed (every model starts from it); remove a layer after it instead`);
  requireNotOutput(ctx, node.id, 'it cannot be removed; remove a layer before it instead');
  if (!isSingleInputOp(node.op)) {
    throw ctx.fail(
      `node "${node.id}" is a ${node.op}; removeLayer only removes single-input nodes (dense, layerNorm, dropout, activation, conv2d, maxPool2d, flatten); use removeBypass for add/concat`,
    );
  }
  const source = node.inputs[0]!;
  redirectConsumers(ctx, node.id, source);
  removeNode(ctx, node.id);
  const before = ctx.shapes[node.id]!;
  const after = ctx.shapes[source]!;
  if (!sameShape(before, after)) {
    const problems = validateSpec(ctx.draft, ctx.limits);
    if (problems.length > 0) {
      throw ctx.fail(
        `removing "${node.id}" changes the shape its consumers see from ${formatShape(before)} to ${formatShape(after)}, which breaks the graph: ${problems.join('; ')}`,
      );
    }
  }
}

function applySetUnits(ctx: EditContext, edit: Extract<Edit, { op: 'setUnits' }>): void {
  const node = getNode(ctx, edit.node, 'layer');
  if (node.op !== 'dense') throw ctx.fail(`node "${node.id}" is a ${node.op}, not dense; setUnits only changes dense layers`);
  requireNotOutput(
    ctx,
    node.id,
    `its units (${node.units}) are the number of classes and cannot change`,
  );
  const units = requireUnits(ctx, edit.units);
  if (units === node.units) throw ctx.fail(`node "${node.id}" already has ${units} units; nothing to change`);
  const previous = node.units;
  node.units = units;
  const problems = validateSpec(ctx.draft, ctx.limits);
  if (problems.length > 0) {
    throw ctx.fail(
      `changing "${node.id}" from ${previous} to ${units} units breaks the graph: ${problems.join('; ')}; remove the bypass that merges it or resize its partner too`,
    );
  }
}

function applySetActivation(ctx: EditContext, edit: Extract<Edit, { op: 'setActivation' }>): void {
  const node = getNode(ctx, edit.node, 'layer');
  if (node.op !== 'dense' && node.op !== 'conv2d' && node.op !== 'activation') {
    throw ctx.fail(`node "${node.id}" is a ${node.op}; setActivation only changes dense, conv2d and activation nodes`);
  }
  requireNotOutput(ctx, node.id, 'its activation defines the logits and cannot change');
  requireActivation(ctx, edit.activation);
  if (node.activation === edit.activation) {
    throw ctx.fail(`node "${node.id}" already uses ${edit.activation}; nothing to change`);
  }
  node.activation = edit.activation;
}

function applyAddNorm(ctx: EditContext, edit: Extract<Edit, { op: 'addNorm' }>): void {
  const after = getNode(ctx, edit.after, '"after"');
  requireNotOutput(ctx, after.id, 'normalising the logits is not allowed; add the norm before it');
  if (after.op === 'layerNorm') throw ctx.fail(`node "${after.id}" is already a layerNorm`);
  const existing = soleConsumerWithOp(ctx, after.id, 'layerNorm');
  if (existing) throw ctx.fail(`node "${after.id}" is already followed by layerNorm "${existing.id}"`);
  const id = uniqueId(`norm_${after.id}`, takenIds(ctx));
  redirectConsumers(ctx, after.id, id);
  insertNodeAfter(ctx, { id, op: 'layerNorm', inputs: [after.id] }, after.id);
}

function applySetDropout(ctx: EditContext, edit: Extract<Edit, { op: 'setDropout' }>): void {
  const after = getNode(ctx, edit.after, '"after"');
  const rate: unknown = edit.rate;
  if (typeof rate !== 'number' || !Number.isFinite(rate) || rate < 0 || rate >= 1) {
    throw ctx.fail(`dropout rate ${formatValue(rate)} is out of range; use a number in [0, 1) (0 removes the dropout)`);
  }
  requireNotOutput(ctx, after.id, 'dropout on the logits is not allowed; put it before the output layer');
  if (after.op === 'dropout') {
    throw ctx.fail(`node "${after.id}" is itself a dropout; use setDropout on the node before it`);
  }
  const existing = soleConsumerWithOp(ctx, after.id, 'dropout');
  if (existing && existing.op === 'dropout') {
    if (existing.rate === rate) throw ctx.fail(`dropout "${existing.id}" after "${after.id}" already has rate ${rate}; nothing to change`);
    if (rate === 0) {
      redirectConsumers(ctx, existing.id, after.id);
      removeNode(ctx, existing.id);
    } else {
      existing.rate = rate;
    }
    return;
  }
  if (rate === 0) throw ctx.fail(`there is no dropout right after "${after.id}"; nothing to remove`);
  const id = uniqueId(`drop_${after.id}`, takenIds(ctx));
  redirectConsumers(ctx, after.id, id);
  insertNodeAfter(ctx, { id, op: 'dropout', inputs: [after.id], rate }, after.id);
}

function applyRecipeEdit(ctx: EditContext, edit: Extract<Edit, { op: 'setLearningRate' | 'setBatchSize' | 'setEpochs' }>): void {
  const recipe = ctx.draft.recipe;
  const value: unknown = edit.value;
  const { limits } = ctx;
  if (edit.op === 'setLearningRate') {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < limits.minLearningRate || value > limits.maxLearningRate) {
      throw ctx.fail(`learning rate ${formatValue(value)} is out of range; use a number in [${limits.minLearningRate}, ${limits.maxLearningRate}]`);
    }
    if (value === recipe.learningRate) throw ctx.fail(`learning rate is already ${value}; nothing to change`);
    recipe.learningRate = value;
    return;
  }
  const field = edit.op === 'setBatchSize' ? 'batchSize' : 'epochs';
  const max = edit.op === 'setBatchSize' ? limits.maxBatchSize : limits.maxEpochs;
  if (!isIntegerIn(value, 1, max)) {
    throw ctx.fail(`${field} ${formatValue(value)} is out of range; use an integer from 1 to ${max}`);
  }
  if (value === recipe[field]) throw ctx.fail(`${field} is already ${value}; nothing to change`);
  recipe[field] = value;
}

function safeDescribe(edit: Edit): string {
  try {
    return describeEdit(edit);
  } catch {
    return formatValue(edit);
  }
}

/**
 * Applies one edit and returns a new, valid spec (see arch/edit.ts for the semantics).
 * Throws EditError naming the node or recipe field and what is wrong.
 */
export function applyEdit(spec: Spec, edit: Edit, limits: SizeLimits = DEFAULT_LIMITS): Spec {
  const label = `cannot apply "${showInvisible(safeDescribe(edit))}"`;
  const fail = (message: string) => new EditError(`${label}: ${message}`, edit);
  if (!edit || typeof edit !== 'object' || !(EDIT_OPS as readonly string[]).includes((edit as { op: unknown }).op as string)) {
    throw fail(`unknown edit op ${formatValue((edit as { op?: unknown } | null)?.op)} (known ops: ${EDIT_OPS.join(', ')})`);
  }
  const baseProblems = validateSpec(spec, limits);
  if (baseProblems.length > 0) throw fail(`the spec being edited is invalid: ${baseProblems.join('; ')}`);

  const ctx: EditContext = { spec, draft: cloneSpec(spec), shapes: inferShapes(spec.arch), limits, fail };
  switch (edit.op) {
    case 'addBypass':
      applyAddBypass(ctx, edit);
      break;
    case 'removeBypass':
      applyRemoveBypass(ctx, edit);
      break;
    case 'insertLayer':
      applyInsertLayer(ctx, edit);
      break;
    case 'removeLayer':
      applyRemoveLayer(ctx, edit);
      break;
    case 'setUnits':
      applySetUnits(ctx, edit);
      break;
    case 'setActivation':
      applySetActivation(ctx, edit);
      break;
    case 'addNorm':
      applyAddNorm(ctx, edit);
      break;
    case 'setDropout':
      applySetDropout(ctx, edit);
      break;
    case 'setLearningRate':
    case 'setBatchSize':
    case 'setEpochs':
      applyRecipeEdit(ctx, edit);
      break;
  }

  const problems = validateSpec(ctx.draft, limits);
  if (problems.length > 0) throw fail(`the result would be invalid: ${problems.join('; ')}`);
  const outputBefore = ctx.shapes[spec.arch.output]!;
  const outputAfter = inferShapes(ctx.draft.arch)[ctx.draft.arch.output]!;
  if (!sameShape(outputBefore, outputAfter)) {
    throw fail(
      `the output shape would change from ${formatShape(outputBefore)} to ${formatShape(outputAfter)}; the output must keep one logit per class`,
    );
  }
  return ctx.draft;
}

/**
 * Applies edits in order; an EditError says which edit (0-based `editIndex`) failed and why.
 * With no edits it returns a copy of `spec` (unvalidated: there is nothing to blame).
 */
export function applyEdits(spec: Spec, edits: readonly Edit[], limits: SizeLimits = DEFAULT_LIMITS): Spec {
  let current = cloneSpec(spec);
  edits.forEach((edit, index) => {
    try {
      current = applyEdit(current, edit, limits);
    } catch (error) {
      if (!(error instanceof EditError)) throw error;
      throw new EditError(`edit #${index} of ${edits.length}: ${error.message}`, edit, index);
    }
  });
  return current;
}
