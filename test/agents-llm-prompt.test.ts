import { describe, expect, it } from 'vitest';
import { applyEdits, describeEdit, EDIT_OPS, type Edit } from '../arch/index.ts';
import { limitsFor } from '../agents/limits.ts';
import { computeLessons, lessonKey, parseEditDescription } from '../agents/llm/lessons.ts';
import {
  buildPrompt,
  estimateTokens,
  PLACEHOLDERS,
  PromptTooLargeError,
  recordLine,
  templateText,
  type PromptContext,
} from '../agents/llm/prompt.ts';
import { answerJsonSchema, toEdit } from '../agents/llm/schema.ts';
import { formatSpecCompact } from '../agents/llm/spec-text.ts';
import { getTemplate } from '../experiments/index.ts';
import type { ResultLine } from '../history/types.ts';

// The LLM agent's prompt and research memory: pure functions over the template, the champion and
// the recorded results.

const smoke = getTemplate('smoke');
const deep = getTemplate('deep-mlp');

function line(n: number, over: Partial<ResultLine> = {}): ResultLine {
  return {
    n,
    status: 'discarded',
    hypothesis: `hypothesis ${n}`,
    specHash: `hash${n}`,
    metric: 0.5,
    metricName: 'val_accuracy',
    bestMetric: 0.6,
    championAfter: 1,
    durationMs: 1000,
    parent: n === 1 ? null : 1,
    edits: n === 1 ? [] : ['+ layerNorm after h1'],
    error: null,
    recordedAt: '2026-01-01T00:00:00.000Z',
    ...over,
  };
}

function context(lines: ResultLine[], over: Partial<PromptContext> = {}): PromptContext {
  return {
    campaignId: 'c1',
    n: lines.length + 1,
    template: deep,
    champion: { n: 1, metric: 0.3, spec: deep.baseline },
    lines,
    lessons: computeLessons(lines),
    notes: [],
    budget: { experiments: 600, experimentsLeft: 100, minutesLeft: null, tokensLeft: null, usdLeft: null },
    maxEdits: 3,
    maxPromptTokens: 6000,
    ...over,
  };
}

/** A long, varied history: every status, many edit kinds, parents, a few long hypotheses. */
function longHistory(count: number): ResultLine[] {
  const edits = [
    '+ bypass h3 → h7 (add)',
    '+ bypass h1 → h9 (concat)',
    'set activation of h4 to tanh',
    '+ layerNorm after h12',
    'set dropout after h2 to 0.1',
    'set learning rate 0.03',
    'set learning rate 0.0003',
  ];
  const lines: ResultLine[] = [line(1, { status: 'kept', metric: 0.3 })];
  let champion = 1;
  let best = 0.3;
  for (let n = 2; n <= count; n++) {
    const k = (n * 7919) % 23;
    const status: ResultLine['status'] = k < 3 ? 'failed' : k < 6 ? 'kept' : 'discarded';
    const metric = status === 'failed' ? null : Math.round((0.3 + ((n * 37) % 100) / 300) * 1e4) / 1e4;
    if (status === 'kept') {
      champion = n;
      best = Math.max(best, metric!);
    }
    lines.push(
      line(n, {
        status,
        metric,
        parent: champion === n ? Math.max(1, n - 3) : champion,
        edits: [edits[n % edits.length]!, ...(n % 5 === 0 ? [edits[(n + 2) % edits.length]!] : [])],
        error: status === 'failed' && n % 2 === 0 ? 'TrainingError: worker thread ran out of memory' : null,
        hypothesis: n % 11 === 0 ? `A long hypothesis ${'that goes on and on '.repeat(20)}` : `Try edit ${n % edits.length} on the champion`,
        bestMetric: best,
      }),
    );
  }
  return lines;
}

describe('compact ArchSpec text', () => {
  it('prints a chain on one line with every node id, then the recipe', () => {
    expect(formatSpecCompact(smoke.baseline)).toBe(
      'x input[64] → h1 dense(16, relu) → h2 dense(16, relu) → h3 dense(16, relu) → h4 dense(16, relu) → logits dense(10, linear) [output]\n' +
        'recipe: adam, learning rate 0.003, batch size 64, 2 epochs; depth 5 weight layers; 2,026 params',
    );
  });

  it('shows bypasses, projections and norms so that every id can be named in an edit', () => {
    const edits: Edit[] = [
      { op: 'addBypass', from: 'h1', to: 'h3', merge: 'add' },
      { op: 'addNorm', after: 'h2' },
      { op: 'addBypass', from: 'x', to: 'h4', merge: 'add' },
    ];
    const spec = applyEdits(smoke.baseline, edits, limitsFor(smoke));
    const text = formatSpecCompact(spec);
    for (const node of spec.arch.nodes) expect(text).toContain(`${node.id} `);
    expect(text).toContain('bypass_h1_h3 add(h3, h1)');
    expect(text).toContain('norm_h2 layerNorm');
    expect(text).toContain('proj_x_h4 dense(16, linear)');
    expect(text.split('\n')[0]).toBe(
      'x input[64] → h1 dense(16, relu) → h2 dense(16, relu) → norm_h2 layerNorm → h3 dense(16, relu) → bypass_h1_h3 add(h3, h1) → ' +
        'h4 dense(16, relu) → bypass_x_h4 add(h4, proj_x_h4) → logits dense(10, linear) [output]',
    );
    expect(text.split('\n')[1]).toBe('(from x) → proj_x_h4 dense(16, linear)');
  });
});

describe('prompt template', () => {
  it('uses every placeholder and no other', () => {
    const used = new Set([...templateText().matchAll(/\{\{(\w+)\}\}/g)].map((m) => m[1]));
    expect([...used].sort()).toEqual([...PLACEHOLDERS].sort());
  });

  it('carries objective, task, champion, allowed edits with limits, lessons, history, notes and budget', () => {
    const lines = [
      line(1, { status: 'kept', metric: 0.3 }),
      line(2, { status: 'kept', metric: 0.45, edits: ['+ bypass h3 → h7 (add)'], hypothesis: 'Bypass h3 → h7 eases gradient flow' }),
      line(3, { status: 'failed', metric: null, parent: 2, edits: ['set learning rate 0.3'] }),
      line(4, { status: 'discarded', metric: 0.41, parent: 2, edits: ['set activation of h2 to tanh'] }),
    ];
    const p = buildPrompt(
      context(lines, {
        champion: { n: 2, metric: 0.45, spec: applyEdits(deep.baseline, [{ op: 'addBypass', from: 'h3', to: 'h7', merge: 'add' }], limitsFor(deep)) },
        notes: [
          { id: 1, text: 'stay away from tanh', at: '2026-01-01T00:00:00Z', deliveredTo: 3 },
          { id: 2, text: 'try layerNorm inside the bypass blocks', at: '2026-01-01T00:00:00Z', deliveredTo: null },
        ],
        budget: { experiments: 12, experimentsLeft: 8, minutesLeft: 30, tokensLeft: 50_000, usdLeft: 0.25 },
      }),
    );
    expect(p.level).toBe(0);
    expect(p.system).toContain('1 to 3 edits');
    const u = p.user;
    expect(u).toContain('# Propose experiment 5 of campaign c1');
    expect(u).toContain('Raise val_accuracy (higher is better) on the "deep-mlp" task. The baseline (experiment 1) reached 0.3; the champion (experiment 2) reaches 0.45.');
    expect(u).toContain(deep.description);
    expect(u).toContain('h7 dense(64, relu) → bypass_h3_h7 add(h7, h3) → h8');
    // only the template's allowed edits, with their limits and current values
    expect(u).toContain('`setLearningRate` {value in [0.000001, 1]}: now 0.001.');
    expect(u).not.toContain('`insertLayer`');
    expect(u).toContain('The depth is fixed at 25 weight layers');
    expect(u).toContain('- addBypass (add): +0.15 val_accuracy vs parent on average (1 of 1 kept)');
    expect(u).toContain('- setLearningRate > 0.01: diverged 1 of 1');
    expect(u).toContain('- #2 kept val_accuracy 0.45, +0.15 vs #1: + bypass h3 → h7 (add) — "Bypass h3 → h7 eases gradient flow"');
    expect(u).toContain('- #3 failed (diverged: the loss became NaN or infinite): set learning rate 0.3');
    expect(u).toContain('- #4 discarded val_accuracy 0.41, -0.04 vs #2: set activation of h2 to tanh');
    expect(u).toContain('- note 1 (already considered in experiment 3): stay away from tanh');
    expect(u).toContain('- note 2 (NEW, take it into account now): try layerNorm inside the bypass blocks');
    expect(u).toContain('8 of 12 experiments left, this one (experiment 5) included; 30.0 minutes; 50,000 LLM tokens; USD 0.2500 of LLM spend.');
    expect(p.tokens).toBe(estimateTokens(p.system) + estimateTokens(p.user));
  });

  it('stays within the token budget at 500 experiments by condensing whole records, never cutting one', () => {
    const lines = longHistory(500);
    const byN = new Map(lines.map((l) => [l.n, l] as const));
    const bestKept = lines.filter((l) => l.status === 'kept').sort((a, b) => b.metric! - a.metric!)[0]!;
    for (const budget of [6000, 3000, 2000]) {
      const p = buildPrompt(context(lines, { maxPromptTokens: budget, champion: { n: bestKept.n, metric: bestKept.metric!, spec: deep.baseline } }));
      expect(p.tokens, `budget ${budget}`).toBeLessThanOrEqual(budget);
      expect(p.listed.length).toBeGreaterThan(0);
      expect(p.listed.length).toBeLessThan(500);
      // every listed record is one whole line, as recordLine renders it (with or without hypothesis)
      const recordLines = p.user.split('\n').filter((l) => l.startsWith('- #'));
      expect(recordLines).toHaveLength(p.listed.length);
      for (const text of recordLines) {
        const n = Number(text.match(/^- #(\d+) /)![1]);
        expect([recordLine(byN.get(n)!, byN, 'val_accuracy', true), recordLine(byN.get(n)!, byN, 'val_accuracy', false)]).toContain(text);
      }
      // the rest is summarised, the best result and the latest one are listed, the closing request is intact
      expect(p.user).toMatch(new RegExp(`Not listed: ${500 - p.listed.length} other experiments \\(\\d+ kept, \\d+ discarded, \\d+ failed\\)`));
      expect(p.listed).toContain(bestKept.n);
      expect(p.listed).toContain(500);
      expect(p.user.trimEnd().endsWith('the edits that test it.')).toBe(true);
    }
    const generous = buildPrompt(context(lines, { maxPromptTokens: 6000 }));
    const tight = buildPrompt(context(lines, { maxPromptTokens: 2000 }));
    expect(tight.level).toBeGreaterThan(generous.level);
    expect(tight.listed.length).toBeLessThan(generous.listed.length);
  });

  it('refuses a budget that cannot hold even the champion and the allowed edits', () => {
    expect(() => buildPrompt(context([line(1, { status: 'kept' })], { maxPromptTokens: 500 }))).toThrow(PromptTooLargeError);
    expect(() => buildPrompt(context([line(1, { status: 'kept' })], { maxPromptTokens: 500 }))).toThrow(/raise llm.maxPromptTokens/);
  });
});

describe('research memory (lessons)', () => {
  it('reads back every edit description describeEdit writes', () => {
    const edits: Edit[] = [
      { op: 'addBypass', from: 'h3', to: 'h7', merge: 'add' },
      { op: 'addBypass', from: 'x', to: 'h2', merge: 'concat' },
      { op: 'removeBypass', node: 'bypass_h3_h7' },
      { op: 'insertLayer', after: 'h2', units: 32, activation: 'gelu' },
      { op: 'removeLayer', node: 'h5' },
      { op: 'setUnits', node: 'h1', units: 128 },
      { op: 'setActivation', node: 'h1', activation: 'swish' },
      { op: 'addNorm', after: 'h4' },
      { op: 'setDropout', after: 'h2', rate: 0.25 },
      { op: 'setDropout', after: 'h2', rate: 0 },
      { op: 'setLearningRate', value: 0.0003 },
      { op: 'setBatchSize', value: 256 },
      { op: 'setEpochs', value: 5 },
    ];
    expect(new Set(edits.map((e) => e.op))).toEqual(new Set(EDIT_OPS));
    for (const edit of edits) expect(parseEditDescription(describeEdit(edit))).toEqual(edit);
    expect(parseEditDescription('something else')).toBeNull();
  });

  it('pools results per edit kind from recorded facts', () => {
    const lines = [
      line(1, { status: 'kept', metric: 0.3 }),
      line(2, { status: 'kept', metric: 0.42, parent: 1, edits: ['+ bypass h3 → h7 (add)'] }),
      line(3, { status: 'kept', metric: 0.55, parent: 2, edits: ['+ bypass h9 → h13 (add)'] }),
      line(4, { status: 'kept', metric: 0.66, parent: 3, edits: ['+ bypass h15 → h19 (add)'] }),
      line(5, { status: 'failed', metric: null, parent: 4, edits: ['set learning rate 0.05'] }),
      line(6, { status: 'failed', metric: null, parent: 4, edits: ['set learning rate 0.3'] }),
      line(7, { status: 'discarded', metric: 0.6, parent: 4, edits: ['set activation of h2 to tanh', '+ layerNorm after h3'] }),
      line(8, { status: 'failed', metric: null, parent: 4, edits: ['+ layerNorm after h5'], error: 'TrainingError: out of memory' }),
    ];
    const lessons = computeLessons(lines);
    expect(lessons[0]).toBe('addBypass (add): +0.12 val_accuracy vs parent on average (3 of 3 kept)');
    expect(lessons).toContain('setLearningRate > 0.01: diverged 2 of 2');
    expect(lessons).toContain('addNorm: -0.06 val_accuracy vs parent on average (0 of 2 kept); failed 1 of 2 (TrainingError); 1 combined with other edits');
    expect(lessons).toContain('setActivation → tanh: -0.06 val_accuracy vs parent on average (0 of 1 kept); 1 combined with other edits');
    expect(computeLessons([line(1, { status: 'kept' })])).toEqual([]);
    expect(computeLessons(longHistory(500)).length).toBeLessThanOrEqual(12);
    expect(lessonKey({ op: 'setLearningRate', value: 0.0005 })).toBe('setLearningRate < 0.001');
  });
});

describe('answer schema', () => {
  it('is flat and strict-mode compatible: every field required, nullable instead of optional, no unions of objects', () => {
    const schema = answerJsonSchema() as { properties: Record<string, any>; required: string[]; additionalProperties: boolean };
    const text = JSON.stringify(schema);
    expect(text).not.toMatch(/oneOf|\$ref|minItems|maximum|minimum/);
    expect(schema.additionalProperties).toBe(false);
    const item = schema.properties.edits.items;
    expect(item.required.sort()).toEqual(Object.keys(item.properties).sort());
    expect(item.properties.op.enum).toEqual([...EDIT_OPS]);
  });

  it('turns a flat edit into a typed one, taking only the fields its kind reads', () => {
    const flat = { op: 'setUnits' as const, from: 'junk', to: null, merge: null, node: 'h1', after: null, units: 8, activation: 'relu' as const, rate: null, value: null };
    expect(toEdit(flat)).toEqual({ edit: { op: 'setUnits', node: 'h1', units: 8 } });
    expect(toEdit({ ...flat, units: null })).toEqual({ missing: ['units'] });
  });
});

describe('record lines of multi-seed and ladder campaigns', () => {
  it('show the spread, and mark cheap-rung results as not comparable (no delta vs the parent)', async () => {
    const { recordLine } = await import('../agents/llm/prompt.ts');
    const base = { n: 1, status: 'kept', hypothesis: 'b', specHash: 'a', metric: 0.3, metricName: 'val_accuracy', bestMetric: 0.3, championAfter: 1, durationMs: 1, parent: null, edits: [], spread: 0.02, rung: '3/3', recordedAt: '' } as const;
    const cheap = { ...base, n: 2, status: 'discarded', metric: 0.2, parent: 1, edits: ['+ bypass h1 → h3 (add)'], rung: '1/3' } as const;
    const byN = new Map<number, never>([[1, base as never], [2, cheap as never]]);
    expect(recordLine(base as never, byN, 'val_accuracy', false)).toContain('kept val_accuracy 0.3 ± 0.02');
    const line = recordLine(cheap as never, byN, 'val_accuracy', false);
    expect(line).toContain('on cheap rung 1/3, not comparable');
    expect(line).not.toContain('vs #1');
  });
});
