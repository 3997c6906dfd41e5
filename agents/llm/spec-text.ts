import { countParams } from '../../arch/cost.ts';
import { depth } from '../../arch/depth.ts';
import { inputIds, nodesById, topoOrder } from '../../arch/graph.ts';
import type { ArchNode, Spec } from '../../arch/spec.ts';

// A model in a few lines a person (and an LLM) can read, with every node id it may name in an edit:
//
//   x input[64] → h1 dense(64, relu) → h2 dense(64, relu) → h3 dense(64, relu) → bypass_h1_h3 add(h3, h1) → logits dense(10, linear) [output]
//   (from x) → proj_x_h2 dense(64, linear)
//   recipe: adam, learning rate 0.001, batch size 128, 3 epochs; depth 4 weight layers; 13,130 params
//
// The first line is the main path: from the input to the output along first inputs (a bypass's
// merge node lists the path it joins first). Other nodes (side branches such as a bypass's
// projection) follow in dependency order on lines "(from <first input>) → ...".

export function nodeText(node: ArchNode): string {
  switch (node.op) {
    case 'input':
      return `input[${node.shape.join(',')}]`;
    case 'dense':
      return `dense(${node.units}, ${node.activation})`;
    case 'add':
    case 'concat':
      return `${node.op}(${node.inputs.join(', ')})`;
    case 'layerNorm':
      return 'layerNorm';
    case 'dropout':
      return `dropout(${node.rate})`;
    case 'activation':
      return `activation(${node.activation})`;
    case 'conv2d':
      return `conv2d(${node.filters} filters, ${node.kernelSize}x${node.kernelSize}, stride ${node.strides}, ${node.padding}, ${node.activation})`;
    case 'maxPool2d':
      return `maxPool2d(${node.poolSize}, stride ${node.strides})`;
    case 'flatten':
      return 'flatten';
  }
}

export function formatSpecCompact(spec: Spec): string {
  const byId = nodesById(spec.arch);
  // The main path: from the output back along first inputs (a merge lists the path it joins first).
  const main: string[] = [];
  for (let id: string | undefined = spec.arch.output; id !== undefined && byId.has(id) && !main.includes(id); ) {
    main.unshift(id);
    id = inputIds(byId.get(id)!)[0];
  }
  const onMain = new Set(main);
  const element = (id: string) => `${id} ${nodeText(byId.get(id)!)}${id === spec.arch.output ? ' [output]' : ''}`;
  const lines: string[] = [];
  const first = inputIds(byId.get(main[0]!)!)[0];
  lines.push([...(first !== undefined ? [`(from ${first})`] : []), ...main.map(element)].join(' → '));
  // Side branches (e.g. a bypass's projection), in dependency order, chained where they follow each other.
  let current: string[] = [];
  let previous: string | null = null;
  for (const id of topoOrder(spec.arch)) {
    if (onMain.has(id)) continue;
    const input = inputIds(byId.get(id)!)[0] ?? null;
    if (previous !== null && input === previous) {
      current.push(element(id));
    } else {
      if (current.length > 0) lines.push(current.join(' → '));
      current = input === null ? [element(id)] : [`(from ${input})`, element(id)];
    }
    previous = id;
  }
  if (current.length > 0) lines.push(current.join(' → '));
  const r = spec.recipe;
  lines.push(
    `recipe: ${r.optimizer}, learning rate ${r.learningRate}, batch size ${r.batchSize}, ${r.epochs} epochs; ` +
      `depth ${depth(spec.arch)} weight layers; ${countParams(spec.arch).toLocaleString('en-US')} params`,
  );
  return lines.join('\n');
}
