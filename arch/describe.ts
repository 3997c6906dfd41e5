import type { Edit } from './edit.ts';

// One-line, human-readable edits for logs, git messages and hypotheses.

export function describeEdit(edit: Edit): string {
  switch (edit.op) {
    case 'addBypass':
      return `+ bypass ${edit.from} → ${edit.to} (${edit.merge})`;
    case 'removeBypass':
      return `- bypass ${edit.node}`;
    case 'insertLayer':
      return `+ dense(${edit.units}, ${edit.activation}) after ${edit.after}`;
    case 'removeLayer':
      return `- layer ${edit.node}`;
    case 'setUnits':
      return `set units of ${edit.node} to ${edit.units}`;
    case 'setActivation':
      return `set activation of ${edit.node} to ${edit.activation}`;
    case 'addNorm':
      return `+ layerNorm after ${edit.after}`;
    case 'setDropout':
      return edit.rate === 0 ? `- dropout after ${edit.after}` : `set dropout after ${edit.after} to ${edit.rate}`;
    case 'setLearningRate':
      return `set learning rate ${edit.value}`;
    case 'setBatchSize':
      return `set batch size ${edit.value}`;
    case 'setEpochs':
      return `set epochs ${edit.value}`;
    default:
      // Edits can arrive as untyped JSON (e.g. from an LLM); describe them rather than crash.
      return `unknown edit ${JSON.stringify(edit)}`;
  }
}
