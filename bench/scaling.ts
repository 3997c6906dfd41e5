import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { getTemplate } from '../experiments/index.ts';
import { tempHome } from '../test/helpers/temporal-env.ts';
import { createArloWorker, workflowBundle, type ArloWorker } from '../worker.ts';
import type { CampaignInput } from '../workflows/types.ts';
import type { BenchSection } from './report.ts';

// Parallel scaling: experiments per hour of a real campaign (real TF.js training) with one
// training slot, two slots on one worker, and two workers of one slot each against one server.

interface Setup {
  label: string;
  workers: number;
  slotsPerWorker: number;
}

const SETUPS: Setup[] = [
  { label: '1 worker, 1 slot', workers: 1, slotsPerWorker: 1 },
  { label: '1 worker, 2 slots', workers: 1, slotsPerWorker: 2 },
  { label: '2 workers, 1 slot each', workers: 2, slotsPerWorker: 1 },
];

export async function benchScaling(
  env: TestWorkflowEnvironment,
  opts: { template: string; experiments: number; dataDir: string },
): Promise<BenchSection> {
  const bundle = await workflowBundle();
  const rows: Array<Array<string | number>> = [];
  const json: unknown[] = [];
  let base = 0;
  for (const [i, setup] of SETUPS.entries()) {
    const home = tempHome('arlo-bench-scaling-');
    const queues = { main: `bench-scale-${i}`, training: `bench-scale-train-${i}` };
    const workers: ArloWorker[] = [];
    for (let w = 0; w < setup.workers; w++) {
      workers.push(
        await createArloWorker({
          address: env.address,
          namespace: 'default',
          slots: setup.slotsPerWorker,
          taskQueues: queues,
          workflowBundle: bundle,
          context: { home, dataDir: opts.dataDir },
        }),
      );
    }
    const running = workers.map((w) => w.run());
    try {
      const concurrency = setup.workers * setup.slotsPerWorker;
      const input: CampaignInput = {
        config: {
          id: `scaling-${i}`,
          experiment: opts.template,
          agent: 'random',
          seed: 3,
          budget: { experiments: opts.experiments, minutes: null },
          concurrency,
          agentOptions: {},
        },
        metric: getTemplate(opts.template).metric,
        taskQueues: queues,
      };
      const started = Date.now();
      await env.client.workflow.execute('campaignWorkflow', {
        workflowId: `campaign-scaling-${i}`,
        taskQueue: queues.main,
        args: [input],
      });
      const seconds = (Date.now() - started) / 1000;
      const perHour = (opts.experiments / seconds) * 3600;
      if (i === 0) base = perHour;
      rows.push([setup.label, concurrency, seconds, perHour, `${(perHour / base).toFixed(2)}×`]);
      json.push({ ...setup, seconds, perHour });
      process.stderr.write(`  scaling: ${setup.label}: ${seconds.toFixed(1)} s\n`);
    } finally {
      for (const w of workers) w.shutdown();
      await Promise.all(running);
    }
  }
  return {
    title: `3. Parallel scaling: ${opts.experiments} experiments of ${opts.template}, one Temporal server`,
    columns: ['setup', 'trainings at once', 'wall s', 'experiments / hour', 'vs 1 slot'],
    rows,
    notes: [
      'the baseline (experiment 1) always trains alone; later experiments run as many at once as the campaign concurrency',
      'two workers share this machine\'s 2 cores: "2 workers" measures the protocol, not extra hardware',
    ],
    json,
  };
}
