import { describe, it, expect } from 'vitest';
import { EDIT_OPS, applyEdits, depth, specHash, validateSpec, describeEdit, type ArchNode, type Spec } from '../arch/index.ts';
import type { ExperimentTemplate } from '../experiments/template.ts';
import { getAgent, AGENT_NAMES, limitsFor, createRng, deriveSeed, type Agent, type ExperimentSummary, type LoadedSummary, type ProposeInput, type Proposal } from '../agents/index.ts';

/** 64 → 8 × dense(32, relu) → dense(10, linear). */
function deepMlp(): Spec {
  const nodes: ArchNode[] = [{ id: 'x', op: 'input', shape: [64] }];
  for (let i = 1; i <= 8; i++) nodes.push({ id: `h${i}`, op: 'dense', inputs: [nodes[i - 1]!.id], units: 32, activation: 'relu' });
  nodes.push({ id: 'out', op: 'dense', inputs: ['h8'], units: 10, activation: 'linear' });
  return { arch: { nodes, output: 'out' }, recipe: { optimizer: 'adam', learningRate: 0.001, batchSize: 64, epochs: 20 } };
}

function smallConv(): Spec {
  return {
    arch: {
      nodes: [
        { id: 'img', op: 'input', shape: [8, 8, 1] },
        { id: 'c1', op: 'conv2d', inputs: ['img'], filters: 8, kernelSize: 3, strides: 1, padding: 'same', activation: 'relu' },
        { id: 'p1', op: 'maxPool2d', inputs: ['c1'], poolSize: 2, strides: 2 },
        { id: 'c2', op: 'conv2d', inputs: ['p1'], filters: 16, kernelSize: 3, strides: 1, padding: 'same', activation: 'relu' },
        { id: 'f', op: 'flatten', inputs: ['c2'] },
        { id: 'h1', op: 'dense', inputs: ['f'], units: 32, activation: 'relu' },
        { id: 'h2', op: 'dense', inputs: ['h1'], units: 32, activation: 'relu' },
        { id: 'out', op: 'dense', inputs: ['h2'], units: 10, activation: 'linear' },
      ],
      output: 'out',
    },
    recipe: { optimizer: 'adam', learningRate: 0.003, batchSize: 32, epochs: 10 },
  };
}

function template(baseline: Spec, policy: Partial<ExperimentTemplate['editPolicy']> = {}, direction: 'max' | 'min' = 'max'): ExperimentTemplate {
  return {
    name: 'agents-test',
    description: 'test template',
    metric: { name: direction === 'max' ? 'val_accuracy' : 'val_loss', direction },
    numClasses: 10,
    data: { kind: 'teacher', features: 64, classes: 10, hidden: 32, inputScale: 1, trainSamples: 100, validationSamples: 50, seed: 1 },
    baseline,
    editPolicy: { allowed: [...EDIT_OPS], fixedDepth: false, maxUnits: 256, maxEpochs: 50, ...policy },
  };
}

function summary(n: number, spec: Spec, metric: number | null, status: ExperimentSummary['status'] = 'discarded'): LoadedSummary {
  return { n, spec, specHash: specHash(spec), metric, status };
}

function baselineSummary(t: ExperimentTemplate, metric = 0.5): LoadedSummary {
  return summary(0, t.baseline, metric, 'kept');
}

/** n distinct specs: the baseline trained for 21, 22, ... epochs. */
function variants(t: ExperimentTemplate, count: number): Spec[] {
  return Array.from({ length: count }, (_, i) => ({ ...t.baseline, recipe: { ...t.baseline.recipe, epochs: 21 + i } }));
}

function input(t: ExperimentTemplate, overrides: Partial<ProposeInput> = {}): ProposeInput {
  const champion = baselineSummary(t);
  return { template: t, champion, history: [champion], pendingHashes: [], n: 1, seed: 42, ...overrides };
}

/**
 * Runs a campaign of `count` proposals with a fake, seeded metric, checking every proposal on
 * the way: it validates, its hash is right and new, and its edits turn the parent into it.
 */
function runCampaign(agent: Agent, t: ExperimentTemplate, count: number): Proposal[] {
  const limits = limitsFor(t);
  let champion = baselineSummary(t);
  const history: LoadedSummary[] = [champion];
  const proposals: Proposal[] = [];
  for (let n = 1; n <= count; n++) {
    const pending = n % 3 === 0 && proposals.length > 0 ? [proposals[proposals.length - 1]!.specHash] : [];
    const proposal = agent.propose({ template: t, champion, history, pendingHashes: pending, n, seed: 7 });
    expect(validateSpec(proposal.spec, limits)).toEqual([]);
    expect(proposal.specHash).toBe(specHash(proposal.spec));
    expect(history.some((h) => h.specHash === proposal.specHash)).toBe(false);
    expect(pending).not.toContain(proposal.specHash);
    const parent = history.find((h) => h.n === proposal.parent)!;
    expect(parent).toBeDefined();
    expect(specHash(applyEdits(parent.spec, proposal.edits, limits))).toBe(proposal.specHash);
    expect(proposal.edits.length).toBeGreaterThanOrEqual(1);
    expect(proposal.agent).toBe(agent.name);
    proposals.push(proposal);
    const roll = createRng(deriveSeed('metric', n)).next();
    const status = roll < 0.1 ? 'failed' : roll > 0.7 ? 'kept' : 'discarded';
    const result = summary(n, proposal.spec, status === 'failed' ? null : roll, status);
    history.push(result);
    if (status === 'kept' && roll > (champion.metric ?? 0)) champion = result;
  }
  return proposals;
}

describe('getAgent', () => {
  it('returns the built-in agents and lists choices for unknown names', () => {
    expect(getAgent('random').name).toBe('random');
    expect(getAgent('evolution').name).toBe('evolution');
    expect(AGENT_NAMES).toEqual(['random', 'evolution', 'noop']);
    expect(() => getAgent('genius')).toThrow('unknown agent "genius"; choose one of: random, evolution');
    expect(() => getAgent('toString')).toThrow(/unknown agent/);
  });
});

for (const name of ['random', 'evolution'] as const) {
  describe(`${name} agent`, () => {
    const agent = getAgent(name);

    it('is deterministic: same input, same proposal; other n or seed, other proposal', () => {
      const t = template(deepMlp());
      const a = agent.propose(input(t, { n: 5 }));
      expect(agent.propose(input(t, { n: 5 }))).toEqual(a);
      const hashes = new Set<string>();
      for (let n = 1; n <= 20; n++) hashes.add(agent.propose(input(t, { n })).specHash);
      expect(hashes.size).toBeGreaterThanOrEqual(15);
      expect(agent.propose(input(t, { n: 5, seed: 43 })).specHash).not.toBe(a.specHash);
    });

    it('gives 200 valid, new proposals on a deep MLP', () => {
      const proposals = runCampaign(agent, template(deepMlp()), 200);
      const kinds = new Set(proposals.flatMap((p) => p.edits.map((e) => e.op)));
      expect(kinds.size).toBeGreaterThanOrEqual(8);
    });

    it('gives 200 valid, new proposals on a small conv net', () => {
      runCampaign(agent, template(smallConv()), 200);
    });

    it('respects fixedDepth', () => {
      const t = template(deepMlp(), { fixedDepth: true });
      const proposals = runCampaign(agent, t, 60);
      for (const p of proposals) {
        expect(depth(p.spec.arch)).toBe(9);
        expect(p.edits.map((e) => e.op)).not.toContain('insertLayer');
      }
    });

    it('never proposes a pending or finished spec', () => {
      const t = template(deepMlp());
      const first = agent.propose(input(t));
      const second = agent.propose(input(t, { pendingHashes: [first.specHash] }));
      expect(second.specHash).not.toBe(first.specHash);
      const champion = baselineSummary(t);
      const third = agent.propose(input(t, { history: [champion, summary(1, first.spec, 0.4), summary(2, second.spec, 0.3)], n: 1 }));
      expect([first.specHash, second.specHash]).not.toContain(third.specHash);
    });

    it('throws a clear error when every reachable spec was tried', () => {
      // Only setEpochs within 1..2 from 1 epoch: the single child (2 epochs) is already pending.
      const base = deepMlp();
      base.recipe.epochs = 1;
      const t = template(base, { allowed: ['setEpochs'], maxEpochs: 2 });
      const only = { ...base, recipe: { ...base.recipe, epochs: 2 } };
      expect(() => agent.propose(input(t, { pendingHashes: [specHash(only)] }))).toThrow(new RegExp(`${name} agent: no new spec after 50 attempts`));
    });

    it('writes a specific hypothesis from the edits and the parent', () => {
      const t = template(deepMlp());
      const proposal = agent.propose(input(t, { champion: { ...baselineSummary(t, 0.61), n: 4 }, history: [{ ...baselineSummary(t, 0.61), n: 4 }] }));
      expect(proposal.parent).toBe(4);
      expect(proposal.hypothesis).toMatch(/\(exp 4, val_accuracy 0\.61\) will .* and raise val_accuracy$/);
      expect(proposal.expectedEffect).toBe('val_accuracy above 0.61 (exp 4)');
      // The hypothesis names what the edit touches.
      const first = proposal.edits[0]!;
      const named = 'node' in first ? first.node : 'after' in first ? first.after : 'to' in first ? first.to : null;
      if (named) expect(proposal.hypothesis).toContain(named);
      expect(describeEdit(first).length).toBeGreaterThan(0);
    });
  });
}

describe('random agent', () => {
  it('always mutates the champion', () => {
    const t = template(deepMlp());
    const history = variants(t, 12).map((spec, i) => summary(i + 1, spec, 0.5 + i / 100, 'kept'));
    const champion = history[5]!;
    for (let n = 13; n < 33; n++) {
      const p = getAgent('random').propose({ template: t, champion, history, pendingHashes: [], n, seed: 1 });
      expect(p.parent).toBe(champion.n);
      expect(specHash(applyEdits(champion.spec, p.edits, limitsFor(t)))).toBe(p.specHash);
      expect(p.edits.length).toBeLessThanOrEqual(2);
    }
  });
});

describe('evolution agent', () => {
  const evolution = getAgent('evolution');

  /** n=1 is by far the best but older than the window; n=2..20 get slowly better. */
  function agedHistory(t: ExperimentTemplate): LoadedSummary[] {
    const specs = variants(t, 20);
    return specs.map((spec, i) => summary(i + 1, spec, i === 0 ? 0.99 : 0.3 + i / 100, i === 0 ? 'kept' : 'discarded'));
  }

  it('picks the parent from the last-P window by tournament, not the older best', () => {
    const t = template(deepMlp());
    const history = agedHistory(t);
    const champion = history[0]!;
    const parents = new Map<number, number>();
    for (let n = 21; n < 221; n++) {
      const p = evolution.propose({ template: t, champion, history, pendingHashes: [], n, seed: 3 });
      parents.set(p.parent, (parents.get(p.parent) ?? 0) + 1);
      expect(p.rationale).toMatch(/^Tournament of 3 drawn from the last 8 non-failed experiments \(exp 13–20\)/);
    }
    const chosen = [...parents.keys()];
    expect(chosen).not.toContain(1);
    for (const n of chosen) expect(n).toBeGreaterThanOrEqual(13);
    // A 3-way tournament can never be won by the two worst members (13, 14) of the window.
    expect(chosen).not.toContain(13);
    expect(chosen).not.toContain(14);
    // The best of the window wins most often (it wins whenever it is drawn: 3/8 of tournaments).
    expect(Math.max(...parents.values())).toBe(parents.get(20));
  });

  it('with sampleSize = population it always picks the best of the window, honouring direction', () => {
    const t = template(deepMlp());
    const history = agedHistory(t);
    const options = { population: 5, sampleSize: 5 };
    for (let n = 21; n < 41; n++) {
      expect(evolution.propose({ template: t, champion: history[0]!, history, pendingHashes: [], n, seed: 9, options }).parent).toBe(20);
    }
    const lossTemplate = template(deepMlp(), {}, 'min');
    for (let n = 21; n < 41; n++) {
      expect(evolution.propose({ template: lossTemplate, champion: history[0]!, history, pendingHashes: [], n, seed: 9, options }).parent).toBe(16);
    }
  });

  it('leaves failed experiments out of the population', () => {
    const t = template(deepMlp());
    const history = agedHistory(t).map((h) => (h.n >= 17 ? { ...h, status: 'failed' as const, metric: null } : h));
    const options = { population: 4, sampleSize: 4 };
    const p = evolution.propose({ template: t, champion: history[0]!, history, pendingHashes: [], n: 21, seed: 1, options });
    // Window is 13..16 (17..20 failed); 16 is its best.
    expect(p.parent).toBe(16);
    expect(p.rationale).toContain('exp 13–16');
  });

  it('mutates the champion while the population is still filling', () => {
    const t = template(deepMlp());
    const history = agedHistory(t).slice(0, 5);
    const champion = history[2]!;
    const p = evolution.propose({ template: t, champion, history, pendingHashes: [], n: 6, seed: 1 });
    expect(p.parent).toBe(3);
    expect(p.rationale).toMatch(/^Warm-up: the population has 5 of 8/);
  });

  it('mostly proposes single edits', () => {
    const t = template(deepMlp());
    const counts = [0, 0, 0];
    for (let n = 1; n <= 100; n++) counts[evolution.propose(input(t, { n })).edits.length]! += 1;
    expect(counts[1]).toBeGreaterThan(70);
    expect(counts[2]).toBeGreaterThan(0);
  });
});
