import type { ArchNode, ArchSpec, SizeLimits } from './spec.ts';
import { SpecError } from './errors.ts';
import { formatIdList, formatShape, formatValue } from './format.ts';
import { formatCycle, inputIds, liveNodes, nodesById, traverse } from './graph.ts';
import { checkNodeParams, checkNodeStructure } from './params.ts';
import { outputShape, type ShapedInput } from './shape-rules.ts';

// One pass over an architecture that finds every problem and, where possible, each node's shape.
// validateSpec adds recipe and size checks on top; inferShapes and the cost model reuse it.

export interface ArchAnalysis {
  errors: string[];
  /** Shapes of every node whose shape could be worked out (all of them when `errors` is empty). */
  shapes: Record<string, number[]>;
  /** Topological order (inputs first) of the nodes outside any cycle. */
  order: string[];
  byId: Map<string, ArchNode>;
}

/** Limits that never bind: shape inference and cost must work on specs of any size. */
const UNBOUNDED: SizeLimits = {
  maxNodes: Infinity,
  maxUnits: Infinity,
  maxParams: Infinity,
  maxEpochs: Infinity,
  maxBatchSize: Infinity,
  minLearningRate: 0,
  maxLearningRate: Infinity,
};

export function analyzeArch(arch: ArchSpec, limits: SizeLimits): ArchAnalysis {
  const errors: string[] = [];
  const shapes: Record<string, number[]> = {};
  if (!arch || typeof arch !== 'object' || !Array.isArray(arch.nodes)) {
    return { errors: ['arch.nodes must be an array of nodes'], shapes, order: [], byId: new Map() };
  }

  // Nodes whose own definition is broken get no shape; problems downstream of them stay silent
  // so one typo does not produce a cascade of messages.
  const broken = new Set<string>();
  const idCounts = new Map<string, number>();
  arch.nodes.forEach((node, index) => {
    if (!node || typeof node !== 'object') {
      errors.push(`nodes[${index}]: ${formatValue(node)} is not a node object`);
      return;
    }
    if (typeof node.id !== 'string' || node.id === '') {
      errors.push(`nodes[${index}] (op ${formatValue((node as { op?: unknown }).op)}): missing or empty "id"; give every node a unique string id`);
      return;
    }
    idCounts.set(node.id, (idCounts.get(node.id) ?? 0) + 1);
    const structureErrors = checkNodeStructure(node);
    const nodeErrors = structureErrors.length > 0 ? structureErrors : checkNodeParams(node, limits);
    if (nodeErrors.length > 0) {
      errors.push(...nodeErrors);
      broken.add(node.id);
    }
  });
  for (const [id, count] of idCounts) {
    if (count > 1) {
      errors.push(`node "${id}": id is used by ${count} nodes; ids must be unique, rename the others`);
      broken.add(id);
    }
  }

  const byId = nodesById(arch);
  const knownIds = [...byId.keys()];

  const inputNodes = arch.nodes.filter((node) => node && node.op === 'input');
  if (inputNodes.length === 0) {
    errors.push('graph has no input node; add one node {op: "input", shape: [...]} that all paths start from');
  } else if (inputNodes.length > 1) {
    errors.push(
      `graph has ${inputNodes.length} input nodes (${inputNodes.map((n) => `"${n.id}"`).join(', ')}); keep exactly one and feed the others from it`,
    );
  }

  for (const node of byId.values()) {
    for (const inputId of inputIds(node)) {
      if (!byId.has(inputId)) {
        errors.push(`node "${node.id}": input "${inputId}" does not exist (known nodes: ${formatIdList(knownIds)})`);
        broken.add(node.id);
      }
    }
  }

  const outputExists = typeof arch.output === 'string' && byId.has(arch.output);
  if (!outputExists) {
    errors.push(`output ${formatValue(arch.output)} does not exist; set "output" to the id of the logits node (known nodes: ${formatIdList(knownIds)})`);
  }

  const { order: fullOrder, cycles } = traverse(arch);
  const inCycle = new Set<string>();
  for (const cycle of cycles) {
    errors.push(`node "${cycle[0]}": part of cycle ${formatCycle(cycle)}; a node cannot depend on its own output, remove one of these inputs`);
    cycle.forEach((id) => inCycle.add(id));
  }

  if (outputExists) {
    const live = liveNodes(arch);
    for (const id of knownIds) {
      if (!live.has(id)) {
        errors.push(`node "${id}": does not feed the output "${arch.output}"; connect it to the rest of the graph or remove it`);
      }
    }
  }

  // A node downstream of a cycle has no well-defined order, so it is left out.
  const blocked = new Set(inCycle);
  const order: string[] = [];
  for (const id of fullOrder) {
    if (inputIds(byId.get(id)!).some((inputId) => blocked.has(inputId))) blocked.add(id);
    if (!blocked.has(id)) order.push(id);
  }

  for (const id of order) {
    if (broken.has(id)) continue;
    const node = byId.get(id)!;
    const inputs: ShapedInput[] = [];
    for (const inputId of inputIds(node)) {
      const shape = shapes[inputId];
      if (!shape) break;
      inputs.push({ id: inputId, shape });
    }
    if (inputs.length !== inputIds(node).length) continue;
    const result = outputShape(node, inputs);
    if ('error' in result) errors.push(`node "${id}": ${result.error}`);
    else shapes[id] = result.shape;
  }

  const outputShapeValue = outputExists ? shapes[arch.output] : undefined;
  if (outputShapeValue && outputShapeValue.length !== 1) {
    errors.push(
      `output node "${arch.output}": has shape ${formatShape(outputShapeValue)} but the output must be rank-1 logits; add a flatten and a dense layer with one unit per class`,
    );
  }

  return { errors, shapes, order, byId };
}

/** Per-sample shape of every node (no batch dimension). Throws SpecError if any shape is undefined. */
export function inferShapes(arch: ArchSpec): Record<string, number[]> {
  const analysis = analyzeArch(arch, UNBOUNDED);
  const missing = [...analysis.byId.keys()].filter((id) => !analysis.shapes[id]);
  if (missing.length > 0 || analysis.byId.size === 0) {
    throw new SpecError(
      analysis.errors.length > 0 ? analysis.errors : [`cannot infer shapes of ${formatIdList(missing)}`],
      'cannot infer shapes',
    );
  }
  return analysis.shapes;
}
