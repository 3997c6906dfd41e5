import type { ArchNode, ArchSpec } from './spec.ts';
import { SpecError } from './errors.ts';

// Graph helpers over ArchSpec. They tolerate malformed specs (missing inputs, duplicate ids,
// junk in `inputs`) because validation itself is built on them.

/** Inputs of a node as listed, ignoring anything that is not a string id. */
export function inputIds(node: ArchNode): string[] {
  if (node.op === 'input') return [];
  const inputs: unknown = (node as { inputs?: unknown }).inputs;
  if (!Array.isArray(inputs)) return [];
  return inputs.filter((input): input is string => typeof input === 'string');
}

/** Nodes by id; with duplicate ids the first occurrence wins (validation reports the duplicates). */
export function nodesById(arch: ArchSpec): Map<string, ArchNode> {
  const byId = new Map<string, ArchNode>();
  for (const node of arch.nodes) {
    if (node && typeof node.id === 'string' && !byId.has(node.id)) byId.set(node.id, node);
  }
  return byId;
}

/** Ids of nodes that read `id`, in `nodes` order, each once. */
export function consumers(arch: ArchSpec, id: string): string[] {
  const result: string[] = [];
  for (const node of arch.nodes) {
    if (inputIds(node).includes(id) && !result.includes(node.id)) result.push(node.id);
  }
  return result;
}

export interface TraversalResult {
  /** Every node id (first occurrence of duplicates), inputs before the nodes that read them. */
  order: string[];
  /** Each cycle in data-flow order: `[a, b, c]` means a feeds b feeds c feeds a. */
  cycles: string[][];
}

/**
 * Depth-first post-order over `inputs` edges, starting from nodes in `nodes` order and following
 * inputs in listed order, so the result depends only on the spec. Iterative: a 256-deep chain
 * must not depend on the JS stack size. Missing inputs are skipped (validation reports them).
 */
export function traverse(arch: ArchSpec): TraversalResult {
  const byId = nodesById(arch);
  const NEW = 0;
  const ON_STACK = 1;
  const DONE = 2;
  const state = new Map<string, number>();
  const order: string[] = [];
  const cycles: string[][] = [];

  for (const rootId of byId.keys()) {
    if ((state.get(rootId) ?? NEW) !== NEW) continue;
    const stack: { id: string; nextInput: number }[] = [{ id: rootId, nextInput: 0 }];
    state.set(rootId, ON_STACK);
    while (stack.length > 0) {
      const frame = stack[stack.length - 1]!;
      const inputs = inputIds(byId.get(frame.id)!);
      if (frame.nextInput < inputs.length) {
        const inputId = inputs[frame.nextInput++]!;
        if (!byId.has(inputId)) continue;
        const inputState = state.get(inputId) ?? NEW;
        if (inputState === NEW) {
          state.set(inputId, ON_STACK);
          stack.push({ id: inputId, nextInput: 0 });
        } else if (inputState === ON_STACK) {
          // The stack runs consumer → input, so reversing the slice gives data-flow order.
          const start = stack.findIndex((f) => f.id === inputId);
          cycles.push(stack.slice(start).map((f) => f.id).reverse());
        }
      } else {
        state.set(frame.id, DONE);
        order.push(frame.id);
        stack.pop();
      }
    }
  }
  return { order, cycles };
}

export function formatCycle(cycle: readonly string[]): string {
  return [...cycle, cycle[0]].join(' → ');
}

/** Node ids with every node after all of its inputs. Deterministic; throws SpecError on a cycle. */
export function topoOrder(arch: ArchSpec): string[] {
  const { order, cycles } = traverse(arch);
  if (cycles.length > 0) {
    throw new SpecError(
      cycles.map((c) => `node "${c[0]}": part of cycle ${formatCycle(c)}; remove one of these inputs`),
      'graph has a cycle',
    );
  }
  return order;
}

/** Every node `id` depends on, directly or indirectly (not `id` itself unless it is in a cycle). */
export function ancestors(arch: ArchSpec, id: string): Set<string> {
  const byId = nodesById(arch);
  const seen = new Set<string>();
  const start = byId.get(id);
  const queue = start ? inputIds(start) : [];
  while (queue.length > 0) {
    const next = queue.pop()!;
    if (seen.has(next) || !byId.has(next)) continue;
    seen.add(next);
    queue.push(...inputIds(byId.get(next)!));
  }
  return seen;
}

/** The output node and everything it depends on: the part of the graph that computes something. */
export function liveNodes(arch: ArchSpec): Set<string> {
  const live = ancestors(arch, arch.output);
  if (nodesById(arch).has(arch.output)) live.add(arch.output);
  return live;
}
