import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { statusQuery, unpauseSignal } from '../workflows/messages.ts';
import type { CampaignResult } from '../workflows/types.ts';
import { countRecords, startTestCampaign, testConfig } from './helpers/campaign-checks.ts';
import { runTemporal } from './helpers/cli-run.ts';
import { standInFolder } from './helpers/external-jobs.ts';
import { answer, completion, experimentOf, startOpenAiFixture, type OpenAiFixture } from './helpers/openai-fixture.ts';
import { decodedText, filesUnder, findSecrets, jsonTextWithBase64, scanHome, type SecretFinding } from './helpers/secret-scan.ts';
import { startTestServer, tempHome, waitFor } from './helpers/temporal-env.ts';
import { spawnFaultWorker, writeWorkflowBundle, type WorkerProcess } from './helpers/worker-process.ts';

// A worker process runs with fake secrets in its environment (OpenAI and Anthropic keys, two
// *_TOKEN variables) through an external-job campaign (the stand-in job dumps its environment into
// its run folder) and an LLM campaign (the key is sent to a local OpenAI-compatible server, which
// once answers 401 quoting the key back). Afterwards no secret may appear in any file under
// ARLO_HOME, in any git object, in any workflow history (client and `temporal workflow show`), or
// in what the worker printed.

const DATA_DIR = process.env.ARLO_DATA_DIR ?? join(import.meta.dirname, '..', '..', 'shared', 'data');
const tag = randomBytes(6).toString('hex');
const SECRETS: Record<string, string> = {
  OPENAI_API_KEY: `sk-test-${tag}-openai`,
  ANTHROPIC_API_KEY: `sk-ant-test-${tag}-anthropic`,
  HF_TOKEN: `hf_test_${tag}_token`,
  GITHUB_TOKEN: `ghp_test_${tag}_token`,
};
const secrets = Object.values(SECRETS);

let env: TestWorkflowEnvironment;
let fixture: OpenAiFixture;
let root: string;
let home: string;
let worker: WorkerProcess;
const queues = { main: 'secrets', training: 'secrets-train' };

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'arlo-secrets-'));
  home = tempHome('arlo-secrets-home-');
  env = await startTestServer();
  fixture = await startOpenAiFixture();
  worker = await spawnFaultWorker(
    {
      address: env.address,
      home,
      dataDir: DATA_DIR,
      queues,
      bundlePath: await writeWorkflowBundle(root),
      standIn: { folder: standInFolder(), args: ['--mode', 'env'] },
      logLevel: 'INFO',
    },
    { ...process.env, ...SECRETS },
  );
});

afterAll(async () => {
  await worker?.kill9();
  await fixture?.close();
  await env?.teardown();
  rmSync(root, { recursive: true, force: true });
});

const EDITS: Record<number, Parameters<typeof answer>[0]> = {
  2: [{ op: 'addBypass', from: 'h1', to: 'h3', merge: 'add' }],
  3: [{ op: 'addNorm', after: 'h1' }],
};

describe('no secret leaves the worker', () => {
  it('after an external-job campaign and an LLM campaign, no key or token is in ARLO_HOME, git, workflow histories or worker logs', async () => {
    // The LLM server first rejects the key, quoting it (as OpenAI does); then answers.
    let rejected = false;
    fixture.setHandler((req) => {
      if (!rejected) {
        rejected = true;
        const key = String(req.headers.authorization ?? '').replace(/^Bearer /, '');
        return { status: 401, json: { error: { message: `Incorrect API key provided: ${key}.`, type: 'invalid_request_error', code: 'invalid_api_key' } } };
      }
      const n = experimentOf(req)!;
      return { json: completion(JSON.stringify(answer(EDITS[n]!, `hypothesis for experiment ${n}`)), { usage: { prompt_tokens: 100, completion_tokens: 10 } }) };
    });

    const external = testConfig('ext', { experiment: 'digits-torch', budget: { experiments: 3 } });
    const llm = testConfig('llm', {
      agent: 'llm',
      budget: { experiments: 3 },
      llm: { model: 'openai:fixture-model', baseUrl: fixture.url, apiKeyEnv: 'OPENAI_API_KEY', timeoutSeconds: 10, maxRepairs: 1 },
    });
    await startTestCampaign(env.client, external, queues);
    await startTestCampaign(env.client, llm, queues);

    const llmHandle = env.client.workflow.getHandle('campaign-llm');
    const paused = await waitFor(async () => {
      const s = await llmHandle.query(statusQuery);
      return s.phase === 'paused' ? s : undefined;
    }, 'the LLM campaign to pause on the rejected key', 90_000);
    expect(paused.message).toContain('OPENAI_API_KEY rejected');
    await llmHandle.signal(unpauseSignal);

    const results = (await Promise.all(['ext', 'llm'].map((id) => env.client.workflow.getHandle(`campaign-${id}`).result()))) as CampaignResult[];
    expect(results.map((r) => r.done)).toEqual([3, 3]);
    for (const id of ['ext', 'llm']) expect(countRecords(home, id, 3)).toEqual({ lost: [], duplicated: [], unexpected: [] });
    // The key really went out: the LLM server saw it.
    expect(fixture.requests.some((r) => r.headers.authorization === `Bearer ${SECRETS.OPENAI_API_KEY}`)).toBe(true);

    const findings: SecretFinding[] = [];

    // 1. ARLO_HOME: every file (the stand-in jobs' env.json dumps included) and every git object.
    const scanned = scanHome(home, secrets);
    findings.push(...scanned.findings);
    const dumps = filesUnder(home).filter((f) => f.endsWith('env.json'));
    expect(dumps.length, 'the external jobs dumped their environment').toBeGreaterThanOrEqual(3);
    expect(JSON.parse(readFileSync(dumps[0]!, 'utf8'))).toHaveProperty('PATH');
    expect(scanned.files).toBeGreaterThan(20);
    expect(scanned.objectBytes).toBeGreaterThan(1000);

    // 2. Workflow histories of every workflow on the server (campaigns, experiments), payloads
    //    decoded: as the client fetches them, and as `temporal workflow show --output json` exports them.
    const executions: Array<{ workflowId: string; runId: string }> = [];
    for await (const w of env.client.workflow.list()) executions.push({ workflowId: w.workflowId, runId: w.runId });
    expect(executions.map((e) => e.workflowId)).toEqual(expect.arrayContaining(['campaign-ext', 'campaign-llm', 'ext-exp-1', 'llm-exp-3']));
    let histories = '';
    for (const { workflowId, runId } of executions) {
      const fetched = decodedText(await env.client.workflow.getHandle(workflowId, runId).fetchHistory());
      const shown = await runTemporal(env.address, 'workflow', 'show', '--workflow-id', workflowId, '--run-id', runId, '--output', 'json');
      expect(shown.code, shown.stderr).toBe(0);
      const exported = jsonTextWithBase64(shown.stdout);
      findings.push(...findSecrets(`history of ${workflowId} (client)`, fetched, secrets));
      findings.push(...findSecrets(`history of ${workflowId} (temporal workflow show)`, exported, secrets));
      histories += fetched + exported;
    }
    // The scan looked at the right place: the rejection (scrubbed) and the LLM's answers are there.
    expect(histories).toContain('OPENAI_API_KEY rejected');
    expect(histories).toContain('hypothesis for experiment 2');

    // 3. What the worker printed.
    const logs = worker.output();
    expect(logs).toContain('fault-worker ready');
    findings.push(...findSecrets('worker output', logs, secrets));

    expect(findings).toEqual([]);
    expect(existsSync(join(home, 'runs', 'ext'))).toBe(true);
  });
});
