import { ACTIVATIONS, NODE_OPS, type ArchNode, type SizeLimits } from './spec.ts';
import { formatValue } from './format.ts';

// Per-node checks that need no graph context: op, arity and numeric parameters.
// Every message starts with `node "<id>":` and says which values are allowed.

const SINGLE_INPUT_OPS = new Set(['dense', 'layerNorm', 'dropout', 'activation', 'conv2d', 'maxPool2d', 'flatten']);
const MERGE_OPS = new Set(['add', 'concat']);

/** Upper bound for kernel, pool and stride sizes; anything larger is a typo, not a design. */
export const MAX_WINDOW = 64;

export function isIntegerIn(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}

export function isSingleInputOp(op: string): boolean {
  return SINGLE_INPUT_OPS.has(op);
}

export function isActivation(value: unknown): boolean {
  return typeof value === 'string' && (ACTIVATIONS as readonly string[]).includes(value);
}

/** Structural problems: unknown op, wrong number or type of inputs. */
export function checkNodeStructure(node: ArchNode): string[] {
  const where = `node "${node.id}"`;
  const op = (node as { op: unknown }).op;
  if (typeof op !== 'string' || !(NODE_OPS as readonly string[]).includes(op)) {
    return [`${where}: unknown op ${formatValue(op)} (known ops: ${NODE_OPS.join(', ')})`];
  }
  if (op === 'input') return [];
  const inputs: unknown = (node as { inputs?: unknown }).inputs;
  if (!Array.isArray(inputs) || inputs.some((input) => typeof input !== 'string')) {
    return [`${where}: "inputs" must be an array of node ids, got ${formatValue(inputs)}`];
  }
  if (SINGLE_INPUT_OPS.has(op) && inputs.length !== 1) {
    return [`${where}: ${op} takes exactly 1 input, got ${inputs.length}; merge several inputs with an add or concat node first`];
  }
  if (MERGE_OPS.has(op)) {
    if (inputs.length < 2) {
      return [`${where}: ${op} needs at least 2 inputs, got ${inputs.length}; remove the ${op} node and read its input directly`];
    }
    const repeated = inputs.find((input, i) => inputs.indexOf(input) !== i);
    if (repeated !== undefined) {
      return [`${where}: input "${repeated}" is listed twice; each input of ${op} must be a different node`];
    }
  }
  return [];
}

function checkInteger(errors: string[], where: string, field: string, value: unknown, min: number, max: number): void {
  if (!isIntegerIn(value, min, max)) {
    errors.push(`${where}: ${field} ${formatValue(value)} is invalid; use an integer from ${min} to ${max}`);
  }
}

function checkActivation(errors: string[], where: string, value: unknown): void {
  if (!isActivation(value)) {
    errors.push(`${where}: unknown activation ${formatValue(value)}; use one of ${ACTIVATIONS.join(', ')}`);
  }
}

/** Numeric and enum parameters. Assumes `checkNodeStructure` passed. */
export function checkNodeParams(node: ArchNode, limits: SizeLimits): string[] {
  const where = `node "${node.id}"`;
  const errors: string[] = [];

  switch (node.op) {
    case 'input': {
      const shape: unknown = node.shape;
      const ok =
        Array.isArray(shape) &&
        (shape.length === 1 || shape.length === 3) &&
        shape.every((dim) => isIntegerIn(dim, 1, Number.MAX_SAFE_INTEGER));
      if (!ok) {
        errors.push(`${where}: shape ${formatValue(shape)} is invalid; use [features] or [height, width, channels] with positive integers`);
      }
      break;
    }
    case 'dense':
      checkInteger(errors, where, 'units', node.units, 1, limits.maxUnits);
      checkActivation(errors, where, node.activation);
      break;
    case 'conv2d':
      checkInteger(errors, where, 'filters', node.filters, 1, limits.maxUnits);
      checkInteger(errors, where, 'kernelSize', node.kernelSize, 1, MAX_WINDOW);
      checkInteger(errors, where, 'strides', node.strides, 1, MAX_WINDOW);
      if (node.padding !== 'same' && node.padding !== 'valid') {
        errors.push(`${where}: padding ${formatValue(node.padding)} is invalid; use "same" or "valid"`);
      }
      checkActivation(errors, where, node.activation);
      break;
    case 'maxPool2d':
      checkInteger(errors, where, 'poolSize', node.poolSize, 1, MAX_WINDOW);
      checkInteger(errors, where, 'strides', node.strides, 1, MAX_WINDOW);
      break;
    case 'dropout': {
      const rate: unknown = node.rate;
      if (typeof rate !== 'number' || !Number.isFinite(rate) || rate < 0 || rate >= 1) {
        errors.push(`${where}: dropout rate ${formatValue(rate)} is invalid; use a number in [0, 1)`);
      }
      break;
    }
    case 'activation':
      checkActivation(errors, where, node.activation);
      break;
    default:
      break;
  }
  return errors;
}
