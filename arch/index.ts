// Public API of arch/: pure functions over Spec (no I/O, clocks or randomness), safe to import
// from Temporal workflow code.

export * from './spec.ts';
export * from './edit.ts';
export { SpecError, EditError } from './errors.ts';
export { validateSpec, validateRecipe, assertValidSpec } from './validate.ts';
export { inferShapes } from './analyze.ts';
export { countParams, forwardMacs, trainingFlops, nodeParams, nodeMacs } from './cost.ts';
export { applyEdit, applyEdits } from './apply-edit.ts';
export { specHash, hashText, hash64 } from './hash.ts';
export { describeEdit } from './describe.ts';
export { depth, weightLayerIds, isWeightLayer } from './depth.ts';
export { topoOrder, consumers, ancestors, liveNodes, inputIds } from './graph.ts';
export { cloneSpec } from './clone.ts';
