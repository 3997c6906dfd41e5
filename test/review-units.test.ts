import { describe, expect, it } from 'vitest';
import { createRng } from '../agents/rng.ts';
import { mutate } from '../agents/mutate.ts';
import { applyEdits } from '../arch/apply-edit.ts';
import { countParams, forwardMacs } from '../arch/cost.ts';
import { describeEdit } from '../arch/describe.ts';
import { diffSpecs, formatSpecDiff } from '../arch/diff.ts';
import type { Edit } from '../arch/edit.ts';
import type { Spec } from '../arch/spec.ts';
import { historyCsv, historyTable, sortLines } from '../cli/commands/history.ts';
import { lineageBetween } from '../cli/commands/diff.ts';
import { lineExtras } from '../cli/review.ts';
import { sparkline } from '../cli/sparkline.ts';
import { cut, renderTextTable, visibleLength } from '../cli/table.ts';
import { getTemplate } from '../experiments/index.ts';
import type { ResultLine } from '../history/types.ts';
import { parseResultLines } from '../history/read.ts';
import { buildReportData, type ReportInput } from '../report/data.ts';
import { specCost } from '../report/cost.ts';
import { escapeHtml, renderLineage, renderReportHtml, scriptJson } from '../report/html.ts';

// Pure parts of reviewing a campaign: spec diffs, terminal tables and sparklines, report data.

const smoke = getTemplate('smoke').baseline;
const conv = getTemplate('digits-conv').baseline;
const diff = (a: Spec, b: Spec) => formatSpecDiff(diffSpecs(a, b));
const edit = (spec: Spec, ...edits: Edit[]) => applyEdits(spec, edits);

describe('arch/diff: human-readable spec diffs', () => {
  it('names a bypass, its merge and its direction', () => {
    const b = edit(smoke, { op: 'addBypass', from: 'h1', to: 'h3', merge: 'add' });
    expect(diff(smoke, b)).toEqual(['+ bypass h1 → h3 (add)']);
    expect(diff(b, smoke)).toEqual(['- bypass h1 → h3 (add)']);
    const c = edit(smoke, { op: 'addBypass', from: 'h1', to: 'h3', merge: 'concat' });
    expect(diff(smoke, c)).toEqual(['+ bypass h1 → h3 (concat)']);
  });

  it('folds the projection of a bypass between different widths into the bypass', () => {
    const b = edit(smoke, { op: 'addBypass', from: 'x', to: 'h3', merge: 'add' });
    expect(b.arch.nodes.some((n) => n.id.startsWith('proj_'))).toBe(true);
    expect(diff(smoke, b)).toEqual(['+ bypass x → h3 (add, projected to 16)']);
  });

  it('reports unit, activation, norm, dropout, layer and recipe changes, and nothing for a rewiring they explain', () => {
    const b = edit(
      smoke,
      { op: 'setUnits', node: 'h2', units: 32 },
      { op: 'addNorm', after: 'h2' },
      { op: 'setActivation', node: 'h4', activation: 'gelu' },
      { op: 'setDropout', after: 'h1', rate: 0.2 },
      { op: 'insertLayer', after: 'h3', units: 8, activation: 'tanh' },
      { op: 'setLearningRate', value: 0.01 },
      { op: 'setEpochs', value: 3 },
    );
    expect(diff(smoke, b)).toEqual([
      '+ dropout(0.2) after h1',
      '~ h2 units 16 → 32',
      '+ layerNorm after h2',
      '+ dense(8, tanh) after h3 as dense_1',
      '~ h4 activation relu → gelu',
      '~ learning rate 0.003 → 0.01',
      '~ epochs 2 → 3',
    ]);
    const removed = edit(smoke, { op: 'removeLayer', node: 'h2' });
    expect(diff(smoke, removed)).toEqual(['- layer h2: dense(16, relu)']);
    const d1 = edit(smoke, { op: 'setDropout', after: 'h1', rate: 0.1 });
    expect(diff(d1, edit(d1, { op: 'setDropout', after: 'h1', rate: 0.3 }))).toEqual(['~ dropout after h1 rate 0.1 → 0.3']);
    expect(diff(d1, edit(d1, { op: 'setDropout', after: 'h1', rate: 0 }))).toEqual(['- dropout(0.1) after h1']);
  });

  it('is empty for equal specs and reports unexplained rewiring', () => {
    expect(diff(smoke, structuredClone(smoke))).toEqual(['(no changes)']);
    const rewired = structuredClone(smoke);
    const h4 = rewired.arch.nodes.find((n) => n.id === 'h4')!;
    if (h4.op !== 'dense') throw new Error('expected dense');
    h4.inputs = ['h1'] as [string];
    expect(diff(smoke, rewired)).toEqual(['~ h4 inputs h3 → h1']);
    // Removing layers explains the rewiring of their consumer: only the removals are reported.
    const shortcut = structuredClone(smoke);
    shortcut.arch.nodes = shortcut.arch.nodes.filter((n) => n.id !== 'h1' && n.id !== 'h2');
    const h3 = shortcut.arch.nodes.find((n) => n.id === 'h3')!;
    if (h3.op !== 'dense') throw new Error('expected dense');
    h3.inputs = ['x'] as [string];
    expect(diff(smoke, shortcut)).toEqual(['- layer h1: dense(16, relu)', '- layer h2: dense(16, relu)']);
  });

  it('describes conv nets', () => {
    const convNode = conv.arch.nodes.find((n) => n.op === 'conv2d')!;
    const b = structuredClone(conv);
    const c = b.arch.nodes.find((n) => n.id === convNode.id)!;
    if (c.op !== 'conv2d') throw new Error('expected conv2d');
    c.filters *= 2;
    expect(diff(conv, b)).toEqual([`~ ${c.id} filters ${c.filters / 2} → ${c.filters}`]);
  });

  it('matches describeEdit for every bypass and norm an agent makes (200 random mutations of deep-mlp)', () => {
    const template = getTemplate('deep-mlp');
    const rng = createRng(5);
    let spec = template.baseline;
    let checked = 0;
    for (let i = 0; i < 200; i++) {
      const m = mutate(spec, template, rng, 2);
      const lines = diffSpecs(spec, m.spec).map((c) => c.text);
      for (const line of lines) expect(line).toMatch(/^[+~-] /);
      // mutate() can add a bypass and remove it again; anything else changes the spec.
      const undoes = m.edits.some((x) => x.op === 'removeBypass') && m.edits.some((x) => x.op === 'addBypass');
      if (!undoes) expect(lines.length).toBeGreaterThan(0);
      // Edits of one proposal can act on each other's nodes (a norm after a dropout the next edit
      // replaces, a bypass from a node a norm now follows): exact wording is checked per single edit.
      const single = m.edits.length === 1;
      if (single) checked++;
      for (const e of single ? m.edits : []) {
        if (e.op === 'addNorm') expect(lines).toContain(describeEdit(e));
        // (Where a later edit of the same proposal moves the join, e.g. a dropout inserted after
        // `to`, the diff names the node the bypass joins in the final graph.)
        if (e.op === 'addBypass' && !undoes) {
          // (A norm inserted after `from` by the same proposal becomes the bypass's source.)
          const normed = m.edits.some((x) => x.op === 'addNorm' && x.after === e.from);
          const from = normed ? `norm_${e.from}` : e.from;
          expect(lines.some((l) => l.startsWith(`+ bypass ${from} → `) && l.includes(`(${e.merge}`))).toBe(true);
        }
        if (e.op === 'setLearningRate') expect(lines.some((l) => l.startsWith('~ learning rate ') && l.endsWith(`→ ${e.value}`))).toBe(true);
      }
      if (i % 3 === 0) spec = m.spec; // walk a lineage, as evolution does
    }
    expect(checked).toBeGreaterThan(50);
  });
});

describe('report/cost: one-pass model size', () => {
  it('agrees with arch/cost on templates and 100 mutated specs', () => {
    const specs: Spec[] = ['smoke', 'deep-mlp', 'digits', 'digits-conv'].map((t) => getTemplate(t).baseline);
    const template = getTemplate('deep-mlp');
    const rng = createRng(9);
    let spec = template.baseline;
    for (let i = 0; i < 100; i++) {
      spec = mutate(spec, template, rng, 2).spec;
      specs.push(spec);
    }
    for (const s of specs) {
      expect(specCost(s)).toEqual({ params: countParams(s.arch), macs: forwardMacs(s.arch), epochs: s.recipe.epochs });
    }
    expect(specCost({ arch: { nodes: [], output: 'x' }, recipe: smoke.recipe })).toEqual({ params: 0, macs: 0, epochs: 2 });
    const broken = structuredClone(smoke);
    broken.arch.nodes.push({ id: 'bad', op: 'dense', inputs: ['nope'], units: 3, activation: 'relu' });
    expect(specCost(broken)).toBeNull();
  });
});

describe('terminal output', () => {
  it('draws sparklines with eight levels, bucketing long series', () => {
    expect(sparkline([0, 1, 2, 3, 4, 5, 6, 7])).toBe('▁▂▃▄▅▆▇█');
    expect(sparkline([1, 1, 1])).toBe('▄▄▄');
    expect(sparkline([0, NaN, 1])).toBe('▁ █');
    const long = sparkline(Array.from({ length: 1000 }, (_, i) => i), 20);
    expect([...long]).toHaveLength(20);
    expect(long.startsWith('▁')).toBe(true);
    expect(long.endsWith('█')).toBe(true);
  });

  it('fits tables to the width, cutting flexible columns with an ellipsis', () => {
    expect(cut('abcdefgh', 5)).toBe('abcd…');
    expect(visibleLength('a—b…±')).toBe(5);
    const rows = [['1', 'x'.repeat(200), 'y'.repeat(100), 'end']];
    const lines = renderTextTable(
      [{ header: 'n' }, { header: 'long', flex: 3 }, { header: 'other', flex: 1 }, { header: 'tail' }],
      rows,
      { width: 80 },
    );
    for (const line of lines) expect(visibleLength(line)).toBeLessThanOrEqual(80);
    expect(lines[1]).toContain('…');
    expect(lines[1]!.endsWith('end')).toBe(true);
    // Short content takes only what it needs and gives the rest to the others.
    const short = renderTextTable([{ header: 'a', flex: 1 }, { header: 'b', flex: 1 }], [['hi', 'z'.repeat(300)]], { width: 80 });
    expect(visibleLength(short[1]!)).toBe(80);
  });
});

function line(n: number, over: Partial<ResultLine> = {}): ResultLine {
  return {
    n,
    status: 'discarded',
    hypothesis: `hypothesis number ${n} with, "quotes" and a long tail of words to cut`,
    specHash: `h${n}`,
    metric: 0.5 + n / 100,
    metricName: 'val_accuracy',
    bestMetric: 0.9,
    championAfter: 1,
    durationMs: 1000 * n,
    parent: n === 1 ? null : 1,
    edits: n === 1 ? [] : [`+ bypass h${n} → h9 (add)`],
    error: null,
    recordedAt: `2025-01-01T00:00:0${n}Z`,
    ...over,
  };
}

describe('arlo history formatting', () => {
  const lines = [
    line(1, { status: 'kept', metric: 0.5 }),
    line(2, { metric: 0.7, durationMs: 9000 }),
    line(3, { status: 'failed', metric: null, error: 'Boom: no' }),
    line(4, { status: 'kept', metric: 0.6, tokens: 12_345 }),
  ];

  it('sorts by metric best first in either direction, failed last, and by duration longest first', () => {
    expect(sortLines(lines, 'metric', 'max').map((l) => l.n)).toEqual([2, 4, 1, 3]);
    expect(sortLines(lines, 'metric', 'min').map((l) => l.n)).toEqual([1, 4, 2, 3]);
    expect(sortLines(lines, 'duration', 'max').map((l) => l.n)).toEqual([2, 4, 3, 1]);
    expect(sortLines([...lines].reverse(), 'n', 'max').map((l) => l.n)).toEqual([1, 2, 3, 4]);
  });

  it('renders every column within 80 columns', () => {
    const table = historyTable(lines, { metricName: 'val_accuracy' }, 80);
    expect(table[0]).toMatch(/^\s*n\s+hypothesis\s+edits\s+metric ± sd\s+decision\s+rung\s+time\s+tokens$/);
    for (const l of table) expect(visibleLength(l)).toBeLessThanOrEqual(80);
    expect(table[1]).toMatch(/baseline\s+0\.5000 ± —\s+kept\s+—\s+1\.0s\s+—$/);
    expect(table[3]).toMatch(/—\s+failed\s+—\s+3\.0s\s+—$/);
    expect(table[4]).toMatch(/0\.6000 ± —\s+kept\s+—\s+4\.0s\s+12\.3k$/);
    const wide = historyTable(lines, { metricName: 'val_accuracy' }, 160);
    expect(wide[1]).toContain(lines[0]!.hypothesis);
  });

  it('reads spread, fidelity rung and tokens when later features record them', () => {
    expect(lineExtras(line(1))).toEqual({ spread: null, fidelity: null, tokens: null });
    const extended = { ...line(1), spread: 0.0123, fidelity: 'full', tokens: { input: 100, output: 20 } } as unknown as ResultLine;
    expect(lineExtras(extended)).toEqual({ spread: 0.0123, fidelity: 'full', tokens: 120 });
    expect(historyTable([extended], { metricName: 'loss' }, 100)[1]).toContain('0.5100 ± 0.0123');
  });

  it('writes RFC 4180 CSV', () => {
    const csv = historyCsv(lines, 'val_accuracy').trimEnd().split('\n');
    expect(csv[0]).toBe(
      'n,status,hypothesis,edits,metric_name,metric,spread,best_metric,fidelity,duration_ms,tokens,parent,commit,recorded_at,error',
    );
    expect(csv).toHaveLength(5);
    expect(csv[1]).toContain('"hypothesis number 1 with, ""quotes"" and a long tail of words to cut"');
    expect(csv[3]).toMatch(/^3,failed,.*,Boom: no$/);
    expect(csv[4]).toContain(',12345,');
  });

  it('parses results.jsonl and names the corrupt line', () => {
    const text = `${JSON.stringify(line(2))}\n\n${JSON.stringify(line(1))}\n`;
    expect(parseResultLines(text, 'c').map((l) => l.n)).toEqual([1, 2]);
    expect(() => parseResultLines(`${JSON.stringify(line(1))}\n{oops\n`, 'c')).toThrow(/line 2/);
  });

  it('finds the lineage between two experiments', () => {
    const chain = [line(1), line(2, { parent: 1 }), line(3, { parent: 2 }), line(4, { parent: 1 })];
    expect(lineageBetween(chain, 1, 3)).toEqual([1, 2, 3]);
    expect(lineageBetween(chain, 3, 1)).toEqual([3, 2, 1]);
    expect(lineageBetween(chain, 3, 4)).toBeNull();
  });
});

describe('report data and HTML', () => {
  function input(over: Partial<ReportInput> = {}): ReportInput {
    const lines: ResultLine[] = [
      line(1, { status: 'kept', metric: 0.5, parent: null, edits: [] }),
      line(2, { status: 'discarded', metric: 0.45, parent: 1, edits: ['+ layerNorm after h1'] }),
      line(3, { status: 'kept', metric: 0.6, parent: 2, edits: ['+ bypass h1 → h3 (add)'] }),
      line(4, { status: 'failed', metric: null, parent: 3, edits: ['+ bypass h2 → h4 (add)'] }),
      line(5, { status: 'kept', metric: 0.7, parent: 1, edits: ['set learning rate 0.01'] }),
      line(6, { status: 'discarded', metric: 0.65, parent: 3, edits: ['+ bypass h1 → h4 (add)'] }),
    ];
    return {
      campaignId: 'c1',
      createdAt: '2025-01-01T00:00:00Z',
      template: 'smoke',
      agent: 'evolution',
      seed: 1,
      metricName: 'val_accuracy',
      direction: 'max',
      lines,
      editOps: new Map([
        [2, ['addNorm']],
        [3, ['addBypass']],
        [4, ['addBypass']],
        [5, ['setLearningRate']],
        [6, ['addBypass']],
      ]),
      costs: new Map(lines.map((l) => [l.n, { params: 1000 + l.n, macs: 500 + l.n, epochs: 2 }])),
      trainSamples: 1000,
      curves: {
        baseline: [{ epoch: 1, val_accuracy: 0.4, val_loss: 2 }, { epoch: 2, val_accuracy: 0.5, val_loss: 1.5 }],
        champion: [{ epoch: 1, val_accuracy: 0.6, val_loss: 1.2 }, { epoch: 2, val_accuracy: 0.7, val_loss: 0.9 }],
      },
      tags: new Map([
        [1, 'a'.repeat(40)],
        [3, 'b'.repeat(40)],
        [5, 'c'.repeat(40)],
      ]),
      generatedAt: '2025-01-02T00:00:00Z',
      ...over,
    };
  }

  it('computes the summary, best-so-far curve, scatter and edit effects', () => {
    const d = buildReportData(input());
    expect(d.counts).toEqual({ total: 6, kept: 3, discarded: 2, failed: 1 });
    expect(d.baseline).toEqual({ n: 1, metric: 0.5 });
    expect(d.champion).toMatchObject({ n: 5, metric: 0.7, tag: 'champion/c1/5', commit: 'c'.repeat(40) });
    expect(d.gain).toBeCloseTo(0.2);
    expect(d.improvements).toBe(2);
    expect(d.bestSoFar.map((p) => p.y)).toEqual([0.5, 0.5, 0.6, 0.6, 0.7, 0.7]);
    expect(d.metrics).toHaveLength(5);
    expect(d.scatter.kept.map((p) => p.n)).toEqual([1, 3, 5]);
    expect(d.scatter.discarded.map((p) => p.n)).toEqual([2, 6]);
    expect(d.scatter.kept[0]).toEqual({ p: 1001, f: 6 * 501 * 1000 * 2, y: 0.5, n: 1 });
    const bypass = d.editEffects.find((e) => e.op === 'addBypass')!;
    // #3: 0.6 vs parent #2 0.45 → +0.15; #6: 0.65 vs #3 0.6 → +0.05; #4 failed (no gain)
    expect(bypass).toMatchObject({ count: 3, kept: 1, failed: 1, measured: 2 });
    expect(bypass.meanGain).toBeCloseTo(0.1);
    expect(bypass.keepRate).toBeCloseTo(1 / 3);
    expect(d.editEffects.find((e) => e.op === 'addNorm')!.meanGain).toBeCloseTo(-0.05);
    expect(d.editEffects[0]!.op).toBe('setLearningRate'); // +0.2, the largest mean gain
    expect(d.top.map((t) => t.n)).toEqual([5, 6, 3, 1, 2]);
    expect(d.curves).toMatchObject({ key: 'val_accuracy', lossKey: 'val_loss', baseline: { n: 1 }, champion: { n: 5 } });
  });

  it('respects a metric where lower is better', () => {
    const d = buildReportData(input({ direction: 'min' }));
    expect(d.champion?.n).toBe(1); // 0.5 is the lowest kept metric
    expect(d.bestSoFar.every((p) => p.y === 0.5)).toBe(true);
  });

  it('hangs kept experiments under their nearest kept ancestor, through discarded parents', () => {
    const d = buildReportData(input());
    expect(d.lineage.map((l) => [l.n, l.parent, l.via])).toEqual([
      [1, null, []],
      [3, 1, [2]],
      [5, 1, []],
    ]);
    expect(d.lineage.find((l) => l.n === 3)!.gain).toBeCloseTo(0.1);
    const html = renderLineage(d.lineage);
    expect(html).toContain('<ul class="tree" id="lineage">');
    expect(html).toMatch(/#1<\/span>.*<li class="fork"><ul>.*#3<\/span>.*via #2 \(not kept\).*#5<\/span>.*champion/s);
  });

  it('renders one page with the data embedded safely and no network references', () => {
    const evil = input();
    evil.lines = evil.lines.map((l) => (l.n === 5 ? { ...l, hypothesis: '</script><script>alert(1)</script> & <b>' } : l));
    const d = buildReportData(evil);
    const html = renderReportHtml(d, 'window.Chart = function () {};');
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).not.toContain('<script>alert(1)');
    expect(html).toContain(escapeHtml('</script><script>alert(1)</script> & <b>'));
    expect(html).toContain("default-src 'none'");
    expect(html).not.toMatch(/(src|href)=["']https?:/);
    const json = html.slice(html.indexOf('id="report-data">') + 'id="report-data">'.length, html.indexOf('</script>', html.indexOf('id="report-data">')));
    expect(JSON.parse(json)).toEqual(JSON.parse(JSON.stringify(d)));
    expect(scriptJson({ a: '</script>' })).toBe('{"a":"\\u003c/script\\u003e"}');
  });
});
