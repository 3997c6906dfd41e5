import { EVALUATION_DEFAULTS } from '../../config/campaign-config.ts';
import { openHistory, readExperiment, readResults } from '../../history/index.ts';
import { arloHome, dataDir } from '../../server/arlo-home.ts';
import { createArloWorker } from '../../worker.ts';
import type { CampaignResult } from '../../workflows/types.ts';
import { openClient } from '../client.ts';
import { followCampaign } from '../follow.ts';
import { color, fmtDuration, fmtMetric } from '../format.ts';
import { defaultCampaignId, startCampaign } from '../start-campaign.ts';

export interface DemoOptions {
  experiments: number;
  experiment: string;
  seed: number;
  concurrency: number;
}

/**
 * `arlo demo`: nothing to configure. Starts the embedded Temporal server if needed, runs a worker
 * in this process, and runs an evolution campaign on deep-mlp with live progress.
 */
export async function demoCommand(opts: DemoOptions): Promise<void> {
  const started = Date.now();
  const c = await openClient({ start: true });
  const home = arloHome();
  const worker = await createArloWorker({
    address: c.address,
    namespace: c.namespace,
    slots: opts.concurrency,
    context: { home, dataDir: dataDir() },
  });
  const running = worker.run();
  const id = defaultCampaignId(`demo-${opts.experiment}`);
  try {
    await startCampaign(c, {
      id,
      experiment: opts.experiment,
      agent: 'evolution',
      seed: opts.seed,
      budget: { experiments: opts.experiments, minutes: null },
      concurrency: opts.concurrency,
      agentOptions: {},
      evaluation: { ...EVALUATION_DEFAULTS },
    });
    console.log(
      `${color.bold('arlo demo')}: campaign ${color.bold(id)}: evolution agent on ${opts.experiment}, ` +
        `${opts.experiments} experiments, ${opts.concurrency} at a time`,
    );
    console.log(`  Temporal ${c.address}${c.uiUrl ? `, Web UI ${c.uiUrl}/namespaces/${c.namespace}/workflows` : ''}`);
    console.log(
      `  experiment 1 trains the baseline on ${EVALUATION_DEFAULTS.seeds} seeds (its spread is the noise floor); each later one ` +
        `trains a proposal on the same seeds and is kept only if a ${EVALUATION_DEFAULTS.test} test at α=${EVALUATION_DEFAULTS.alpha} says it is better\n`,
    );
    const result = await followCampaign(c, id);
    await printSummary(result, home, c.uiUrl, c.namespace, Date.now() - started);
  } finally {
    worker.shutdown();
    await running.catch(() => undefined);
    await c.close();
  }
}

async function printSummary(
  result: CampaignResult,
  home: string,
  uiUrl: string | undefined,
  namespace: string,
  elapsedMs: number,
): Promise<void> {
  const repo = await openHistory(home);
  const lines = await readResults(repo, result.campaignId);
  const metricName = lines[0]?.metricName ?? 'metric';
  const { baseline, champion } = result;
  console.log(`\n${color.bold('Summary')} (${result.done} experiments in ${fmtDuration(elapsedMs)})`);
  const sd = (x: number | null | undefined) => (x == null ? '' : ` ± ${fmtMetric(x)}`);
  console.log(`  baseline  #${baseline?.n ?? '—'}  ${metricName}=${fmtMetric(baseline?.metric)}${sd(baseline?.spread)} (the noise floor)`);
  if (champion && baseline) {
    const gain = champion.metric - baseline.metric;
    const holdout = champion.holdout == null ? '' : `; hidden holdout ${fmtMetric(champion.holdout)}`;
    console.log(
      `  best      #${champion.n}  ${metricName}=${fmtMetric(champion.metric)}${sd(champion.spread)}  (${gain >= 0 ? '+' : ''}${fmtMetric(gain)}${holdout})`,
    );
    const path = await championLineage(repo, result.campaignId, champion.n);
    if (path.length > 0) {
      console.log('  edits that made the difference (baseline → best):');
      for (const step of path) {
        const note = step.status === 'kept' ? '' : color.dim(` (${step.status}, kept as a parent by evolution)`);
        console.log(`    #${step.n}: ${step.edits.join('; ') || '(no edits)'}  → ${fmtMetric(step.metric)}${note}`);
      }
    } else {
      console.log('  no proposal beat the baseline this time');
    }
  }
  console.log(`  history   git -C ${repo.dir} log --oneline campaign/${result.campaignId}`);
  console.log(`            arlo history ${result.campaignId}`);
  if (uiUrl) console.log(`  Web UI    ${uiUrl}/namespaces/${namespace}/workflows/campaign-${result.campaignId}`);
}

/** The chain of kept experiments from the baseline to the champion, following proposal parents. */
async function championLineage(repo: Awaited<ReturnType<typeof openHistory>>, campaignId: string, championN: number) {
  const steps: Array<{ n: number; edits: string[]; metric: number | null; status: string }> = [];
  let n: number | null = championN;
  while (n !== null && steps.length < 100) {
    const rec = await readExperiment(repo, campaignId, n);
    if (!rec) break;
    const proposal = rec.proposal as { parent?: number | null; editDescriptions?: string[] };
    if (proposal.parent === null || proposal.parent === undefined) break;
    steps.unshift({ n, edits: proposal.editDescriptions ?? [], metric: rec.metric, status: rec.status });
    n = proposal.parent;
  }
  return steps;
}
