import { completeConfig, loadCampaignFile } from '../../config/load-config.ts';
import type { CampaignConfig } from '../../config/campaign-config.ts';
import { UserError } from '../../server/user-error.ts';
import { DEFAULT_TASK_QUEUES } from '../../worker.ts';
import { openClient } from '../client.ts';
import { followCampaign } from '../follow.ts';
import { defaultCampaignId, startCampaign } from '../start-campaign.ts';
import { color, fmtMetric } from '../format.ts';

export interface StartFlags {
  experiment?: string;
  agent?: string;
  budget?: number;
  minutes?: number;
  id?: string;
  seed?: number;
  concurrency?: number;
  follow?: boolean;
  model?: string;
  baseUrl?: string;
  temperature?: number;
  apiKeyEnv?: string;
  maxPromptTokens?: number;
  tokens?: number;
  usd?: number;
  seeds?: number;
  test?: string;
  alpha?: number;
  minEffect?: number;
  /** Epochs per rung, cheapest first, e.g. "2,6,18". */
  fidelity?: string;
  eta?: number;
  holdout?: boolean;
  compute?: number;
}

/** The evaluation settings the flags give, over those of the file. */
function withEvaluation(raw: Record<string, unknown>, fromFile: Record<string, unknown> | undefined, flags: StartFlags): void {
  const ev: Record<string, unknown> = { ...(fromFile ?? {}) };
  if (flags.seeds !== undefined) ev.seeds = flags.seeds;
  if (flags.test !== undefined) ev.test = flags.test;
  if (flags.alpha !== undefined) ev.alpha = flags.alpha;
  if (flags.minEffect !== undefined) ev.minEffect = flags.minEffect;
  if (flags.eta !== undefined) ev.eta = flags.eta;
  // (commander sets holdout: true unless --no-holdout is given; only the flag itself overrides a file)
  if (flags.holdout === false) ev.holdout = false;
  if (flags.fidelity !== undefined) ev.fidelity = parseFidelity(flags.fidelity);
  if (Object.keys(ev).length > 0) raw.evaluation = ev;
}

/** "2,6,18" → [{ epochs: 2 }, { epochs: 6 }, { epochs: 18 }] ("none" or "" → no ladder). */
export function parseFidelity(text: string): Array<{ epochs: number }> {
  if (text.trim() === '' || text.trim() === 'none') return [];
  return text.split(',').map((part) => {
    const epochs = Number(part.trim());
    if (!Number.isInteger(epochs) || epochs < 1) {
      throw new UserError(`--fidelity: "${part.trim()}" is not a whole number of epochs`, {
        hint: 'give epochs per rung, cheapest first, e.g. --fidelity 2,6,18 (fractions of the data go in a campaign file)',
      });
    }
    return { epochs };
  });
}

/** The llm settings the flags give (without defaults), or null when none is given. */
function llmFlags(flags: StartFlags): Record<string, unknown> | null {
  const llm: Record<string, unknown> = {};
  if (flags.model !== undefined) llm.model = flags.model;
  if (flags.baseUrl !== undefined) llm.baseUrl = flags.baseUrl;
  if (flags.temperature !== undefined) llm.temperature = flags.temperature;
  if (flags.apiKeyEnv !== undefined) llm.apiKeyEnv = flags.apiKeyEnv;
  if (flags.maxPromptTokens !== undefined) llm.maxPromptTokens = flags.maxPromptTokens;
  return Object.keys(llm).length > 0 ? llm : null;
}

function withLlm(raw: Record<string, unknown>, fromFile: Record<string, unknown> | undefined, flags: StartFlags): void {
  const given = llmFlags(flags);
  if (given === null) return;
  const llm = { ...(fromFile ?? {}), ...given };
  if (llm.model === undefined) {
    throw new UserError('--base-url, --temperature, --api-key-env and --max-prompt-tokens need a model', {
      hint: 'add --model openai:<name> (or anthropic:<name>, ollama:<name>)',
    });
  }
  raw.llm = llm;
  // A model on the command line means the llm agent, unless --agent says otherwise.
  if (flags.model !== undefined && flags.agent === undefined) raw.agent = 'llm';
}

function withLlmBudget(budget: Record<string, unknown>, flags: StartFlags): void {
  if (flags.compute !== undefined) budget.compute = flags.compute;
  if (flags.tokens !== undefined) budget.tokens = flags.tokens;
  if (flags.usd !== undefined) {
    if (!(flags.usd > 0)) throw new UserError('--usd must be a number > 0');
    budget.usd = flags.usd;
  }
}

/** `arlo start`: flags override the file; a missing field gets its documented default. */
export function configFromFlags(file: string | undefined, flags: StartFlags): CampaignConfig {
  const overrides: Record<string, unknown> = {};
  if (flags.experiment !== undefined) overrides.experiment = flags.experiment;
  if (flags.agent !== undefined) overrides.agent = flags.agent;
  if (flags.id !== undefined) overrides.id = flags.id;
  if (flags.seed !== undefined) overrides.seed = flags.seed;
  if (flags.concurrency !== undefined) overrides.concurrency = flags.concurrency;
  if (flags.minutes !== undefined && !(flags.minutes > 0)) {
    throw new UserError('--minutes must be a number > 0');
  }
  if (file) {
    const fromFile = loadCampaignFile(file, { id: 'placeholder' });
    const raw: Record<string, unknown> = { ...fromFile, ...overrides };
    const budget: Record<string, unknown> = {
      ...fromFile.budget,
      experiments: flags.budget ?? fromFile.budget.experiments,
      minutes: flags.minutes ?? fromFile.budget.minutes,
    };
    withLlmBudget(budget, flags);
    raw.budget = budget;
    withLlm(raw, fromFile.llm, flags);
    withEvaluation(raw, fromFile.evaluation, flags);
    const idGiven = flags.id !== undefined || fileHasId(fromFile);
    const config = completeConfig(raw, { id: 'placeholder' }, file);
    return idGiven ? config : { ...config, id: defaultCampaignId(config.experiment) };
  }
  if (flags.experiment === undefined) {
    throw new UserError('name what to research: `arlo start --experiment <template>` or `arlo start campaign.yaml`', {
      hint: 'try `arlo start --experiment deep-mlp --agent evolution --budget 12 --follow`',
    });
  }
  const raw: Record<string, unknown> = { ...overrides };
  if (flags.budget !== undefined || flags.minutes !== undefined || flags.tokens !== undefined || flags.usd !== undefined) {
    const budget: Record<string, unknown> = { experiments: flags.budget ?? 12, minutes: flags.minutes ?? null };
    withLlmBudget(budget, flags);
    raw.budget = budget;
  }
  if (flags.compute !== undefined) raw.budget = { ...((raw.budget as object) ?? {}), compute: flags.compute };
  withLlm(raw, undefined, flags);
  withEvaluation(raw, undefined, flags);
  return completeConfig(raw, { id: defaultCampaignId(flags.experiment) }, 'arlo start');
}

function fileHasId(config: CampaignConfig): boolean {
  return config.id !== 'placeholder';
}

export async function startCommand(file: string | undefined, flags: StartFlags): Promise<void> {
  const config = configFromFlags(file, flags);
  const c = await openClient();
  try {
    await startCampaign(c, config, DEFAULT_TASK_QUEUES);
    const model = config.agent === 'llm' && config.llm ? ` (${config.llm.model}${config.llm.baseUrl ? ` at ${config.llm.baseUrl}` : ''})` : '';
    const llmBudget =
      (config.budget.tokens != null ? ` / ${config.budget.tokens} tokens` : '') + (config.budget.usd != null ? ` / ${config.budget.usd} USD` : '');
    const computeBudget = config.budget.compute != null ? ` / ${config.budget.compute} sample-epochs` : '';
    console.log(
      `started campaign ${color.bold(config.id)}: ${config.agent} agent${model} on ${config.experiment}, ` +
        `budget ${config.budget.experiments} experiments${config.budget.minutes ? ` / ${config.budget.minutes} min` : ''}${llmBudget}${computeBudget}`,
    );
    const ev = config.evaluation;
    if (ev) {
      const ladder = ev.fidelity.length > 0 ? `; ladder ${ev.fidelity.map(rungText).join(' → ')} (η=${ev.eta})` : '';
      console.log(
        `  each experiment trains with ${ev.seeds} seed${ev.seeds === 1 ? '' : 's'}; ` +
          (ev.seeds >= 2 ? `kept when ${ev.test} clears α=${ev.alpha}${ev.minEffect > 0 ? ` and min effect ${ev.minEffect}` : ''}` : 'kept when better once (no test with one seed)') +
          ladder,
      );
    }
    if (!(await hasWorkers(c))) {
      console.log(color.yellow('  no worker is polling yet: run `arlo worker` (in another terminal, or on another machine)'));
    }
    if (!flags.follow) {
      console.log(`  follow it: arlo status ${config.id}   ·   results: arlo history ${config.id}`);
      return;
    }
    const result = await followCampaign(c, config.id);
    console.log(
      `campaign ${config.id} finished: ${result.done} experiments, best #${result.champion?.n ?? '—'} ` +
        `${fmtMetric(result.champion?.metric)} (baseline ${fmtMetric(result.baseline?.metric)}); branch ${result.branch}`,
    );
  } finally {
    await c.close();
  }
}

function rungText(r: { epochs?: number; dataFraction?: number }): string {
  return [r.epochs !== undefined ? `${r.epochs} ep` : null, r.dataFraction !== undefined ? `${r.dataFraction} data` : null]
    .filter(Boolean)
    .join(' × ');
}

async function hasWorkers(c: Awaited<ReturnType<typeof openClient>>): Promise<boolean> {
  try {
    const res = await c.client.workflowService.describeTaskQueue({
      namespace: c.namespace,
      taskQueue: { name: DEFAULT_TASK_QUEUES.main },
    });
    return (res.pollers?.length ?? 0) > 0;
  } catch {
    return true; // unknown: say nothing rather than something wrong
  }
}
