import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterEach, describe, expect, it } from 'vitest';
import { openHistory, readResults } from '../history/index.ts';
import type { CampaignResult, CampaignStatus } from '../workflows/types.ts';
import { freePort, tempHome, waitFor } from './helpers/temporal-env.ts';

// The acceptance steps of the research loop, as a user would run them: real `arlo` processes,
// the embedded Temporal server, `kill -9` of a worker in the middle of a training, and a server
// restart on the same db file mid-campaign.

const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'arlo.js');
const children: ChildProcess[] = [];


async function arloEnv() {
  const port = await freePort();
  return {
    ...process.env,
    ARLO_HOME: tempHome('arlo-e2e-'),
    ARLO_TEMPORAL_PORT: String(port),
    ARLO_TEMPORAL_UI_PORT: String(await freePort()),
    TEMPORAL_ADDRESS: '',
    NO_COLOR: '1',
  } as NodeJS.ProcessEnv;
}

function arlo(env: NodeJS.ProcessEnv, ...args: string[]): string {
  return execFileSync(process.execPath, [BIN, ...args], { env, encoding: 'utf8', timeout: 120_000 });
}

function spawnWorker(env: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(process.execPath, [BIN, 'worker', '--slots', '1'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.resume();
  child.stderr!.resume();
  children.push(child);
  return child;
}

async function client(env: NodeJS.ProcessEnv) {
  const connection = await Connection.connect({ address: `127.0.0.1:${env.ARLO_TEMPORAL_PORT}` });
  return { connection, client: new Client({ connection }) };
}

async function recordedNumbers(home: string, id: string): Promise<number[]> {
  const lines = await readResults(await openHistory(home), id).catch(() => []);
  return lines.map((l) => l.n).sort((a, b) => a - b);
}

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

describe('durability (real arlo processes and the embedded server)', () => {
  it('a worker killed with SIGKILL while training: a new worker finishes the campaign, each experiment recorded once', async () => {
    const env = await arloEnv();
    arlo(env, 'server', 'start');
    try {
      spawnWorker(env);
      const started = arlo(env, 'start', '--experiment', 'smoke', '--agent', 'evolution', '--budget', '4', '--id', 'k9');
      expect(started).toContain('started campaign k9');
      const { connection, client: c } = await client(env);
      try {
        const handle = c.workflow.getHandle('campaign-k9');
        // wait until experiment 2 is training on the worker, then kill it mid-activity
        const training = await waitFor(async () => {
          const s = await handle.query<CampaignStatus>('status');
          const exp = s.running.find((r) => r.n >= 2);
          if (!exp) return undefined;
          const d = await c.workflow.getHandle(exp.workflowId).describe();
          const pending = d.raw.pendingActivities?.[0];
          // PENDING_ACTIVITY_STATE_STARTED: a worker has picked the training up
          return pending && Number(pending.state) === 2 ? exp : undefined;
        }, 'experiment 2 to start training', 90_000, 50);
        children[0]!.kill('SIGKILL');
        await new Promise((r) => children[0]!.once('exit', r));

        spawnWorker(env);
        const result = (await handle.result()) as CampaignResult;
        expect(result.done).toBe(4);
        expect(await recordedNumbers(env.ARLO_HOME!, 'k9')).toEqual([1, 2, 3, 4]);

        // the killed training was retried, not lost: its activity ran more than once
        const history = await c.workflow.getHandle(training.workflowId).fetchHistory();
        const attempts = history.events!.filter((e) => e.activityTaskStartedEventAttributes).map(
          (e) => e.activityTaskStartedEventAttributes!.attempt ?? 0,
        );
        expect(Math.max(...attempts)).toBeGreaterThanOrEqual(2);
        const commits = execFileSync('git', ['-C', join(env.ARLO_HOME!, 'history'), 'rev-list', '--count', 'campaign/k9'], {
          encoding: 'utf8',
        });
        expect(Number(commits)).toBe(5);
        execFileSync('git', ['-C', join(env.ARLO_HOME!, 'history'), 'fsck', '--strict']);
      } finally {
        await connection.close();
      }
    } finally {
      arlo(env, 'server', 'stop');
    }
  });

  it('the embedded server stopped and started again on the same db: the campaign continues to its budget', async () => {
    const env = await arloEnv();
    arlo(env, 'server', 'start');
    try {
      spawnWorker(env);
      arlo(env, 'start', '--experiment', 'smoke', '--budget', '6', '--id', 'restart');
      await waitFor(async () => ((await recordedNumbers(env.ARLO_HOME!, 'restart')).length >= 2 ? true : undefined), 'two records', 90_000);
      let t = Date.now();
      expect(arlo(env, 'server', 'stop')).toContain('stopped');
      console.log(`stop took ${Date.now() - t} ms`);
      await new Promise((r) => setTimeout(r, 2000));
      t = Date.now();
      arlo(env, 'server', 'start');
      console.log(`start took ${Date.now() - t} ms`);
      t = Date.now();

      const { connection, client: c } = await client(env);
      try {
        const result = (await c.workflow.getHandle('campaign-restart').result()) as CampaignResult;
        expect(result.done).toBe(6);
        console.log(`finish took ${Date.now() - t} ms`);
      } finally {
        await connection.close();
      }
      expect(await recordedNumbers(env.ARLO_HOME!, 'restart')).toEqual([1, 2, 3, 4, 5, 6]);
      const list = arlo(env, 'list');
      expect(list).toContain('restart');
      expect(list).toContain('completed');
    } finally {
      arlo(env, 'server', 'stop');
    }
  });
});
