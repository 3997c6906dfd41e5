import protoPackage from '@temporalio/proto';
import type { temporal as TemporalProto } from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { getTemplate } from '../experiments/index.ts';
import { createArloWorker, workflowBundle } from '../worker.ts';
import type { CampaignInput } from '../workflows/types.ts';
import { tempHome } from '../test/helpers/temporal-env.ts';
import { percentile, type BenchSection } from './report.ts';

// Orchestration overhead per experiment: a campaign whose trainer returns at once, through the real
// Temporal dev server, real proposals and real git records. Each experiment's time is split from
// the workflow histories into propose, child workflow, decision and record.

type HistoryEvent = TemporalProto.api.history.v1.IHistoryEvent;
// @temporalio/proto is CommonJS: its namespace comes through the default export under ESM.
const EventType = protoPackage.temporal.api.enums.v1.EventType;

function ms(e: HistoryEvent): number {
  const t = e.eventTime!;
  return Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6);
}

export async function benchOverhead(env: TestWorkflowEnvironment, experiments: number): Promise<BenchSection> {
  const home = tempHome('arlo-bench-overhead-');
  const queues = { main: 'bench-overhead', training: 'bench-overhead-train' };
  const worker = await createArloWorker({
    address: env.address,
    namespace: 'default',
    slots: 1,
    taskQueues: queues,
    workflowBundle: await workflowBundle(),
    context: { home, dataDir: home },
    activityOverrides: {
      // A trainer that returns at once, with a metric that varies so decisions go both ways.
      async trainExperiment(input) {
        const metric = 0.5 + ((input.n * 7919) % 100) / 1000;
        return { metrics: { val_accuracy: metric, val_loss: 1 - metric, train_loss: 1 }, curve: [], backend: 'none', params: 0 };
      },
    },
  });
  const running = worker.run();
  const id = 'overhead';
  try {
    const input: CampaignInput = {
      config: {
        id,
        experiment: 'smoke',
        agent: 'evolution',
        seed: 1,
        budget: { experiments, minutes: null },
        concurrency: 1,
        agentOptions: {},
      },
      metric: getTemplate('smoke').metric,
      taskQueues: queues,
    };
    const started = Date.now();
    await env.client.workflow.execute('campaignWorkflow', { workflowId: `campaign-${id}`, taskQueue: queues.main, args: [input] });
    const wallMs = Date.now() - started;

    // Walk every run of the campaign (continue-as-new splits it every 50 experiments).
    const events: HistoryEvent[] = [];
    for await (const wf of env.client.workflow.list({ query: `WorkflowId = 'campaign-${id}'` })) {
      const h = await env.client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
      events.push(...(h.events ?? []));
    }
    events.sort((a, b) => ms(a) - ms(b) || Number(a.eventId) - Number(b.eventId));
    const rows = splitPerExperiment(events);
    const col = (k: keyof (typeof rows)[number]) => rows.map((r) => r[k]);
    const total = col('total');
    const median = percentile(total, 50);
    return {
      title: `1. Orchestration overhead per experiment (${rows.length} experiments, trainer returns at once)`,
      columns: ['step', 'median ms', 'p90 ms'],
      rows: [
        ['propose (activity: read git, agent)', percentile(col('propose'), 50), percentile(col('propose'), 90)],
        ['experiment child workflow', percentile(col('child'), 50), percentile(col('child'), 90)],
        ['decision (workflow task)', percentile(col('decision'), 50), percentile(col('decision'), 90)],
        ['record (activity: git commit)', percentile(col('record'), 50), percentile(col('record'), 90)],
        ['total per experiment', median, percentile(total, 90)],
      ],
      notes: [
        `campaign wall time ${(wallMs / 1000).toFixed(1)} s for ${rows.length} experiments`,
        `overhead as a share of a 5 s experiment: ${((100 * median) / (5000 + median)).toFixed(1)}%`,
      ],
      json: { experiments: rows.length, wallMs, perExperiment: rows },
    };
  } finally {
    worker.shutdown();
    await running;
  }
}

interface Split {
  propose: number;
  child: number;
  decision: number;
  record: number;
  total: number;
}

/** Pairs scheduled/completed events in order: propose → child → record, one triple per experiment. */
function splitPerExperiment(events: HistoryEvent[]): Split[] {
  const scheduled = new Map<string, { name: string; at: number }>();
  const byName: Record<string, Array<{ start: number; end: number }>> = { propose: [], recordExperiment: [] };
  const childSpans: Array<{ start: number; end: number }> = [];
  const childStart = new Map<string, number>();
  for (const e of events) {
    if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) {
      scheduled.set(String(e.eventId), { name: e.activityTaskScheduledEventAttributes!.activityType!.name!, at: ms(e) });
    } else if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED) {
      const s = scheduled.get(String(e.activityTaskCompletedEventAttributes!.scheduledEventId));
      if (s && byName[s.name]) byName[s.name]!.push({ start: s.at, end: ms(e) });
    } else if (e.eventType === EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED) {
      childStart.set(e.startChildWorkflowExecutionInitiatedEventAttributes!.workflowId!, ms(e));
    } else if (e.eventType === EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED) {
      const wid = e.childWorkflowExecutionCompletedEventAttributes!.workflowExecution!.workflowId!;
      childSpans.push({ start: childStart.get(wid)!, end: ms(e) });
    }
  }
  const proposes = byName.propose!;
  const records = byName.recordExperiment!;
  const n = Math.min(proposes.length, childSpans.length, records.length);
  const out: Split[] = [];
  for (let i = 0; i < n; i++) {
    const p = proposes[i]!;
    const c = childSpans[i]!;
    const r = records[i]!;
    out.push({
      propose: p.end - p.start,
      child: c.end - c.start,
      decision: Math.max(0, r.start - c.end),
      record: r.end - r.start,
      total: r.end - p.start,
    });
  }
  return out;
}
