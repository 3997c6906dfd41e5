import type { ArchNode, ArchSpec, Spec } from './spec.ts';
import { inferShapes } from './analyze.ts';
import { inputIds } from './graph.ts';

// Size and compute model. Biases are counted; add/concat/activation/pool work is ignored because
// it is negligible next to the multiply-accumulates of dense and conv layers.

function lastDim(shape: readonly number[]): number {
  return shape[shape.length - 1]!;
}

/** Trainable parameters of one node given the shape of its (first) input. */
export function nodeParams(node: ArchNode, inputShape: readonly number[] | undefined): number {
  if (!inputShape) return 0;
  switch (node.op) {
    case 'dense':
      return lastDim(inputShape) * node.units + node.units;
    case 'conv2d':
      return node.kernelSize * node.kernelSize * lastDim(inputShape) * node.filters + node.filters;
    case 'layerNorm':
      return 2 * lastDim(inputShape); // gamma and beta per feature
    default:
      return 0;
  }
}

/** Multiply-accumulates of one node for one sample. */
export function nodeMacs(node: ArchNode, inputShape: readonly number[] | undefined, shape: readonly number[] | undefined): number {
  if (!inputShape || !shape) return 0;
  switch (node.op) {
    case 'dense':
      return lastDim(inputShape) * node.units;
    case 'conv2d': {
      const [outHeight, outWidth] = shape as [number, number, number];
      return outHeight * outWidth * node.kernelSize * node.kernelSize * lastDim(inputShape) * node.filters;
    }
    default:
      return 0;
  }
}

function sumOverNodes(arch: ArchSpec, perNode: (node: ArchNode, inputShape: number[] | undefined, shape: number[] | undefined) => number): number {
  const shapes = inferShapes(arch);
  let total = 0;
  for (const node of arch.nodes) {
    const firstInput = inputIds(node)[0];
    total += perNode(node, firstInput === undefined ? undefined : shapes[firstInput], shapes[node.id]);
  }
  return total;
}

/** Trainable parameters of the whole model. Throws SpecError if shapes cannot be inferred. */
export function countParams(arch: ArchSpec): number {
  return sumOverNodes(arch, (node, inputShape) => nodeParams(node, inputShape));
}

/** Multiply-accumulates of one forward pass for one sample. */
export function forwardMacs(arch: ArchSpec): number {
  return sumOverNodes(arch, nodeMacs);
}

/**
 * Approximate FLOPs to train: 2 FLOPs per MAC (multiply + add) for the forward pass, and the
 * backward pass costs about twice the forward (gradients w.r.t. inputs and weights), so
 * 2 × (1 + 2) = 6 FLOPs per MAC per sample per epoch.
 */
export function trainingFlops(spec: Spec, samples: number): number {
  return 6 * forwardMacs(spec.arch) * samples * spec.recipe.epochs;
}
