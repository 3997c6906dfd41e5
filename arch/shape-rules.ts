import type { ArchNode } from './spec.ts';
import { formatShape } from './format.ts';

// How each op maps input shapes to its output shape (per sample, no batch dimension).
// Parameters are assumed valid (checked in params.ts); these rules only judge shapes.

export interface ShapedInput {
  id: string;
  shape: number[];
}

export type ShapeResult = { shape: number[] } | { error: string };

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((dim, i) => dim === b[i]);
}

/** Output size of a sliding window along one axis, Keras conventions. */
export function windowOutput(size: number, window: number, stride: number, padding: 'same' | 'valid'): number {
  return padding === 'same' ? Math.ceil(size / stride) : Math.floor((size - window) / stride) + 1;
}

function describeInput(input: ShapedInput): string {
  return `"${input.id}" ${formatShape(input.shape)}`;
}

export function outputShape(node: ArchNode, inputs: ShapedInput[]): ShapeResult {
  switch (node.op) {
    case 'input':
      return { shape: [...node.shape] };

    case 'dense': {
      const input = inputs[0]!;
      if (input.shape.length !== 1) {
        return {
          error: `input ${describeInput(input)} is rank ${input.shape.length} but dense needs a rank-1 input; add a flatten node before it`,
        };
      }
      return { shape: [node.units] };
    }

    case 'add': {
      const first = inputs[0]!;
      const other = inputs.find((input) => !sameShape(input.shape, first.shape));
      if (other) {
        return {
          error: `inputs have different shapes ${formatShape(first.shape)} and ${formatShape(other.shape)} (${describeInput(first)}, ${describeInput(other)}); add needs identical shapes: use concat or add a projection`,
        };
      }
      return { shape: [...first.shape] };
    }

    case 'concat': {
      const first = inputs[0]!;
      const leading = first.shape.slice(0, -1);
      for (const input of inputs.slice(1)) {
        if (input.shape.length !== first.shape.length || !sameShape(input.shape.slice(0, -1), leading)) {
          return {
            error: `inputs ${describeInput(first)} and ${describeInput(input)} cannot be concatenated; concat joins the last axis and needs the same rank and leading dimensions`,
          };
        }
      }
      const last = inputs.reduce((sum, input) => sum + input.shape[input.shape.length - 1]!, 0);
      return { shape: [...leading, last] };
    }

    case 'layerNorm':
    case 'dropout':
    case 'activation':
      return { shape: [...inputs[0]!.shape] };

    case 'conv2d':
    case 'maxPool2d': {
      const input = inputs[0]!;
      if (input.shape.length !== 3) {
        return {
          error: `input ${describeInput(input)} is rank ${input.shape.length} but ${node.op} needs a rank-3 [height, width, channels] input`,
        };
      }
      const [height, width, channels] = input.shape as [number, number, number];
      const window = node.op === 'conv2d' ? node.kernelSize : node.poolSize;
      const padding = node.op === 'conv2d' ? node.padding : 'valid';
      const outHeight = windowOutput(height, window, node.strides, padding);
      const outWidth = windowOutput(width, window, node.strides, padding);
      if (outHeight < 1 || outWidth < 1) {
        const windowName = node.op === 'conv2d' ? 'kernelSize' : 'poolSize';
        return {
          error: `${windowName} ${window} does not fit input ${describeInput(input)} with "valid" padding (output would be empty); use a smaller ${windowName}${node.op === 'conv2d' ? ' or padding "same"' : ''}`,
        };
      }
      return { shape: [outHeight, outWidth, node.op === 'conv2d' ? node.filters : channels] };
    }

    case 'flatten':
      return { shape: [inputs[0]!.shape.reduce((product, dim) => product * dim, 1)] };
  }
}
