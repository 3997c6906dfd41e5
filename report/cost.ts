import { nodeMacs, nodeParams } from '../arch/cost.ts';
import { outputShape, type ShapedInput } from '../arch/shape-rules.ts';
import type { ArchNode, Spec } from '../arch/spec.ts';

// Model size and compute of a recorded spec, for plotting thousands of experiments. Same rules
// as arch/cost.ts (countParams, forwardMacs) but one pass without validation: recorded specs
// were validated before they trained, and a report must not spend seconds re-validating them.

export interface SpecCost {
  params: number;
  /** Multiply-accumulates of one forward pass for one sample. */
  macs: number;
  epochs: number;
}

function shapeFromRules(node: ArchNode, inputs: ShapedInput[]): number[] | null {
  const result = outputShape(node, inputs);
  return 'shape' in result ? result.shape : null;
}

/**
 * The common, shape-preserving or trivially-shaped ops without the rules' allocations (most of a
 * big spec's nodes); null for anything else, which goes through arch/shape-rules.ts. Recorded
 * specs were validated before training, so the rules' error checks would never fire here.
 */
function quickShape(node: ArchNode, inputs: number[][]): number[] | null {
  const first = inputs[0];
  switch (node.op) {
    case 'dense':
      return first!.length === 1 ? [node.units] : null;
    case 'layerNorm':
    case 'dropout':
    case 'activation':
      return first!;
    case 'add':
      return inputs.every((s) => s.length === 1 && s[0] === first![0]) ? first! : null;
    case 'concat':
      return inputs.every((s) => s.length === 1) ? [inputs.reduce((sum, s) => sum + s[0]!, 0)] : null;
    default:
      return null;
  }
}

/** Params, forward MACs and epochs of a spec; null when its shapes cannot be worked out. */
export function specCost(spec: Spec): SpecCost | null {
  const nodes = spec?.arch?.nodes;
  if (!Array.isArray(nodes)) return null;
  const byId = new Map<string, ArchNode>();
  for (const node of nodes) if (node && typeof node.id === 'string' && !byId.has(node.id)) byId.set(node.id, node);
  const shapes = new Map<string, number[] | null>();
  const visiting = new Set<string>();

  const shapeOf = (id: string): number[] | null => {
    const known = shapes.get(id);
    if (known !== undefined) return known;
    const node = byId.get(id);
    if (!node || visiting.has(id)) return null;
    visiting.add(id);
    const ids = node.op === 'input' ? [] : (node.inputs ?? []);
    const inputs: number[][] = [];
    let ok = true;
    for (const inputId of ids) {
      const shape = shapeOf(inputId);
      if (!shape) {
        ok = false;
        break;
      }
      inputs.push(shape);
    }
    let shape: number[] | null = null;
    if (ok) shape = quickShape(node, inputs) ?? shapeFromRules(node, inputs.map((s, i) => ({ id: ids[i]!, shape: s })));
    visiting.delete(id);
    shapes.set(id, shape);
    return shape;
  };

  let params = 0;
  let macs = 0;
  for (const node of byId.values()) {
    const shape = shapeOf(node.id);
    if (!shape) return null;
    const first = node.op === 'input' ? undefined : node.inputs?.[0];
    const inputShape = first === undefined ? undefined : (shapes.get(first) ?? undefined);
    params += nodeParams(node, inputShape);
    macs += nodeMacs(node, inputShape, shape);
  }
  const epochs = spec.recipe?.epochs;
  return { params, macs, epochs: typeof epochs === 'number' ? epochs : 0 };
}
