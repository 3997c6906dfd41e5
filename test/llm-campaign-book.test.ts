import { describe, expect, it, vi } from 'vitest';
import { rebuildState } from '../activities/rebuild-state.ts';
import { printStatus } from '../cli/commands/status.ts';
import type { LlmUsage } from '../agents/llm/types.ts';
import type { CampaignConfig } from '../config/campaign-config.ts';
import { LLM_DEFAULTS } from '../config/campaign-config.ts';
import { getTemplate } from '../experiments/index.ts';
import { resultLine } from '../history/format.ts';
import type { ResultLine } from '../history/types.ts';
import { CampaignBook } from '../workflows/campaign-book.ts';
import type { CampaignInput, ExperimentOutcome, ProposedExperiment } from '../workflows/types.ts';

// The campaign's bookkeeping for the LLM agent: steering notes, the token ledger and its budget,
// and what status, records and results lines carry. Pure code that runs inside the workflow.

const smoke = getTemplate('smoke');

function config(over: Partial<CampaignConfig> = {}): CampaignConfig {
  return {
    id: 'book',
    experiment: 'smoke',
    agent: 'llm',
    seed: 1,
    budget: { experiments: 10, minutes: null, tokens: 5000, usd: null },
    concurrency: 1,
    agentOptions: {},
    llm: { ...LLM_DEFAULTS, model: 'openai:gpt-4.1-mini' },
    ...over,
  };
}

function book(over: Partial<CampaignConfig> = {}): CampaignBook {
  const input: CampaignInput = { config: config(over), metric: smoke.metric, taskQueues: { main: 'm', training: 't' } };
  return new CampaignBook(input, 0);
}

const usage = (totalTokens: number, usd: number | null = null): LlmUsage => ({
  calls: 1,
  inputTokens: totalTokens - 100,
  outputTokens: 100,
  totalTokens,
  usd,
});

function proposal(n: number, over: Partial<ProposedExperiment> = {}): ProposedExperiment {
  return {
    n,
    agent: 'llm',
    hypothesis: `h${n}`,
    rationale: 'r',
    expectedEffect: null,
    edits: [],
    editDescriptions: [],
    parent: n === 1 ? null : 1,
    spec: smoke.baseline,
    specHash: `hash${n}`,
    note: null,
    ...over,
  };
}

const ok = (metric: number): ExperimentOutcome => ({ ok: true, metrics: { val_accuracy: metric }, curve: [], durationMs: 10, backend: 'cpu', params: 1 });

describe('steering notes', () => {
  it('validates notes: empty, oversized, agents that read none, campaigns that are ending', () => {
    const b = book();
    expect(() => b.validateSteer('   ')).toThrow(/empty/);
    expect(() => b.validateSteer('x'.repeat(2001))).toThrow(/2001 characters; keep it under 2000/);
    expect(() => b.validateSteer('try norms')).not.toThrow();
    expect(() => book({ agent: 'evolution' }).validateSteer('try norms')).toThrow(/evolution agent does not read notes/);
    const stopping = book();
    stopping.stop();
    expect(() => stopping.validateSteer('try norms')).toThrow(/ending/);
  });

  it('acknowledges with the experiment whose proposal will see the note, and delivers it once', () => {
    const b = book();
    expect(b.takeNextNumber()).toBe(1);
    b.begin(proposal(1));
    b.finish(proposal(1), ok(0.4), 'w', '2026-01-01T00:00:00Z');
    const first = b.steer('  try layerNorm  ', '2026-01-01T00:00:01Z', 0);
    expect(first).toEqual({ noteId: 1, reachesExperiment: 2, message: 'note 1 recorded: it goes into the prompt for experiment 2' });
    // while experiment 2's proposal is being asked for, a new note reaches experiment 3
    expect(b.takeNextNumber()).toBe(2);
    b.startProposing(2);
    expect(b.steer('and bypasses', '2026-01-01T00:00:02Z', 0).reachesExperiment).toBe(3);
    expect(b.notesForPrompt().map((x) => [x.id, x.text, x.deliveredTo])).toEqual([
      [1, 'try layerNorm', null],
      [2, 'and bypasses', null],
    ]);
    b.deliverNotes([{ id: 1, text: 'try layerNorm', at: '' }], 2);
    expect(b.status(0).notes.map((x) => x.deliveredTo)).toEqual([2, null]);
    b.deliverNotes([{ id: 1, text: 'try layerNorm', at: '' }], 3); // delivered once: stays 2
    expect(b.status(0).notes[0]!.deliveredTo).toBe(2);
  });

  it('says when no further experiment will read a note', () => {
    const b = book({ budget: { experiments: 1, minutes: null } });
    b.takeNextNumber();
    b.begin(proposal(1));
    expect(b.steer('late idea', '2026-01-01T00:00:00Z', 0)).toMatchObject({ reachesExperiment: null, message: expect.stringMatching(/no further experiment/) });
  });
});

describe('LLM ledger and budget', () => {
  it('counts tokens and ends the campaign when the token budget is spent', () => {
    const b = book();
    b.charge(usage(3000));
    expect(b.canStartAnother(0)).toBe(true);
    expect(b.budgetLeft(0).tokensLeft).toBe(2000);
    b.charge(usage(2500));
    expect(b.llmBudgetSpent()).toBe(true);
    expect(b.canStartAnother(0)).toBe(false);
    expect(b.isFinished(0)).toBe(true);
    const s = b.status(0);
    expect(s.llm).toEqual({ model: 'openai:gpt-4.1-mini', usage: { calls: 2, inputTokens: 5300, outputTokens: 200, totalTokens: 5500, usd: null } });
    expect(s.budget).toMatchObject({ tokens: 5000, tokensLeft: 0 });
    b.finishCampaign();
    expect(b.status(0).message).toBe('LLM token budget spent: 5500 of 5000 tokens');
    expect(b.result().llmUsage?.totalTokens).toBe(5500);
  });

  it('enforces a USD budget', () => {
    const b = book({ budget: { experiments: 10, minutes: null, usd: 0.01 }, llm: { ...LLM_DEFAULTS, model: 'openai:m', prices: { m: { input: 1, output: 1 } } } });
    b.charge(usage(1000, 0.004));
    expect(b.llmBudgetSpent()).toBe(false);
    b.charge(usage(1000, 0.007));
    expect(b.llmBudgetSpent()).toBe(true);
    expect(b.status(0).budget.usdLeft).toBe(0);
  });

  it('records usage and steering with the proposal, and results.jsonl carries the tokens', () => {
    const b = book();
    b.takeNextNumber();
    const p = proposal(1, {
      llm: { model: 'openai:gpt-4.1-mini', usage: usage(1234, 0.002), attempts: 2 },
      steering: [{ id: 1, text: 'try norms', at: '2026-01-01T00:00:00Z' }],
    });
    b.begin(p);
    const record = b.finish(p, ok(0.5), 'w', '2026-01-01T00:00:00Z');
    expect(record.proposal).toMatchObject({ llm: { usage: { totalTokens: 1234 }, attempts: 2 }, steering: [{ id: 1, text: 'try norms' }] });
    const line = JSON.parse(resultLine(record)) as ResultLine;
    expect([line.tokens, line.usd]).toEqual([1234, 0.002]);
    // built-in agents' lines stay as they were
    const plain = b.finish(proposal(2, { agent: 'evolution' }), ok(0.4), 'w', '2026-01-01T00:00:00Z');
    expect(Object.keys(JSON.parse(resultLine(plain)))).not.toContain('tokens');
    // a resumed campaign keeps counting from what git recorded
    expect(rebuildState([line, { ...line, n: 2, tokens: 100, usd: undefined }]).ledger).toMatchObject({ totalTokens: 1334, usd: 0.002 });
  });

  it('reports no LLM section for built-in agents', () => {
    expect(book({ agent: 'evolution', llm: undefined, budget: { experiments: 3, minutes: null } }).status(0)).toMatchObject({ llm: null, lessons: [], notes: [] });
  });
});

describe('arlo status', () => {
  it('shows the ledger, the token budget, recent notes and the lessons', () => {
    const b = book();
    b.charge({ calls: 3, inputTokens: 3000, outputTokens: 400, totalTokens: 3400, usd: 0.0021 });
    b.steer('try layerNorm early', '2026-01-01T00:00:00Z', 0);
    b.setLessons(['addBypass (add): +0.12 val_accuracy vs parent on average (3 of 3 kept)']);
    const out: string[] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((line: string) => void out.push(line));
    try {
      printStatus(b.status(0));
    } finally {
      spy.mockRestore();
    }
    const text = out.join('\n');
    expect(text).toContain('llm openai:gpt-4.1-mini: 3 calls, 3,400 tokens (3,000 in / 400 out), USD 0.0021; 1,600 of 5,000 tokens left');
    expect(text).toContain('note 1 (waiting for the next proposal): try layerNorm early');
    expect(text).toContain('lessons (from the recorded results):');
    expect(text).toContain('addBypass (add): +0.12 val_accuracy vs parent on average (3 of 3 kept)');
  });
});
