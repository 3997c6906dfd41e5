import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeLessons } from '../agents/llm/lessons.ts';
import { openHistory, readResults } from '../history/index.ts';
import { statusQuery } from '../workflows/messages.ts';
import type { CampaignResult, CampaignStatus } from '../workflows/types.ts';
import { countRecords, fsckHistory, resultNumbers, startTestCampaign, testConfig } from './helpers/campaign-checks.ts';
import { arloEnv, runArlo, runTemporal } from './helpers/cli-run.ts';
import type { FaultWorkerOptions } from './helpers/fault-worker.ts';
import { startTestServer, tempHome, waitFor } from './helpers/temporal-env.ts';
import { markerLines, spawnFaultWorker, waitForMarker, writeWorkflowBundle, type WorkerProcess } from './helpers/worker-process.ts';

// `arlo resume` through the real CLI (node bin/arlo.js) against a real dev server, for campaigns
// whose workflow was terminated, failed (an experiment's workflow terminated by hand) or timed out
// mid-run: the new run continues from the last recorded experiment with the same champion, budget
// and lessons, runs no recorded experiment again, and completes. `resume` on a running or completed
// campaign says so and does nothing. And the README's `temporal workflow reset` example, run as
// written against a running campaign.

const DATA_DIR = process.env.ARLO_DATA_DIR ?? join(import.meta.dirname, '..', '..', 'shared', 'data');
const BUDGET = 5;
/** How long the resumed run's first experiment waits on its first training attempt. */
const HOLD_MS = 4000;
const HOLD_FOREVER = 60 * 60_000;

let env: TestWorkflowEnvironment;
let root: string;
let bundlePath: string;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'arlo-resume-'));
  env = await startTestServer();
  bundlePath = await writeWorkflowBundle(root);
});

afterAll(async () => {
  await Promise.all(workers.map((w) => w.kill9()));
  await env?.teardown();
  rmSync(root, { recursive: true, force: true });
});

interface Campaign {
  id: string;
  home: string;
  marker: string;
  cli: NodeJS.ProcessEnv;
  base: FaultWorkerOptions;
}

function campaign(id: string): Campaign {
  const home = tempHome(`arlo-resume-${id}-`);
  const marker = join(home, 'marker.txt');
  const queues = { main: `resume-${id}`, training: `resume-${id}-train` };
  return {
    id,
    home,
    marker,
    cli: arloEnv(env.address, home),
    base: { address: env.address, home, dataDir: DATA_DIR, queues, bundlePath, marker },
  };
}

/**
 * A worker whose first training attempt of experiment `n` waits `holdMs`: the first worker of a
 * campaign holds experiment 3 until the test has closed the campaign (and is then killed); the
 * worker of the resumed run holds the first unrecorded experiment briefly, while the test checks
 * where the new run stands.
 */
async function worker(c: Campaign, holdMs = HOLD_MS, n = 3): Promise<WorkerProcess> {
  const w = await spawnFaultWorker({ ...c.base, pause: { activity: 'trainExperiment', n, beforeMs: holdMs, afterMs: 0 } });
  workers.push(w);
  return w;
}

const handle = (c: Campaign, runId?: string) => env.client.workflow.getHandle(`campaign-${c.id}`, runId);
const statusName = async (c: Campaign, runId?: string) => (await handle(c, runId).describe()).status.name;

/** What a campaign's status says about where it stands (what a resume must carry over). */
function standing(s: CampaignStatus) {
  const id = (c: CampaignStatus['champion']) => c && { n: c.n, metric: c.metric, specHash: c.specHash, hypothesis: c.hypothesis };
  return {
    done: s.done,
    kept: s.kept,
    failed: s.failed,
    champion: id(s.champion),
    baseline: id(s.baseline),
    experimentsLeft: s.budget.experimentsLeft,
    recent: s.recent.map((r) => [r.n, r.status, r.metric]),
  };
}

/** What each resumed run knew at its start, next to what its closed run knew at its end. */
const carried: Array<{ id: string; before: CampaignStatus; resumed: CampaignStatus }> = [];

/**
 * Checks that a campaign continued from what git recorded when `from` (a marker-file position) was
 * reached: nothing recorded then ran again afterwards, and the campaign completed with experiments
 * 1..BUDGET recorded exactly once.
 */
async function expectContinuedFromGit(c: Campaign, recorded: number[], from: number): Promise<void> {
  const result = (await handle(c).result()) as CampaignResult;
  expect(result.done).toBe(BUDGET);
  expect(countRecords(c.home, c.id, BUDGET)).toEqual({ lost: [], duplicated: [], unexpected: [] });
  expect(resultNumbers(c.home, c.id)).toEqual(Array.from({ length: BUDGET }, (_, i) => i + 1));
  fsckHistory(c.home);
  const after = markerLines(c.marker).slice(from);
  for (const n of recorded) expect(after.filter((l) => l.split(' ')[2] === String(n)), `experiment ${n} ran again`).toEqual([]);
  // The research memory spans both runs: lessons come from every recorded result.
  const lines = await readResults(await openHistory(c.home), c.id);
  expect((await handle(c).query(statusQuery)).lessons).toEqual(computeLessons(lines));
}

/**
 * Resumes a closed campaign with `arlo resume` and checks the new run: it starts where git says
 * the campaign stood, re-runs nothing recorded, and completes.
 */
async function resumeAndFinish(c: Campaign, closedRun: string, state: string): Promise<void> {
  const recorded = resultNumbers(c.home, c.id);
  const next = recorded.length + 1;
  const from = markerLines(c.marker).length;
  await worker(c, HOLD_MS, next);
  const before = await handle(c, closedRun).query(statusQuery);
  expect(before.done, 'the closed run had recorded what git holds').toBe(recorded.length);

  const r = await runArlo(c.cli, 'resume', c.id);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout).toContain(`campaign ${c.id}: resumed after ${state}`);
  const run = (await handle(c).describe()).runId;
  expect(run).not.toBe(closedRun);

  // The new run trains the first unrecorded experiment (held there for a moment by the worker).
  await waitFor(async () => markerLines(c.marker).slice(from).includes(`enter trainExperiment ${next} 1`), `the resumed run to train experiment ${next}`, 60_000, 50);
  const resumed = await handle(c).query(statusQuery);
  expect(standing(resumed)).toEqual(standing(before));
  expect(resumed.running.map((e) => e.n)).toEqual([next]);
  expect(resumed.phase).toBe('running');
  carried.push({ id: c.id, before, resumed });

  await expectContinuedFromGit(c, recorded, from);
}

describe.concurrent('arlo resume (real CLI, real dev server)', () => {
  it('a terminated campaign resumes from its last record; resume on a running or completed campaign does nothing', async () => {
    const c = campaign('term');
    const first$ = await worker(c, HOLD_FOREVER);
    await startTestCampaign(env.client, testConfig(c.id, { budget: { experiments: BUDGET } }), c.base.queues);
    await waitForMarker(c.marker, 'enter trainExperiment 3 1');
    const first = (await handle(c).describe()).runId;

    const running = await runArlo(c.cli, 'resume', c.id);
    expect(running.code, running.stderr).toBe(0);
    expect(running.stdout).toContain(`campaign ${c.id} is running; nothing to resume`);
    expect((await handle(c).describe()).runId).toBe(first);

    const t = await runTemporal(env.address, 'workflow', 'terminate', '--workflow-id', `campaign-${c.id}`, '--reason', 'test: terminated mid-run');
    expect(t.code, t.stderr).toBe(0);
    expect(await statusName(c, first)).toBe('TERMINATED');
    await first$.kill9();
    await resumeAndFinish(c, first, 'terminated');

    const completed = await runArlo(c.cli, 'resume', c.id);
    expect(completed.code, completed.stderr).toBe(0);
    expect(completed.stdout).toContain(`campaign ${c.id} completed; nothing to resume`);
    expect(await statusName(c)).toBe('COMPLETED');
  });

  it('a failed campaign (an experiment workflow terminated by hand) resumes from its last record', async () => {
    const c = campaign('failed');
    const first$ = await worker(c, HOLD_FOREVER);
    await startTestCampaign(env.client, testConfig(c.id, { budget: { experiments: BUDGET } }), c.base.queues);
    await waitForMarker(c.marker, 'enter trainExperiment 3 1');
    const first = (await handle(c).describe()).runId;
    const t = await runTemporal(env.address, 'workflow', 'terminate', '--workflow-id', `${c.id}-exp-3`, '--reason', 'test: a stuck training ended by hand');
    expect(t.code, t.stderr).toBe(0);
    await waitFor(async () => (await statusName(c, first)) === 'FAILED', 'the campaign to fail', 30_000);
    await first$.kill9();
    await resumeAndFinish(c, first, 'failed');
  });

  it('a timed-out campaign resumes from its last record', async () => {
    const c = campaign('timeout');
    // Experiment 3 waits far longer than the campaign may run: the workflow times out meanwhile.
    const first$ = await worker(c, HOLD_FOREVER);
    await startTestCampaign(env.client, testConfig(c.id, { budget: { experiments: BUDGET } }), c.base.queues, {
      workflowExecutionTimeout: '40 seconds',
    });
    const first = (await handle(c).describe()).runId;
    await waitFor(async () => (await statusName(c, first)) === 'TIMED_OUT', 'the campaign to time out', 90_000, 500);
    await first$.kill9();
    await resumeAndFinish(c, first, 'timed out');
  });

  it("the README's `temporal workflow reset` examples: a running campaign reset to its first workflow task, a completed one rewound", async () => {
    const c = campaign('reset');
    const first$ = await worker(c, HOLD_FOREVER);
    await startTestCampaign(env.client, testConfig(c.id, { budget: { experiments: BUDGET } }), c.base.queues);
    await waitForMarker(c.marker, 'enter trainExperiment 3 1');
    const first = (await handle(c).describe()).runId;
    const recorded = resultNumbers(c.home, c.id);
    expect(recorded).toEqual([1, 2]);
    await first$.kill9();
    const from = markerLines(c.marker).length;
    await worker(c, 0);

    // As in the README: find the experiments in flight, end them (a reset leaves them running, and
    // the new run could not start them again), then reset to the first workflow task.
    const described = await runTemporal(env.address, 'workflow', 'describe', '--workflow-id', `campaign-${c.id}`);
    expect(described.code, described.stderr).toBe(0);
    const inFlight = [...new Set(described.stdout.match(new RegExp(`\\b${c.id}-exp-\\d+(-holdout)?\\b`, 'g')) ?? [])];
    const pending = (await handle(c).describe()).raw.pendingChildren ?? [];
    expect(inFlight).toEqual(pending.map((p) => p.workflowId));
    expect(inFlight).toEqual([`${c.id}-exp-3`]);
    for (const workflowId of inFlight) {
      const t = await runTemporal(env.address, 'workflow', 'terminate', '--workflow-id', workflowId, '--reason', `reset campaign ${c.id}`);
      expect(t.code, t.stderr).toBe(0);
    }
    const r = await runTemporal(env.address, 'workflow', 'reset', '--workflow-id', `campaign-${c.id}`, '--type', 'FirstWorkflowTask', '--reason', 'rebuild from git after a bad deploy');
    expect(r.code, r.stderr).toBe(0);
    const reset = (await handle(c).describe()).runId;
    expect(reset).not.toBe(first);
    expect(await statusName(c, first)).toBe('TERMINATED');
    await expectContinuedFromGit(c, recorded, from);

    // Rewound to the workflow task that started experiment 4 (the README's --event-id form): the
    // experiments after that point train again, and git keeps one record of each.
    const events = (await handle(c).fetchHistory()).events ?? [];
    const startFour = events.findIndex((e) => e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId === `${c.id}-exp-4`);
    expect(startFour).toBeGreaterThan(0);
    const taskBefore = events.slice(0, startFour).reverse().find((e) => e.workflowTaskCompletedEventAttributes);
    const eventId = String(taskBefore!.eventId);
    const rewindFrom = markerLines(c.marker).length;
    const rewind = await runTemporal(env.address, 'workflow', 'reset', '--workflow-id', `campaign-${c.id}`, '--event-id', eventId, '--reason', 'rewind to experiment 4');
    expect(rewind.code, rewind.stderr).toBe(0);
    const result = (await handle(c).result()) as CampaignResult;
    expect(result.done).toBe(BUDGET);
    expect(markerLines(c.marker).slice(rewindFrom)).toContain('enter trainExperiment 4 1');
    expect(countRecords(c.home, c.id, BUDGET)).toEqual({ lost: [], duplicated: [], unexpected: [] });
    fsckHistory(c.home);
  });
});

describe('what a resumed run knows at its start', () => {
  // Runs after the campaigns above (their champion identity, counts, budget and recent results
  // were checked there), on the status each resumed run answered right after it started.

  it("the closed run's lessons (status.lessons), before its first new record", () => {
    // Needs activities/rebuild-state.ts to set `state.lessons = computeLessons(lines)`; until then
    // a resumed campaign shows no lessons until it records its next experiment.
    expect(carried.map((x) => x.id).sort()).toEqual(['failed', 'term', 'timeout']);
    for (const { id, before, resumed } of carried) {
      expect(before.lessons.length, `${id}: the closed run had lessons`).toBeGreaterThan(0);
      expect.soft(resumed.lessons, `${id}: lessons right after resume`).toEqual(before.lessons);
    }
  });

  it("the closed run's champion and baseline with their evidence (per-seed metrics, spread, holdout)", () => {
    // results.jsonl keeps seedMetrics/spread only for campaigns with 2+ seeds and never the
    // holdout value (holdout.json has it), so a resumed run's champion loses them.
    expect(carried).toHaveLength(3);
    for (const { id, before, resumed } of carried) {
      expect.soft(resumed.champion, `${id}: champion right after resume`).toEqual(before.champion);
      expect.soft(resumed.baseline, `${id}: baseline right after resume`).toEqual(before.baseline);
    }
  });
});
