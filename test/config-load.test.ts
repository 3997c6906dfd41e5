import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configFromFlags } from '../cli/commands/start.ts';
import { loadCampaignFile } from '../config/load-config.ts';
import { UserError } from '../server/user-error.ts';

const dir = mkdtempSync(join(tmpdir(), 'arlo-config-'));
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function errorOf(fn: () => unknown): UserError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UserError);
    return err as UserError;
  }
  throw new Error('expected a UserError');
}

describe('campaign configuration', () => {
  it('fills documented defaults for a minimal file', () => {
    const c = loadCampaignFile(file('min.yaml', 'experiment: deep-mlp\n'), { id: 'given' });
    expect(c).toEqual({
      id: 'given',
      experiment: 'deep-mlp',
      agent: 'evolution',
      seed: 1,
      budget: { experiments: 12, minutes: null },
      concurrency: 1,
      agentOptions: {},
      evaluation: { seeds: 3, test: 'welch-t', alpha: 0.05, minEffect: 0, fidelity: [], eta: 3, holdout: true },
    });
  });

  it('reads the evaluation section and names what is wrong in it', () => {
    const c = loadCampaignFile(
      file('ev.yaml', 'experiment: smoke\nevaluation:\n  seeds: 5\n  test: paired-bootstrap\n  fidelity: [{ epochs: 1 }, { epochs: 2, dataFraction: 0.5 }]\n'),
      { id: 'x' },
    );
    expect(c.evaluation).toMatchObject({ seeds: 5, test: 'paired-bootstrap', fidelity: [{ epochs: 1 }, { epochs: 2, dataFraction: 0.5 }], eta: 3 });
    expect(() => loadCampaignFile(file('ev1.yaml', 'experiment: smoke\nevaluation: { fidelity: [{ epochs: 2 }] }\n'), { id: 'x' })).toThrow(
      /evaluation\.fidelity.*one rung is no ladder/,
    );
    expect(() => loadCampaignFile(file('ev2.yaml', 'experiment: smoke\nevaluation: { seeds: 1, test: paired-bootstrap }\n'), { id: 'x' })).toThrow(
      /evaluation\.seeds.*at least 2 seeds/,
    );
    expect(() => loadCampaignFile(file('ev3.yaml', 'experiment: smoke\nevaluation: { fidelity: [{}, { epochs: 2 }] }\n'), { id: 'x' })).toThrow(
      /a rung sets epochs and\/or dataFraction/,
    );
    expect(() => loadCampaignFile(file('ev4.yaml', 'experiment: smoke\nevaluation: { alpha: 0 }\n'), { id: 'x' })).toThrow(/evaluation\.alpha/);
  });

  it('reads the example campaign file shipped in experiments/', () => {
    const c = loadCampaignFile(join(import.meta.dirname, '..', 'experiments', 'deep-mlp.campaign.yaml'), { id: 'x' });
    expect(c).toMatchObject({ id: 'deep-mlp-evolution', agent: 'evolution', budget: { experiments: 24, minutes: 60 } });
  });

  it('names unknown keys, wrong types and bad values', () => {
    const unknown = errorOf(() => loadCampaignFile(file('u.yaml', 'experiment: deep-mlp\nbudgett: 3\n'), { id: 'a' }));
    expect(unknown.message).toContain('"budgett"');
    const nested = errorOf(() =>
      loadCampaignFile(file('n.yaml', 'experiment: deep-mlp\nbudget: { experiments: 3, hours: 2 }\n'), { id: 'a' }),
    );
    expect(nested.message).toContain('"hours"');
    const type = errorOf(() =>
      loadCampaignFile(file('t.yaml', 'experiment: deep-mlp\nbudget: { experiments: many }\n'), { id: 'a' }),
    );
    expect(type.message).toContain('budget.experiments');
    const agent = errorOf(() => loadCampaignFile(file('g.yaml', 'experiment: deep-mlp\nagent: genius\n'), { id: 'a' }));
    expect(agent.message).toContain('field "agent"');
    const id = errorOf(() => loadCampaignFile(file('i.yaml', 'experiment: deep-mlp\nid: "bad id!"\n'), { id: 'a' }));
    expect(id.message).toContain('field "id"');
    expect(id.hint).toContain('known fields');
  });

  it('reports malformed YAML and non-mapping documents', () => {
    expect(errorOf(() => loadCampaignFile(file('bad.yaml', 'experiment: [deep-mlp\n'), { id: 'a' })).message).toContain(
      'invalid YAML',
    );
    expect(errorOf(() => loadCampaignFile(file('list.yaml', '- a\n- b\n'), { id: 'a' })).message).toContain('mapping');
    expect(errorOf(() => loadCampaignFile(join(dir, 'missing.yaml'), { id: 'a' })).message).toContain('ENOENT');
  });

  it('builds a config from flags, flags overriding a file', () => {
    const c = configFromFlags(undefined, { experiment: 'digits', agent: 'random', budget: 5, seed: 3, id: 'mine' });
    expect(c).toMatchObject({ id: 'mine', experiment: 'digits', agent: 'random', seed: 3, budget: { experiments: 5 } });
    const generated = configFromFlags(undefined, { experiment: 'digits' });
    expect(generated.id).toMatch(/^digits-\d{8}-\d{6}$/);
    const f = file('o.yaml', 'id: from-file\nexperiment: deep-mlp\nbudget: { experiments: 30, minutes: 5 }\n');
    const merged = configFromFlags(f, { budget: 4 });
    expect(merged).toMatchObject({ id: 'from-file', budget: { experiments: 4, minutes: 5 } });
    expect(errorOf(() => configFromFlags(undefined, {})).message).toContain('--experiment');
  });
});
