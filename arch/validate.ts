import { DEFAULT_LIMITS, type Recipe, type SizeLimits, type Spec } from './spec.ts';
import { analyzeArch } from './analyze.ts';
import { nodeParams } from './cost.ts';
import { SpecError } from './errors.ts';
import { formatValue } from './format.ts';
import { inputIds } from './graph.ts';
import { isIntegerIn } from './params.ts';

// The single gate every spec passes, whoever proposed it (human, built-in agent or LLM).

export function validateRecipe(recipe: Recipe, limits: SizeLimits = DEFAULT_LIMITS): string[] {
  if (!recipe || typeof recipe !== 'object') return ['recipe is missing; give optimizer, learningRate, batchSize and epochs'];
  const errors: string[] = [];
  if (recipe.optimizer !== 'adam' && recipe.optimizer !== 'sgd') {
    errors.push(`recipe.optimizer ${formatValue(recipe.optimizer)} is invalid; use "adam" or "sgd"`);
  }
  const lr: unknown = recipe.learningRate;
  if (typeof lr !== 'number' || !Number.isFinite(lr) || lr < limits.minLearningRate || lr > limits.maxLearningRate) {
    errors.push(
      `recipe.learningRate ${formatValue(lr)} is invalid; use a finite number in [${limits.minLearningRate}, ${limits.maxLearningRate}]`,
    );
  }
  if (!isIntegerIn(recipe.batchSize, 1, limits.maxBatchSize)) {
    errors.push(`recipe.batchSize ${formatValue(recipe.batchSize)} is invalid; use an integer from 1 to ${limits.maxBatchSize}`);
  }
  if (!isIntegerIn(recipe.epochs, 1, limits.maxEpochs)) {
    errors.push(`recipe.epochs ${formatValue(recipe.epochs)} is invalid; use an integer from 1 to ${limits.maxEpochs}`);
  }
  return errors;
}

/** Every problem with the spec, one message each; empty means valid. */
export function validateSpec(spec: Spec, limits: SizeLimits = DEFAULT_LIMITS): string[] {
  if (!spec || typeof spec !== 'object') return ['spec must be an object {arch, recipe}'];
  if (!spec.arch || typeof spec.arch !== 'object') return ['spec.arch is missing; give {nodes, output}', ...validateRecipe(spec.recipe, limits)];

  const analysis = analyzeArch(spec.arch, limits);
  const errors = [...analysis.errors, ...validateRecipe(spec.recipe, limits)];

  const nodeCount = spec.arch.nodes?.length ?? 0;
  if (nodeCount > limits.maxNodes) {
    errors.push(`graph has ${nodeCount} nodes, more than maxNodes ${limits.maxNodes}; remove layers`);
  }
  if (analysis.errors.length === 0) {
    let params = 0;
    for (const node of analysis.byId.values()) {
      const firstInput = inputIds(node)[0];
      params += nodeParams(node, firstInput === undefined ? undefined : analysis.shapes[firstInput]);
    }
    if (params > limits.maxParams) {
      errors.push(`model has ${params} parameters, more than maxParams ${limits.maxParams}; use fewer units/filters or fewer layers`);
    }
  }
  return errors;
}

export function assertValidSpec(spec: Spec, limits: SizeLimits = DEFAULT_LIMITS): void {
  const errors = validateSpec(spec, limits);
  if (errors.length > 0) throw new SpecError(errors);
}
