import { getTemplate } from '../../experiments/index.ts';
import type { ExperimentTemplate } from '../../experiments/template.ts';
import { dataDir } from '../../server/arlo-home.ts';
import { UserError } from '../../server/user-error.ts';
import { runTrainingInThread } from '../../training/run-in-thread.ts';
import { color, fmtDuration, fmtMetric } from '../format.ts';
import { openReviewedCampaign, readExperimentOrFail } from '../review.ts';

/** Default largest |new - recorded| that counts as reproduced (seeded TF.js on the same backend). */
export const DEFAULT_RERUN_TOLERANCE = 1e-4;

export interface RerunResult {
  campaignId: string;
  n: number;
  template: string;
  seed: number;
  backend: string;
  epochs: number;
  metricName: string;
  recorded: number | null;
  rerun: number;
  difference: number | null;
  tolerance: number;
  reproduced: boolean;
  /** Every metric of the recorded experiment beside the rerun's. */
  metrics: Array<{ name: string; recorded: number | null; rerun: number | null }>;
  seconds: number;
}

/**
 * Re-trains experiment `n` of a campaign from what git recorded: its spec (architecture and
 * recipe: the epochs are its fidelity), the campaign's seed and experiment template. In-process
 * (a worker thread) for TF.js templates.
 */
export async function rerunExperiment(
  campaignId: string,
  n: number,
  opts: { tolerance?: number; onEpoch?: (epoch: number, epochs: number) => void } = {},
): Promise<RerunResult> {
  const tolerance = opts.tolerance ?? DEFAULT_RERUN_TOLERANCE;
  if (!Number.isFinite(tolerance) || tolerance < 0) {
    throw new UserError(`--tolerance must be a number ≥ 0, got ${opts.tolerance}`);
  }
  const c = await openReviewedCampaign(campaignId);
  if (!c.template || c.seed === null) {
    throw new UserError(`campaign ${campaignId} does not record its experiment template and seed in campaign.json`, {
      hint: 'rerun needs config.experiment and config.seed (recorded by every campaign arlo starts)',
    });
  }
  let template: ExperimentTemplate;
  try {
    template = getTemplate(c.template);
  } catch (err) {
    throw new UserError(`campaign ${campaignId} used the experiment template "${c.template}", which this arlo does not have`, {
      hint: (err as Error).message,
      cause: err,
    });
  }
  if ((template as { external?: unknown }).external) {
    throw new UserError(`template "${c.template}" trains with an external command; arlo rerun re-trains TF.js templates only`, {
      hint: 'start a campaign with the recorded spec (git show campaign/<id>:<folder>/spec.json) to run it again',
    });
  }
  const rec = await readExperimentOrFail(c, n);
  if (!rec.spec) throw new UserError(`experiment ${n} of ${campaignId} has no recorded spec.json`);

  const started = Date.now();
  let result;
  try {
    result = await runTrainingInThread({
      template,
      spec: rec.spec,
      seed: c.seed,
      dataDir: dataDir(),
      onEpoch: (e) => opts.onEpoch?.(e.epoch, e.epochs),
    });
  } catch (err) {
    const e = err as Error;
    if (e.name === 'DatasetError') throw new UserError(e.message, { hint: 'set ARLO_DATA_DIR to the data the campaign trained on', cause: err });
    throw err;
  }
  const metrics = result.metrics as Record<string, number>;
  const rerun = metrics[c.metricName];
  if (typeof rerun !== 'number') {
    throw new Error(`the rerun reported no ${c.metricName} (metrics: ${Object.keys(metrics).join(', ')})`);
  }
  const difference = rec.metric === null ? null : Math.abs(rerun - rec.metric);
  const names: string[] = [];
  for (const k of [...Object.keys(rec.metrics ?? {}), ...Object.keys(metrics)]) {
    if (!names.includes(k) && (typeof rec.metrics?.[k] === 'number' || typeof metrics[k] === 'number')) names.push(k);
  }
  return {
    campaignId,
    n,
    template: c.template,
    seed: c.seed,
    backend: result.backend,
    epochs: rec.spec.recipe.epochs,
    metricName: c.metricName,
    recorded: rec.metric,
    rerun,
    difference,
    tolerance,
    reproduced: difference !== null && difference <= tolerance,
    metrics: names.map((name) => ({
      name,
      recorded: typeof rec.metrics?.[name] === 'number' ? (rec.metrics[name] as number) : null,
      rerun: typeof metrics[name] === 'number' ? metrics[name]! : null,
    })),
    seconds: (Date.now() - started) / 1000,
  };
}

/** `arlo rerun <id> <n>`: exit code 0 when reproduced within the tolerance, 2 when not. */
export async function rerunCommand(campaignId: string, n: number, opts: { tolerance?: number; json?: boolean } = {}): Promise<void> {
  if (!opts.json) process.stderr.write(color.dim(`re-training experiment ${n} of ${campaignId}…\n`));
  const r = await rerunExperiment(campaignId, n, { tolerance: opts.tolerance });
  if (!r.reproduced) process.exitCode = 2;
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
    return;
  }
  process.stdout.write(`${renderRerun(r).join('\n')}\n`);
}

function fmtDiff(x: number | null): string {
  if (x === null) return '—';
  return x === 0 ? '0' : x.toExponential(2);
}

export function renderRerun(r: RerunResult): string[] {
  const verdict = r.reproduced
    ? color.green(`reproduced (|Δ| ${fmtDiff(r.difference)} ≤ tolerance ${r.tolerance})`)
    : r.recorded === null
      ? color.yellow('the recorded experiment has no metric (it failed); nothing to compare')
      : color.red(`NOT reproduced (|Δ| ${fmtDiff(r.difference)} > tolerance ${r.tolerance})`);
  const width = Math.max(12, ...r.metrics.map((m) => m.name.length));
  const out = [
    `${color.bold(`rerun of experiment ${r.n}`)} of campaign ${color.bold(r.campaignId)}: template ${r.template}, seed ${r.seed}, ` +
      `${r.epochs} epoch${r.epochs === 1 ? '' : 's'} (the recorded recipe), backend ${r.backend}, ${fmtDuration(r.seconds * 1000)}`,
    color.dim(`  ${'metric'.padEnd(width)}  ${'recorded'.padStart(10)}  ${'rerun'.padStart(10)}  ${'|Δ|'.padStart(9)}`),
  ];
  for (const m of r.metrics) {
    const d = m.recorded !== null && m.rerun !== null ? Math.abs(m.rerun - m.recorded) : null;
    out.push(`  ${m.name.padEnd(width)}  ${fmtMetric(m.recorded).padStart(10)}  ${fmtMetric(m.rerun).padStart(10)}  ${fmtDiff(d).padStart(9)}`);
  }
  out.push(`${r.metricName}: recorded ${fmtMetric(r.recorded, 6)}, rerun ${fmtMetric(r.rerun, 6)}: ${verdict}`);
  if (!r.reproduced && r.recorded !== null) {
    out.push(
      color.dim(
        '  Training is seeded, so on the same backend a rerun matches. Differences come from another backend ' +
          '(tensorflow / wasm / cpu) or machine than the one that recorded it, or a template or data set changed since.',
      ),
    );
  }
  return out;
}
