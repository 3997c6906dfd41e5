import type { Edit } from '../arch/edit.ts';
import type { ArchNode, Spec } from '../arch/spec.ts';
import { applyEdit } from '../arch/apply-edit.ts';
import { nodesById } from '../arch/graph.ts';
import type { MetricDef } from '../experiments/template.ts';
import { limitsFor } from './limits.ts';
import type { ExperimentTemplate } from '../experiments/template.ts';
import type { ExperimentSummary } from './types.ts';

// Turns edits into a hypothesis a person can check: what changes, on which experiment, and the
// mechanism by which it should move the metric.

interface EditStory {
  /** "adding an add-bypass h3 → h7" */
  action: string;
  /** "ease gradient flow" */
  effect: string;
}

function compare(before: number, after: number, up: string, down: string): string {
  return after > before ? up : down;
}

function storyOf(edit: Edit, before: Spec): EditStory {
  const node = (id: string): ArchNode | undefined => nodesById(before.arch).get(id);
  const recipe = before.recipe;
  switch (edit.op) {
    case 'addBypass':
      return {
        action: `adding an ${edit.merge}-bypass ${edit.from} → ${edit.to}`,
        effect: edit.merge === 'add' ? 'ease gradient flow' : 'let later layers reuse earlier features',
      };
    case 'removeBypass':
      return { action: `removing the bypass ${edit.node}`, effect: 'simplify the network' };
    case 'insertLayer':
      return { action: `inserting dense(${edit.units}, ${edit.activation}) after ${edit.after}`, effect: 'add capacity' };
    case 'removeLayer': {
      const op = node(edit.node)?.op ?? 'layer';
      const weighted = op === 'dense' || op === 'conv2d';
      return {
        action: `removing ${op} ${edit.node}`,
        effect: weighted ? 'shorten the path gradients travel' : `drop a ${op} that may be hurting`,
      };
    }
    case 'setUnits': {
      const current = node(edit.node);
      const old = current?.op === 'dense' ? current.units : NaN;
      return {
        action: `resizing ${edit.node} from ${old} to ${edit.units} units`,
        effect: compare(old, edit.units, 'add capacity', 'reduce overfitting'),
      };
    }
    case 'setActivation': {
      const current = node(edit.node);
      const old = current && 'activation' in current ? current.activation : '?';
      return { action: `switching ${edit.node} from ${old} to ${edit.activation}`, effect: `change how gradients pass through ${edit.node}` };
    }
    case 'addNorm':
      return { action: `adding layerNorm after ${edit.after}`, effect: 'stabilise activation scales' };
    case 'setDropout':
      return edit.rate === 0
        ? { action: `removing dropout after ${edit.after}`, effect: 'let the model fit the data more freely' }
        : { action: `setting dropout ${edit.rate} after ${edit.after}`, effect: 'regularise against overfitting' };
    case 'setLearningRate':
      return {
        action: `changing the learning rate from ${recipe.learningRate} to ${edit.value}`,
        effect: compare(recipe.learningRate, edit.value, 'speed up learning', 'make optimisation more stable'),
      };
    case 'setBatchSize':
      return {
        action: `changing the batch size from ${recipe.batchSize} to ${edit.value}`,
        effect: compare(recipe.batchSize, edit.value, 'smooth the gradient estimates', 'take more update steps per epoch'),
      };
    case 'setEpochs':
      return {
        action: `training for ${edit.value} instead of ${recipe.epochs} epochs`,
        effect: compare(recipe.epochs, edit.value, 'let training converge further', 'stop before overfitting'),
      };
  }
}

export function formatMetric(value: number | null): string {
  return value === null ? 'no metric' : String(Number(value.toPrecision(4)));
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function joinPhrases(phrases: string[]): string {
  const unique = [...new Set(phrases)];
  return unique.length <= 1 ? (unique[0] ?? '') : `${unique.slice(0, -1).join(', ')} and ${unique[unique.length - 1]}`;
}

export interface Explanation {
  hypothesis: string;
  expectedEffect: string;
}

/**
 * E.g. "Adding an add-bypass h3 → h7 to the parent (exp 4, val_accuracy 0.61) will ease gradient
 * flow and raise val_accuracy". `role` names the base experiment ("parent", "champion").
 */
export function explainEdits(
  edits: Edit[],
  base: ExperimentSummary & { spec: Spec },
  role: string,
  template: ExperimentTemplate,
): Explanation {
  const limits = limitsFor(template);
  const stories: EditStory[] = [];
  let spec = base.spec;
  for (const edit of edits) {
    stories.push(storyOf(edit, spec));
    spec = applyEdit(spec, edit, limits);
  }
  const metric: MetricDef = template.metric;
  const verb = metric.direction === 'max' ? 'raise' : 'lower';
  const hypothesis =
    `${capitalize(joinPhrases(stories.map((s) => s.action)))} to the ${role} ` +
    `(exp ${base.n}, ${metric.name} ${formatMetric(base.metric)}) will ` +
    `${joinPhrases([...stories.map((s) => s.effect), `${verb} ${metric.name}`])}`;
  const expectedEffect =
    base.metric === null
      ? `${metric.name} ${metric.direction === 'max' ? 'higher' : 'lower'} than the ${role}'s`
      : `${metric.name} ${metric.direction === 'max' ? 'above' : 'below'} ${formatMetric(base.metric)} (exp ${base.n})`;
  return { hypothesis, expectedEffect };
}
