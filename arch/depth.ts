import type { ArchNode, ArchSpec } from './spec.ts';
import { inputIds, liveNodes, nodesById, topoOrder } from './graph.ts';

// "Depth" in the sense that matters for trainability: how many weight layers a signal passes
// through on the longest path. A bypass (and its projection) adds a shorter path, so it leaves
// depth unchanged, which is what fixedDepth tasks need.

export function isWeightLayer(node: ArchNode): boolean {
  return node.op === 'dense' || node.op === 'conv2d';
}

/** Ids of dense and conv2d nodes that feed the output, in topological order. */
export function weightLayerIds(arch: ArchSpec): string[] {
  const byId = nodesById(arch);
  const live = liveNodes(arch);
  return topoOrder(arch).filter((id) => live.has(id) && isWeightLayer(byId.get(id)!));
}

/** Weight layers (dense + conv2d) on the longest input → output path. Throws on a cycle. */
export function depth(arch: ArchSpec): number {
  const byId = nodesById(arch);
  const longest = new Map<string, number>();
  for (const id of topoOrder(arch)) {
    const node = byId.get(id)!;
    const upstream = Math.max(0, ...inputIds(node).map((inputId) => longest.get(inputId) ?? 0));
    longest.set(id, upstream + (isWeightLayer(node) ? 1 : 0));
  }
  return longest.get(arch.output) ?? 0;
}
