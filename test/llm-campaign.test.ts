import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CampaignConfig } from '../config/campaign-config.ts';
import { LLM_DEFAULTS } from '../config/campaign-config.ts';
import { getTemplate } from '../experiments/index.ts';
import { openHistory, readExperiment, readResults } from '../history/index.ts';
import { workflowBundle } from '../worker.ts';
import { statusQuery, steerUpdate, unpauseSignal } from '../workflows/messages.ts';
import type { CampaignInput, CampaignResult } from '../workflows/types.ts';
import {
  answer,
  completion,
  experimentOf,
  promptOf,
  startOpenAiFixture,
  type FixtureRequest,
  type OpenAiFixture,
} from './helpers/openai-fixture.ts';
import { decodedText, filesUnder, gitObjects } from './helpers/secret-scan.ts';
import { startTestServer, tempHome, waitFor, withWorker as withTestWorker } from './helpers/temporal-env.ts';

// Campaigns with `agent: llm` on the real Temporal dev server, with real TF.js training (the tiny
// `smoke` template) and real git records, proposing through the REAL ChatOpenAI client against a
// local OpenAI-compatible server. A fake key sits in the environment the whole time; the last test
// looks for it everywhere it must not be.

const SECRET = 'sk-test-SECRET123';
const DATA_DIR = process.env.ARLO_DATA_DIR ?? join(import.meta.dirname, '..', '..', 'shared', 'data');

let env: TestWorkflowEnvironment;
let bundle: WorkflowBundleWithSourceMap;
let fixture: OpenAiFixture;
const homes: string[] = [];
const workflowIds: string[] = [];
let logs = '';
const restore: Array<() => void> = [];

beforeAll(async () => {
  const savedKey = process.env.OPENAI_API_KEY;
  process.env.OPENAI_API_KEY = SECRET;
  restore.push(() => (savedKey === undefined ? delete process.env.OPENAI_API_KEY : (process.env.OPENAI_API_KEY = savedKey)));
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream);
    stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      logs += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof stream.write;
    restore.push(() => (stream.write = write));
  }
  env = await startTestServer();
  bundle = await workflowBundle();
  fixture = await startOpenAiFixture();
});

afterAll(async () => {
  await fixture?.close();
  await env?.teardown();
  for (const undo of restore.reverse()) undo();
});

let queueCounter = 0;
function taskQueues() {
  queueCounter++;
  return { main: `llm-main-${queueCounter}`, training: `llm-train-${queueCounter}` };
}

function llmConfig(id: string, over: Partial<CampaignConfig> = {}): CampaignConfig {
  return {
    id,
    experiment: 'smoke',
    agent: 'llm',
    seed: 3,
    budget: { experiments: 5, minutes: null, tokens: 1_000_000 },
    concurrency: 1,
    agentOptions: {},
    llm: {
      ...LLM_DEFAULTS,
      model: 'openai:fixture-model',
      baseUrl: fixture.url,
      apiKeyEnv: 'OPENAI_API_KEY',
      timeoutSeconds: 10,
      prices: { 'fixture-model': { input: 1, output: 2 } },
    },
    ...over,
  };
}

function withWorker<T>(home: string, queues: ReturnType<typeof taskQueues>, fn: () => Promise<T>): Promise<T> {
  return withTestWorker({ env, bundle, home, dataDir: DATA_DIR, queues }, fn);
}

/** Every file path on a campaign branch. */
function branchFiles(home: string, id: string): string[] {
  return execFileSync('git', ['-C', join(home, 'history'), 'ls-tree', '-r', '--name-only', `campaign/${id}`], { encoding: 'utf8' })
    .trim()
    .split('\n');
}

function branchFile(home: string, id: string, path: string): string {
  return execFileSync('git', ['-C', join(home, 'history'), 'show', `campaign/${id}:${path}`], { encoding: 'utf8' });
}

function fileOf(home: string, id: string, n: number, name: string): string {
  const path = branchFiles(home, id).find((p) => p.startsWith(`${String(n).padStart(4, '0')}-`) && p.endsWith(`/${name}`));
  if (!path) throw new Error(`experiment ${n} has no ${name}`);
  return branchFile(home, id, path);
}

const OK_USAGE = { prompt_tokens: 1000, completion_tokens: 100 };
const EDITS: Record<number, Parameters<typeof answer>[0]> = {
  2: [{ op: 'addBypass', from: 'h1', to: 'h3', merge: 'add' }],
  3: [{ op: 'setActivation', node: 'h2', activation: 'tanh' }],
  4: [{ op: 'addNorm', after: 'h1' }],
  5: [{ op: 'setLearningRate', value: 0.005 }],
};
const NOTE = 'Prefer normalisation: try a layerNorm early in the network next';

describe('llm agent campaigns on the real dev server', () => {
  it('runs 5 experiments: repairs, a rate limit, a steering note, prompts that carry the history, and a ledger', async () => {
    const home = tempHome('arlo-llm-e2e-');
    homes.push(home);
    const queues = taskQueues();
    const id = 'llm-five';
    workflowIds.push(`campaign-${id}`, ...[1, 2, 3, 4, 5].map((n) => `${id}-exp-${n}`));
    let rateLimited = false;
    fixture.setHandler((req) => {
      const n = experimentOf(req)!;
      const repair = req.body.messages.length > 2;
      if (n === 3 && !repair) return { json: completion(JSON.stringify(answer([{ op: 'setActivation', node: 'h9', activation: 'tanh' }])), { usage: OK_USAGE }) };
      if (n === 4 && !rateLimited) {
        rateLimited = true;
        return { status: 429, headers: { 'retry-after': '1' }, json: { error: { message: 'Rate limit reached', type: 'requests', code: 'rate_limit_exceeded' } } };
      }
      return { json: completion(JSON.stringify(answer(EDITS[n]!, `hypothesis for experiment ${n}`)), { usage: OK_USAGE }) };
    });
    const input: CampaignInput = { config: llmConfig(id), metric: getTemplate('smoke').metric, taskQueues: queues };

    const { result, ack, status } = await withWorker(home, queues, async () => {
      const handle = await env.client.workflow.start('campaignWorkflow', { workflowId: `campaign-${id}`, taskQueue: queues.main, args: [input] });
      await waitFor(async () => ((await handle.query(statusQuery)).done >= 2 ? true : undefined), 'two experiments');
      await expect(handle.executeUpdate(steerUpdate, { args: ['   '] })).rejects.toThrow(WorkflowUpdateFailedError);
      const ack = await handle.executeUpdate(steerUpdate, { args: [NOTE] });
      const result = (await handle.result()) as CampaignResult;
      return { result, ack, status: await handle.query(statusQuery) };
    });

    expect(result.done).toBe(5);
    const repo = await openHistory(home);
    const lines = await readResults(repo, id);
    expect(lines.map((l) => l.n)).toEqual([1, 2, 3, 4, 5]);

    // the steering note: acknowledged, sent in the next prompt, linked from that experiment's record
    expect(ack.noteId).toBe(1);
    expect(ack.reachesExperiment).toBeGreaterThanOrEqual(3);
    expect(ack.reachesExperiment).toBeLessThanOrEqual(5);
    const steered = await readExperiment(repo, id, ack.reachesExperiment!);
    expect((steered!.proposal as { steering?: unknown }).steering).toEqual([{ id: 1, text: NOTE, at: expect.any(String) }]);

    // the prompt for experiment 5 carries the results of experiments 1-4 and the note
    const requests = (n: number): FixtureRequest[] => fixture.requests.filter((r) => experimentOf(r) === n);
    const prompt5 = promptOf(requests(5)[0]!);
    for (const l of lines.slice(0, 4)) {
      const outcome = l.status === 'failed' ? 'failed' : `${l.status} val_accuracy ${Number(l.metric!.toPrecision(4))}`;
      expect(prompt5).toContain(`- #${l.n} ${outcome}`);
    }
    expect(prompt5).toContain('hypothesis for experiment 3');
    expect(prompt5).toContain(NOTE);
    expect(fileOf(home, id, 5, 'prompt.md')).toContain(NOTE);

    // experiment 3: the first answer named an unknown node, the repair carried the exact error
    expect(requests(3)).toHaveLength(2);
    expect(requests(3)[1]!.body.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user']);
    expect(requests(3)[1]!.body.messages[3]!.content).toMatch(/"node" node "h9" does not exist|layer node "h9" does not exist/);
    const response3 = JSON.parse(fileOf(home, id, 3, 'response.json'));
    expect(response3.answers).toHaveLength(2);
    expect(response3.answers[0].errors[0]).toContain('h9');
    const record3 = await readExperiment(repo, id, 3);
    expect(record3!.proposal).toMatchObject({ agent: 'llm', note: 'accepted after 1 repair(s) of answers that did not validate' });

    // experiment 4: a 429 with Retry-After: 1, retried by Temporal no sooner than asked
    expect(requests(4)).toHaveLength(2);
    expect(requests(4)[1]!.at - requests(4)[0]!.at).toBeGreaterThanOrEqual(900);

    // the ledger: per experiment in results.jsonl, per campaign in status and result
    expect(lines.map((l) => l.tokens)).toEqual([undefined, 1100, 2200, 1100, 1100]);
    expect(result.llmUsage).toMatchObject({ calls: 5, inputTokens: 5000, outputTokens: 500, totalTokens: 5500 });
    expect(result.llmUsage!.usd).toBeCloseTo((5000 * 1 + 500 * 2) / 1e6, 10);
    expect(status.llm?.usage.totalTokens).toBe(5500);
    expect(status.budget).toMatchObject({ tokens: 1_000_000, tokensLeft: 1_000_000 - 5500 });
    expect(status.lessons.length).toBeGreaterThan(0);
    expect(status.lessons.some((l) => l.startsWith('addBypass (add): '))).toBe(true);
    expect(status.notes).toEqual([{ id: 1, text: NOTE, at: expect.any(String), deliveredTo: ack.reachesExperiment }]);
    for (const n of [2, 3, 4, 5]) expect(fileOf(home, id, n, 'prompt.md')).toContain(`Propose experiment ${n} of campaign ${id}`);

    // the history (LLM answers, update, repairs) replays deterministically
    const history = await env.client.workflow.getHandle(`campaign-${id}`).fetchHistory();
    await Worker.runReplayHistory({ workflowBundle: bundle }, history, `campaign-${id}`);
    if (process.env.ARLO_REFRESH_REPLAY_FIXTURES === '1') {
      // Re-recorded like test/workflows-campaign.test.ts's fixtures; test/workflows-replay.test.ts replays it.
      writeFileSync(join(import.meta.dirname, 'fixtures', 'histories', 'campaign-llm-smoke.json'), historyToJSON(history));
    }
  });

  it('pauses on a rejected key without retrying, and after unpause falls back to evolution when answers never validate', async () => {
    const home = tempHome('arlo-llm-e2e-');
    homes.push(home);
    const queues = taskQueues();
    const id = 'llm-paused';
    workflowIds.push(`campaign-${id}`, ...[1, 2, 3].map((n) => `${id}-exp-${n}`));
    fixture.requests.length = 0;
    fixture.setHandler(() => ({
      status: 401,
      json: { error: { message: `Incorrect API key provided: ${SECRET}. You can find your API key at https://platform.openai.com`, type: 'invalid_request_error', code: 'invalid_api_key' } },
    }));
    const config = llmConfig(id, { budget: { experiments: 3, minutes: null }, llm: { ...llmConfig(id).llm!, maxRepairs: 1 } });
    const input: CampaignInput = { config, metric: getTemplate('smoke').metric, taskQueues: queues };

    const result = await withWorker(home, queues, async () => {
      const handle = await env.client.workflow.start('campaignWorkflow', { workflowId: `campaign-${id}`, taskQueue: queues.main, args: [input] });
      const paused = await waitFor(async () => {
        const s = await handle.query(statusQuery);
        return s.phase === 'paused' ? s : undefined;
      }, 'the pause');
      expect(paused.done).toBe(1);
      expect(paused.message).toMatch(
        /^the llm agent could not propose experiment 2: OPENAI_API_KEY rejected by http:\/\/127\.0\.0\.1:\d+\/v1 \(HTTP 401: Incorrect API key provided: \[redacted\]\. .*\): set a valid key in OPENAI_API_KEY where the worker runs, restart the worker, then `arlo unpause llm-paused`$/,
      );
      await new Promise((r) => setTimeout(r, 2500));
      expect(fixture.requests).toHaveLength(1); // not retried: no spinning on a bad key

      // "fixed the key": now every answer names a node that does not exist
      fixture.setHandler(() => ({ json: completion(JSON.stringify(answer([{ op: 'addNorm', after: 'h7' }])), { usage: OK_USAGE }) }));
      await handle.signal(unpauseSignal);
      return (await handle.result()) as CampaignResult;
    });

    expect(result.done).toBe(3);
    const repo = await openHistory(home);
    const record2 = await readExperiment(repo, id, 2);
    const proposal2 = record2!.proposal as Record<string, unknown>;
    expect(proposal2.agent).toBe('evolution');
    expect(proposal2.note).toMatch(/^fallback: 2 answer\(s\) of openai:fixture-model did not validate \(last: edits: .*"h7" does not exist.*\); the evolution agent proposed this experiment instead$/);
    expect(proposal2.llm).toEqual({ model: 'openai:fixture-model', usage: expect.objectContaining({ calls: 2, totalTokens: 2200 }), attempts: 2 });
    expect(JSON.parse(fileOf(home, id, 2, 'response.json'))).toMatchObject({ accepted: false, answers: [{ answer: 1 }, { answer: 2 }] });
    expect(fileOf(home, id, 2, 'prompt.md')).toContain('# user (repair 1)');
    const lines = await readResults(repo, id);
    expect(lines[1]!.tokens).toBe(2200);
  });

  it('leaves no trace of the key under ARLO_HOME, in git objects, workflow histories or logs', async () => {
    expect(homes).toHaveLength(2);
    // the key was really used: the server saw it
    expect(fixture.requests.some((r) => r.headers.authorization === `Bearer ${SECRET}`)).toBe(true);

    for (const home of homes) {
      const files = filesUnder(home);
      expect(files.length).toBeGreaterThan(10);
      for (const f of files) expect(readFileSync(f).includes(SECRET), f).toBe(false);
      // git objects are zlib-compressed on disk: read every object back through git
      const objects = gitObjects(home);
      expect(objects.length).toBeGreaterThan(1000);
      expect(objects.includes('prompt.md') || objects.includes('Propose experiment')).toBe(true);
      expect(objects.includes(SECRET)).toBe(false);
    }

    // workflow histories, payloads decoded
    let sawFailure = false;
    for (const workflowId of workflowIds) {
      const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
      const text = decodedText(history);
      expect(text.includes(SECRET), workflowId).toBe(false);
      if (text.includes('OPENAI_API_KEY rejected')) sawFailure = true;
    }
    expect(sawFailure).toBe(true); // the 401's (scrubbed) failure is in history: the check looked at the right place

    expect(logs.length).toBeGreaterThan(0);
    expect(logs.includes(SECRET)).toBe(false);
  });
});
