import type { ArchNode, Recipe, Spec } from './spec.ts';

// A human-readable difference between two specs: what a reviewer needs to see to understand how
// one experiment's model differs from another's ("+ bypass h3 → h7 (add)", "~ h4 units 64 → 128",
// "+ layerNorm after h7", "~ learning rate 0.001 → 0.003"). Pure; tolerant of any two valid specs
// (not only a parent and its child): nodes are matched by id, and re-wiring that is fully
// explained by inserted or removed nodes is not reported separately.

export type SpecChangeKind = 'add' | 'remove' | 'change';

export interface SpecChange {
  kind: SpecChangeKind;
  /** The node id (or recipe field, or "output") the change is about. */
  subject: string;
  /** One line starting with "+ ", "- " or "~ ". */
  text: string;
}

const MARK: Record<SpecChangeKind, string> = { add: '+', remove: '-', change: '~' };

function change(kind: SpecChangeKind, subject: string, body: string): SpecChange {
  return { kind, subject, text: `${MARK[kind]} ${body}` };
}

function byId(spec: Spec): Map<string, ArchNode> {
  const map = new Map<string, ArchNode>();
  for (const node of spec.arch?.nodes ?? []) {
    if (node && typeof node.id === 'string' && !map.has(node.id)) map.set(node.id, node);
  }
  return map;
}

function inputsOf(node: ArchNode | undefined): string[] {
  if (!node || node.op === 'input') return [];
  return Array.isArray(node.inputs) ? node.inputs.filter((i): i is string => typeof i === 'string') : [];
}

function isMerge(node: ArchNode | undefined): node is Extract<ArchNode, { op: 'add' | 'concat' }> {
  return node?.op === 'add' || node?.op === 'concat';
}

/** A node's own settings, e.g. "dense(64, relu)", "dropout(0.2)", "conv2d(16, 3×3, relu)". */
export function describeNode(node: ArchNode): string {
  switch (node.op) {
    case 'input':
      return `input [${node.shape.join(',')}]`;
    case 'dense':
      return `dense(${node.units}, ${node.activation})`;
    case 'add':
    case 'concat':
      return `${node.op}(${inputsOf(node).join(', ')})`;
    case 'layerNorm':
      return 'layerNorm';
    case 'dropout':
      return `dropout(${node.rate})`;
    case 'activation':
      return `activation(${node.activation})`;
    case 'conv2d':
      return `conv2d(${node.filters}, ${node.kernelSize}×${node.kernelSize}${node.strides !== 1 ? `, stride ${node.strides}` : ''}, ${node.padding}, ${node.activation})`;
    case 'maxPool2d':
      return `maxPool2d(${node.poolSize}${node.strides !== node.poolSize ? `, stride ${node.strides}` : ''})`;
    case 'flatten':
      return 'flatten';
    default:
      return String((node as { op?: unknown }).op ?? 'node');
  }
}

/**
 * The source of a bypass merge `[to, src, ...]`: when `src` is a linear dense projection made for
 * the merge (it exists only in this spec and feeds nothing else), the node it projects.
 */
function bypassSource(
  merge: ArchNode,
  nodes: Map<string, ArchNode>,
  isNew: (id: string) => boolean,
  readers: Map<string, number>,
): { from: string[]; projection: ArchNode | null } {
  const [, ...rest] = inputsOf(merge);
  if (rest.length === 1) {
    const src = nodes.get(rest[0]!);
    if (
      src?.op === 'dense' &&
      src.activation === 'linear' &&
      isNew(src.id) &&
      (readers.get(src.id) ?? 0) === 1 &&
      inputsOf(src).length === 1
    ) {
      return { from: [inputsOf(src)[0]!], projection: src };
    }
  }
  return { from: rest, projection: null };
}

function readerCounts(nodes: Map<string, ArchNode>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const node of nodes.values()) for (const i of inputsOf(node)) counts.set(i, (counts.get(i) ?? 0) + 1);
  return counts;
}

/**
 * The node a bypass joins: the merge's first input, followed through other merges that exist on
 * this side only (two bypasses into the same node stack their merges; each joins that node).
 */
function bypassTarget(merge: ArchNode, nodes: Map<string, ArchNode>, isNew: (id: string) => boolean): string {
  let to = inputsOf(merge)[0] ?? '?';
  for (let guard = 0; guard < 1000; guard++) {
    const node = nodes.get(to);
    if (!isMerge(node) || !isNew(to)) break;
    to = inputsOf(node)[0] ?? to;
  }
  return to;
}

function bypassText(merge: ArchNode, to: string, from: string[], projection: ArchNode | null): string {
  const via = projection && projection.op === 'dense' ? `, projected to ${projection.units}` : '';
  return `bypass ${from.join(', ')} → ${to} (${merge.op}${via})`;
}

function insertedText(node: ArchNode): string {
  const after = inputsOf(node)[0];
  const where = after === undefined ? '' : ` after ${after}`;
  switch (node.op) {
    case 'input':
      return `input ${node.id} [${node.shape.join(',')}]`;
    case 'layerNorm':
    case 'flatten':
      return `${node.op}${where}`;
    default:
      return `${describeNode(node)}${where}${node.op === 'dense' || node.op === 'conv2d' ? ` as ${node.id}` : ''}`;
  }
}

function removedText(node: ArchNode): string {
  const after = inputsOf(node)[0];
  const where = after === undefined ? '' : ` after ${after}`;
  switch (node.op) {
    case 'layerNorm':
    case 'flatten':
      return `${node.op}${where}`;
    case 'dropout':
      return `dropout(${node.rate})${where}`;
    default:
      return `layer ${node.id}: ${describeNode(node)}`;
  }
}

function fieldChanges(a: ArchNode, b: ArchNode, out: SpecChange[]): void {
  const id = b.id;
  const name = b.op === 'dropout' ? `dropout after ${inputsOf(b)[0] ?? id}` : id;
  if (a.op !== b.op) {
    out.push(change('change', id, `${id} ${describeNode(a)} → ${describeNode(b)}`));
    return;
  }
  const fields: Array<[string, string]> = [
    ['units', 'units'],
    ['filters', 'filters'],
    ['kernelSize', 'kernel'],
    ['strides', 'strides'],
    ['padding', 'padding'],
    ['poolSize', 'pool size'],
    ['activation', 'activation'],
    ['rate', 'rate'],
  ];
  const ra = a as unknown as Record<string, unknown>;
  const rb = b as unknown as Record<string, unknown>;
  for (const [field, label] of fields) {
    if (ra[field] !== rb[field] && (field in ra || field in rb)) {
      out.push(change('change', id, `${name} ${label} ${fmt(ra[field])} → ${fmt(rb[field])}`));
    }
  }
  if (a.op === 'input' && b.op === 'input' && a.shape.join(',') !== b.shape.join(',')) {
    out.push(change('change', id, `${id} shape [${a.shape.join(',')}] → [${b.shape.join(',')}]`));
  }
}

function fmt(value: unknown): string {
  if (value === undefined) return '—';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

const RECIPE_FIELDS: Array<[keyof Recipe, string]> = [
  ['optimizer', 'optimizer'],
  ['learningRate', 'learning rate'],
  ['batchSize', 'batch size'],
  ['epochs', 'epochs'],
];

/**
 * What changed from `from` to `to`, in reading order: node changes following `to`'s node list,
 * then removed nodes, the output, and the recipe. Empty when the specs are equivalent.
 */
export function diffSpecs(from: Spec, to: Spec): SpecChange[] {
  const a = byId(from);
  const b = byId(to);
  const readersA = readerCounts(a);
  const readersB = readerCounts(b);
  const out: SpecChange[] = [];
  const absorbed = new Set<string>(); // projection nodes described as part of their bypass

  // Follow an id through nodes that exist only on one side to a node both sides have, taking
  // the first input of inserted single-input nodes and merges (the main path).
  const resolve = (id: string, side: Map<string, ArchNode>, other: Map<string, ArchNode>): string => {
    let current = id;
    for (let guard = 0; guard < 10_000 && !other.has(current); guard++) {
      const node = side.get(current);
      const next = inputsOf(node)[0];
      if (next === undefined) break;
      current = next;
    }
    return current;
  };

  const pending: SpecChange[] = [];
  for (const node of b.values()) {
    if (a.has(node.id)) continue;
    if (isMerge(node)) {
      const isNew = (id: string) => !a.has(id);
      const { from: src, projection } = bypassSource(node, b, isNew, readersB);
      if (projection) absorbed.add(projection.id);
      pending.push(change('add', node.id, bypassText(node, bypassTarget(node, b, isNew), src, projection)));
    }
  }
  const removedMerges: SpecChange[] = [];
  for (const node of a.values()) {
    if (b.has(node.id)) continue;
    if (isMerge(node)) {
      const isGone = (id: string) => !b.has(id);
      const { from: src, projection } = bypassSource(node, a, isGone, readersA);
      if (projection) absorbed.add(projection.id);
      removedMerges.push(change('remove', node.id, bypassText(node, bypassTarget(node, a, isGone), src, projection)));
    }
  }

  for (const node of b.values()) {
    const old = a.get(node.id);
    if (!old) {
      if (isMerge(node)) out.push(pending.find((c) => c.subject === node.id)!);
      else if (!absorbed.has(node.id)) out.push(change('add', node.id, insertedText(node)));
      continue;
    }
    fieldChanges(old, node, out);
    const before = inputsOf(old).map((i) => resolve(i, a, b));
    const after = inputsOf(node).map((i) => resolve(i, b, a));
    if (before.join('\0') !== after.join('\0')) {
      out.push(change('change', node.id, `${node.id} inputs ${before.join(', ') || '—'} → ${after.join(', ') || '—'}`));
    }
  }
  for (const node of a.values()) {
    if (b.has(node.id) || absorbed.has(node.id)) continue;
    if (isMerge(node)) out.push(removedMerges.find((c) => c.subject === node.id)!);
    else out.push(change('remove', node.id, removedText(node)));
  }

  const outA = from.arch?.output;
  const outB = to.arch?.output;
  if (outA !== outB && resolve(outA, a, b) !== resolve(outB, b, a)) {
    out.push(change('change', 'output', `output ${outA} → ${outB}`));
  }

  for (const [field, label] of RECIPE_FIELDS) {
    const va = from.recipe?.[field];
    const vb = to.recipe?.[field];
    if (va !== vb) out.push(change('change', field, `${label} ${fmt(va)} → ${fmt(vb)}`));
  }
  return out;
}

/** The diff as lines of text; "(no changes)" when there are none. */
export function formatSpecDiff(changes: readonly SpecChange[]): string[] {
  return changes.length === 0 ? ['(no changes)'] : changes.map((c) => c.text);
}
