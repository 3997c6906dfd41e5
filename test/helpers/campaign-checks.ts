import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { Client, WorkflowStartOptions } from '@temporalio/client';
import { startCampaign } from '../../cli/start-campaign.ts';
import type { ArloClient } from '../../cli/client.ts';
import { configInputSchema, type CampaignConfig } from '../../config/campaign-config.ts';
import { completeConfig } from '../../config/load-config.ts';
import type { TaskQueues } from '../../workflows/types.ts';

// Starting small test campaigns the way `arlo start` does, and checking what a campaign left in
// its history repository: every experiment recorded exactly once, and a repository git trusts.

/**
 * A campaign config completed with the defaults `arlo start` applies: the `smoke` template, the
 * evolution agent and 4 experiments unless `raw` says otherwise. Where the config has
 * `evaluation` settings: one seed per experiment (cheap), plus `evaluation`.
 */
export function testConfig(id: string, raw: Record<string, unknown> = {}, evaluation: Record<string, unknown> = {}): CampaignConfig {
  const ev = 'evaluation' in configInputSchema.shape ? { evaluation: { seeds: 1, ...evaluation } } : {};
  return completeConfig({ experiment: 'smoke', agent: 'evolution', seed: 7, budget: { experiments: 4 }, ...ev, ...raw }, { id }, 'test');
}

/**
 * Starts a campaign through the CLI's own startCampaign (same input, id and search attributes as
 * `arlo start`); `extra` adds workflow options `arlo start` does not set (e.g. a timeout).
 */
export async function startTestCampaign(
  client: Client,
  config: CampaignConfig,
  queues: TaskQueues,
  extra: Partial<WorkflowStartOptions> = {},
): Promise<void> {
  const workflow = {
    start: (type: string, opts: WorkflowStartOptions) => client.workflow.start(type, { ...opts, ...extra } as WorkflowStartOptions),
  };
  const c = { client: { workflow } as unknown as Client, address: '', namespace: 'default', uiUrl: undefined, embedded: false, close: async () => {} };
  await startCampaign(c satisfies ArloClient, config, queues);
}

export function historyGit(home: string, ...args: string[]): string {
  return execFileSync('git', ['-C', join(home, 'history'), ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
}

/** Experiment numbers in results.jsonl on campaign/<id>, in file order (duplicates kept). */
export function resultNumbers(home: string, id: string): number[] {
  return historyGit(home, 'show', `campaign/${id}:results.jsonl`)
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => (JSON.parse(l) as { n: number }).n);
}

/** Experiment numbers of the commits on campaign/<id> (Arlo-Experiment trailers), oldest first. */
export function commitNumbers(home: string, id: string): number[] {
  return historyGit(home, 'log', '--reverse', '--format=%(trailers:key=Arlo-Experiment,valueonly,separator=%x2C)', `campaign/${id}`)
    .split('\n')
    .filter((l) => l.trim())
    .map(Number);
}

/** `git fsck --strict` on the history repository; throws with git's report unless it is clean. */
export function fsckHistory(home: string): void {
  const out = execFileSync('git', ['-C', join(home, 'history'), 'fsck', '--strict', '--no-dangling', '--no-progress'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (out.trim()) throw new Error(`git fsck --strict reported:\n${out}`);
}

export interface RecordCount {
  /** Numbers 1..expected with no line in results.jsonl or no commit. */
  lost: number[];
  /** Numbers with more than one line or more than one commit. */
  duplicated: number[];
  /** Numbers outside 1..expected. */
  unexpected: number[];
}

/** How experiments 1..expected were recorded on campaign/<id> (lines in results.jsonl and commits). */
export function countRecords(home: string, id: string, expected: number): RecordCount {
  const lines = resultNumbers(home, id);
  const commits = commitNumbers(home, id);
  const lost: number[] = [];
  const duplicated: number[] = [];
  for (let n = 1; n <= expected; n++) {
    const inLines = lines.filter((x) => x === n).length;
    const inCommits = commits.filter((x) => x === n).length;
    if (inLines === 0 || inCommits === 0) lost.push(n);
    if (inLines > 1 || inCommits > 1) duplicated.push(n);
  }
  const unexpected = [...new Set([...lines, ...commits])].filter((n) => !(n >= 1 && n <= expected));
  return { lost, duplicated, unexpected };
}
