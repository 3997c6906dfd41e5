import type { ArchNode, Spec } from './spec.ts';
import { SpecError } from './errors.ts';
import { inputIds, liveNodes, nodesById, traverse, formatCycle } from './graph.ts';

// Content hash of a spec that identifies the *model*, not how it happens to be written down:
// node ids and the order of `nodes` do not matter. Used to dedupe experiments across a campaign.

/**
 * Two independent 32-bit multiply-xorshift lanes (different multipliers and seeds) over UTF-16
 * code units, cross-mixed at the end, giving 64 bits as two 32-bit halves. Not cryptographic:
 * it only has to spread structurally different specs apart.
 */
export function hash64(text: string, seed = 0): [number, number] {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ code, 0x9e3779b1);
    h2 = Math.imul(h2 ^ code, 0x5f356495);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 0x85ebca6b) ^ Math.imul(h2 ^ (h2 >>> 13), 0xc2b2ae35);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 0x85ebca6b) ^ Math.imul(h1 ^ (h1 >>> 13), 0xc2b2ae35);
  h1 ^= h1 >>> 16;
  h2 ^= h2 >>> 16;
  return [h1 >>> 0, h2 >>> 0];
}

/** 16 lowercase hex characters. */
export function hashText(text: string): string {
  const [high, low] = hash64(text);
  return high.toString(16).padStart(8, '0') + low.toString(16).padStart(8, '0');
}

/** The node's own content: op and parameters, never its id. */
function nodeContent(node: ArchNode): unknown[] {
  switch (node.op) {
    case 'input':
      return ['input', node.shape];
    case 'dense':
      return ['dense', node.units, node.activation];
    case 'add':
      return ['add'];
    case 'concat':
      return ['concat'];
    case 'layerNorm':
      return ['layerNorm'];
    case 'dropout':
      return ['dropout', node.rate];
    case 'activation':
      return ['activation', node.activation];
    case 'conv2d':
      return ['conv2d', node.filters, node.kernelSize, node.strides, node.padding, node.activation];
    case 'maxPool2d':
      return ['maxPool2d', node.poolSize, node.strides];
    case 'flatten':
      return ['flatten'];
    default:
      return [String((node as { op: unknown }).op)];
  }
}

/**
 * Merkle-style: a node's signature hashes its content with its inputs' signatures (sorted for
 * `add`, which is commutative; in order for `concat`, whose layout depends on it). The spec hash
 * combines the output's signature, the sorted multiset of all live node signatures (so two
 * separate identical branches differ from one shared branch read twice) and the recipe.
 * Throws SpecError on a cycle, where no signature exists.
 */
export function specHash(spec: Spec): string {
  const arch = spec.arch;
  const byId = nodesById(arch);
  const { order, cycles } = traverse(arch);
  if (cycles.length > 0) {
    throw new SpecError(cycles.map((c) => `node "${c[0]}": part of cycle ${formatCycle(c)}`), 'cannot hash a cyclic graph');
  }
  const signatures = new Map<string, string>();
  for (const id of order) {
    const node = byId.get(id)!;
    const inputSignatures = inputIds(node).map((inputId) => signatures.get(inputId) ?? `missing:${inputId}`);
    if (node.op === 'add') inputSignatures.sort();
    signatures.set(id, hashText(JSON.stringify([nodeContent(node), inputSignatures])));
  }
  const liveSignatures = [...liveNodes(arch)].map((id) => signatures.get(id)!).sort();
  const recipe = spec.recipe;
  const recipeContent = [recipe.optimizer, recipe.learningRate, recipe.batchSize, recipe.epochs];
  return hashText(JSON.stringify([signatures.get(arch.output) ?? 'no-output', liveSignatures, recipeContent]));
}
