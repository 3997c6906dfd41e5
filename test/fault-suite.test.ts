import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedServer, type EmbeddedServer } from '../server/embedded-server.ts';
import type { CampaignResult } from '../workflows/types.ts';
import { countRecords, fsckHistory, startTestCampaign, testConfig, type RecordCount } from './helpers/campaign-checks.ts';
import type { FaultWorkerOptions } from './helpers/fault-worker.ts';
import { freePort, tempHome, waitFor } from './helpers/temporal-env.ts';
import { markerLines, spawnFaultWorker, waitForMarker, writeWorkflowBundle, type WorkerProcess } from './helpers/worker-process.ts';

// The fault suite: many small campaigns (smoke template, 4 experiments, one ARLO_HOME each), each
// hit by one fault at a chosen moment, then left to finish:
//   - kill -9 of the worker process during propose, training or record (before the work, in the
//     middle of it, or after it was done but before Temporal heard of it); a fresh worker finishes;
//   - the Temporal dev server restarted (SIGTERM) or crashed (SIGKILL) mid-campaign, then started
//     again on the same db file;
//   - one history write failing for real (a stale ref lock, or a blocked temporary folder): the
//     record activity fails, is retried, and leaves no partial commit.
// After each trial: the workflow completed, experiments 1..4 are recorded exactly once (results.jsonl
// lines and commits on campaign/<id>), and `git fsck --strict` is clean.
//
// Moments are drawn from a seed printed in the log (ARLO_FAULT_SEED=<n> replays a run's choices).
// A worker killed during propose or record is only noticed when the activity's start-to-close
// timeout (set by the campaign workflow) expires; the suite runs those trials in parallel so that
// wait is paid once.

const BUDGET = 4;
const SEED = Number(process.env.ARLO_FAULT_SEED ?? Math.floor(Math.random() * 1_000_000));
const DATA_DIR = process.env.ARLO_DATA_DIR ?? join(import.meta.dirname, '..', '..', 'shared', 'data');
const T0 = Date.now();

type KillActivity = 'propose' | 'trainExperiment' | 'recordExperiment';
type Phase = 'enter' | 'mid' | 'done';

type Fault =
  | { kind: 'kill'; activity: KillActivity; n: number; phase: Phase; delayMs: number }
  | { kind: 'server'; how: 'restart' | 'crash'; n: number; delayMs: number }
  | { kind: 'history'; how: 'ref-lock' | 'tmp-blocked'; n: number };

interface Trial {
  index: number;
  id: string;
  fault: Fault;
}

interface Outcome {
  trial: Trial;
  ok: boolean;
  error?: string;
  /** Where a kill landed: before, inside or after the activity's real work. */
  landed?: string;
  /** From the fault to the retried attempt of the activity it hit. */
  recoveryMs?: number;
  durationMs: number;
  records?: RecordCount;
}

/** mulberry32: a small seeded PRNG, so a seed replays the same moments. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function plan(seed: number): Trial[] {
  const rand = prng(seed);
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const faults: Fault[] = [];
  // Kills in propose and record wait out a start-to-close timeout: aim them at early experiments so
  // the wait starts soon. Trainings are noticed within their heartbeat timeout.
  // (Experiment 2 is the first one an agent proposes; experiment 1 the first recorded.)
  for (const activity of ['propose', 'recordExperiment', 'propose', 'recordExperiment', 'propose', 'recordExperiment', 'propose', 'recordExperiment'] as const) {
    faults.push({ kind: 'kill', activity, n: activity === 'propose' ? 2 : 1, phase: pick(['enter', 'mid', 'done'] as const), delayMs: int(0, 150) });
  }
  for (let i = 0; i < 4; i++) {
    faults.push({ kind: 'kill', activity: 'trainExperiment', n: int(1, BUDGET), phase: pick(['mid', 'mid', 'done'] as const), delayMs: int(0, 1500) });
  }
  faults.push({ kind: 'server', how: 'restart', n: int(2, 3), delayMs: int(0, 800) });
  faults.push({ kind: 'server', how: 'crash', n: int(2, 3), delayMs: int(0, 800) });
  faults.push({ kind: 'history', how: 'ref-lock', n: int(1, BUDGET) });
  faults.push({ kind: 'history', how: 'tmp-blocked', n: int(1, BUDGET) });
  return faults.map((fault, index) => ({ index, id: `fault-${index}`, fault }));
}

function describeFault(f: Fault): string {
  if (f.kind === 'kill') return `kill -9 in ${f.activity} ${f.n} (${f.phase}${f.phase === 'mid' ? ` +${f.delayMs} ms` : ''})`;
  if (f.kind === 'server') return `server ${f.how} during training ${f.n} (+${f.delayMs} ms)`;
  return `history write fails (${f.how}) recording ${f.n}`;
}

function log(message: string): void {
  console.log(`[fault +${((Date.now() - T0) / 1000).toFixed(1)}s] ${message}`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let root: string;
let shared: EmbeddedServer;
let sharedClient: Client;
let bundlePath: string;
const workers: WorkerProcess[] = [];
const servers: EmbeddedServer[] = [];

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'arlo-fault-suite-'));
  shared = await startServer(join(root, 'server'));
  servers.push(shared);
  sharedClient = new Client({ connection: await Connection.connect({ address: shared.address }) });
  bundlePath = await writeWorkflowBundle(root);
});

afterAll(async () => {
  await Promise.all(workers.map((w) => w.kill9()));
  await sharedClient?.connection.close();
  await Promise.all(servers.map((s) => s.stop?.()));
  if (root && existsSync(root)) rmSync(root, { recursive: true, force: true });
});

/** The embedded dev server (the one `arlo server` runs) with its db file in `dir`. */
async function startServer(dir: string, port?: number): Promise<EmbeddedServer> {
  mkdirSync(dir, { recursive: true });
  return startEmbeddedServer({ home: dir, port: port ?? (await freePort()), uiPort: false, foreground: true });
}

async function worker(opts: FaultWorkerOptions): Promise<WorkerProcess> {
  const w = await spawnFaultWorker(opts);
  workers.push(w);
  return w;
}

/** The campaign's result; retried while a restarting server does not answer. */
async function campaignResult(address: () => string, id: string, timeoutMs: number): Promise<CampaignResult> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const connection = await Connection.connect({ address: address() }).catch(() => null);
    try {
      if (connection) return (await new Client({ connection }).workflow.getHandle(`campaign-${id}`).result()) as CampaignResult;
    } catch (err) {
      if (Date.now() > deadline || !/UNAVAILABLE|connect|ECONNREFUSED|14 /i.test(String((err as Error).message))) throw err;
    } finally {
      await connection?.close().catch(() => undefined);
    }
    if (Date.now() > deadline) throw new Error(`campaign ${id} did not finish within ${timeoutMs} ms`);
    await sleep(500);
  }
}

async function runTrial(trial: Trial): Promise<Outcome> {
  const started = Date.now();
  const { fault, id } = trial;
  const home = tempHome(`arlo-fault-${trial.index}-`);
  const marker = join(home, 'marker.txt');
  const queues = { main: `fault-${trial.index}`, training: `fault-${trial.index}-train` };
  const outcome: Outcome = { trial, ok: false, durationMs: 0 };
  let server = shared;
  let client = sharedClient;
  const own: Connection[] = [];
  const procs: WorkerProcess[] = [];
  let holding = false;
  const hold = async () => {
    if (!holding) await busy.acquire();
    holding = true;
  };
  const letGo = () => {
    if (holding) busy.release();
    holding = false;
  };
  try {
    await hold();
    if (fault.kind === 'server') {
      server = await startServer(join(home, 'server'));
      servers.push(server);
      const connection = await Connection.connect({ address: server.address });
      own.push(connection);
      client = new Client({ connection });
    }
    const base: FaultWorkerOptions = { address: server.address, home, dataDir: DATA_DIR, queues, bundlePath, marker };
    const first: FaultWorkerOptions = { ...base };
    if (fault.kind === 'kill') {
      first.pause = { activity: fault.activity, n: fault.n, beforeMs: fault.phase === 'enter' ? 2000 : 0, afterMs: 2000 };
    }
    if (fault.kind === 'history') first.failRecord = { n: fault.n, how: fault.how };
    procs.push(await worker(first));
    await startTestCampaign(client, testConfig(id, { seed: 100 + trial.index }, { holdout: false }), queues);

    let retried: string | null = null;
    let faultAt = 0;
    let retriedAt: Promise<number> | null = null;
    if (fault.kind === 'kill') {
      await waitForMarker(marker, `${fault.phase === 'done' ? 'done' : 'enter'} ${fault.activity} ${fault.n} 1`);
      if (fault.phase === 'mid') await sleep(fault.delayMs);
      const workDone = markerLines(marker).includes(`done ${fault.activity} ${fault.n} 1`);
      await procs[0]!.kill9();
      faultAt = Date.now();
      expect((await procs[0]!.exited).signal).toBe('SIGKILL');
      outcome.landed = fault.phase === 'enter' ? 'before the work' : workDone ? 'after the work, before completion' : 'inside the work';
      log(`${id}: ${describeFault(fault)}: worker ${procs[0]!.pid} killed ${outcome.landed}`);
      retried = `enter ${fault.activity} ${fault.n} 2`;
      retriedAt = waitForMarker(marker, retried, 8 * 60_000, 200).then(() => Date.now(), () => 0);
      letGo();
      if (fault.activity !== 'trainExperiment') {
        // Nothing happens before the killed attempt's start-to-close timeout: start the fresh
        // worker when it is this trial's turn again, after the others' early moments.
        await hold();
        procs.push(await worker(base));
        letGo();
      } else {
        procs.push(await worker(base));
      }
    } else if (fault.kind === 'server') {
      await waitForMarker(marker, `enter trainExperiment ${fault.n} 1`);
      await sleep(fault.delayMs);
      if (fault.how === 'crash') {
        server.child!.kill('SIGKILL');
        await server.exited;
      } else {
        await server.stop!();
      }
      faultAt = Date.now();
      log(`${id}: ${describeFault(fault)}: server down`);
      await sleep(1000);
      const again = await startServer(dirname(server.dbPath), server.port);
      servers.push(again);
      server = again;
      log(`${id}: server up again on the same db after ${Date.now() - faultAt} ms`);
      letGo();
    } else {
      retried = `enter recordExperiment ${fault.n} 2`;
      await waitFor(async () => markerLines(marker).some((l) => l.startsWith(`failed recordExperiment ${fault.n} `)), 'the history write to fail', 120_000);
      letGo();
    }

    const result = await campaignResult(() => server.address, id, 8 * 60_000);
    outcome.durationMs = Date.now() - started;
    if (retried) {
      const at = await waitForMarker(marker, retried, 1000).catch(() => 0);
      if (!at) throw new Error(`the faulted activity was not retried ("${retried}" missing)`);
      if (fault.kind === 'history') {
        const failed = markerLines(marker).find((l) => l.startsWith(`failed recordExperiment ${fault.n} ${fault.how}`));
        if (!failed) throw new Error('the history write did not fail');
        outcome.landed = failed.replace(/^failed recordExperiment \d+ \S+: /, '').slice(0, 34);
      }
    }
    if (retriedAt) outcome.recoveryMs = (await retriedAt) - faultAt;
    expect(result.done, `${id}: experiments done`).toBe(BUDGET);
    outcome.records = countRecords(home, id, BUDGET);
    fsckHistory(home);
    expect(existsSync(join(home, 'history', '.git', 'refs', 'heads', 'campaign', `${id}.lock`))).toBe(false);
    outcome.ok = outcome.records.lost.length === 0 && outcome.records.duplicated.length === 0 && outcome.records.unexpected.length === 0;
    if (!outcome.ok) outcome.error = `records: ${JSON.stringify(outcome.records)}`;
    log(`${id}: completed in ${(outcome.durationMs / 1000).toFixed(1)} s; ${outcome.ok ? 'each experiment recorded once' : outcome.error}`);
  } catch (err) {
    outcome.durationMs = Date.now() - started;
    outcome.error = `${(err as Error).message}\n--- markers:\n${markerLines(marker).join('\n')}\n--- worker output:\n${procs
      .map((p) => p.output().slice(-3000))
      .join('\n---\n')}`;
    log(`${id}: FAILED: ${(err as Error).message}`);
  } finally {
    letGo();
    await Promise.all(procs.map((p) => p.stop()));
    await Promise.all(own.map((c) => c.close().catch(() => undefined)));
    if (fault.kind === 'server') await server.stop?.();
  }
  return outcome;
}

/**
 * At most `limit` holders at once (FIFO). A trial holds a slot from its start until its fault is
 * injected: starting a worker process costs seconds of CPU, and a dozen at once on 2 cores would
 * starve each other (and blur the moments the faults aim at).
 */
function semaphore(limit: number) {
  let free = limit;
  const waiting: Array<() => void> = [];
  return {
    async acquire(): Promise<void> {
      if (free > 0) {
        free--;
        return;
      }
      await new Promise<void>((resolve) => waiting.push(resolve));
    },
    release(): void {
      const next = waiting.shift();
      if (next) next();
      else free++;
    },
  };
}
const busy = semaphore(4);

describe('fault suite', () => {
  it(
    'every campaign survives its fault: completed, experiments recorded exactly once, git fsck clean',
    async () => {
      // ARLO_FAULT_ONLY=3,12 runs only those trials (debugging).
      const only = process.env.ARLO_FAULT_ONLY?.split(',').map(Number);
      const trials = plan(SEED).filter((t) => !only || only.includes(t.index));
      log(`seed ${SEED} (replay with ARLO_FAULT_SEED=${SEED}); ${trials.length} trials:`);
      for (const t of trials) log(`  ${t.id}: ${describeFault(t.fault)}`);

      // All trials run at once, taking turns until their fault is injected (see `busy`); the kills
      // that wait out a start-to-close timeout queue first, so their wait starts early.
      const outcomes = await Promise.all(trials.map((t) => runTrial(t)));

      const kills = outcomes.filter((o) => o.trial.fault.kind === 'kill');
      const byActivity = (a: KillActivity) => kills.filter((o) => (o.trial.fault as { activity: string }).activity === a).length;
      const lost = outcomes.reduce((s, o) => s + (o.records?.lost.length ?? BUDGET), 0);
      const duplicated = outcomes.reduce((s, o) => s + (o.records?.duplicated.length ?? 0), 0);
      for (const o of outcomes) {
        const recovery = o.recoveryMs ? `, retried after ${(o.recoveryMs / 1000).toFixed(1)} s` : '';
        log(
          `  ${o.trial.id.padEnd(9)} ${describeFault(o.trial.fault).padEnd(48)} ${(o.landed ?? '').padEnd(34)} ` +
            `${(o.durationMs / 1000).toFixed(0)} s${recovery}${o.ok ? '' : '  FAILED'}`,
        );
      }
      const summary =
        `fault suite (seed ${SEED}): ${outcomes.length} trials, ${outcomes.length} faults injected ` +
        `(${kills.length} kill -9: ${byActivity('propose')} in propose, ${byActivity('trainExperiment')} in training, ${byActivity('recordExperiment')} in record; ` +
        `${outcomes.filter((o) => o.trial.fault.kind === 'server').length} server restarts; ` +
        `${outcomes.filter((o) => o.trial.fault.kind === 'history').length} history-write failures); ` +
        `experiments lost ${lost}, duplicated ${duplicated}`;
      log(summary);

      for (const o of outcomes) expect(o.error ?? '', `${o.trial.id}: ${describeFault(o.trial.fault)}`).toBe('');
      if (!only) expect(kills.length).toBeGreaterThanOrEqual(10);
      expect(lost).toBe(0);
      expect(duplicated).toBe(0);
    },
    9.5 * 60_000,
  );
});
