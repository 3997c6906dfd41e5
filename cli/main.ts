import { Command, InvalidArgumentError } from 'commander';
import { isUserError } from '../server/user-error.ts';
import { templateNames } from '../experiments/index.ts';
import { color } from './format.ts';

// The `arlo` command line. Each command lives in cli/commands/; this file only wires flags.

function positiveInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a whole number ≥ 1`);
    return n;
  };
}

function nonNegativeInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a whole number ≥ 0`);
    return n;
  };
}

export function buildProgram(): Command {
  const program = new Command('arlo')
    .description('Automated AI-research loop: durable campaigns that propose, train, judge and record model changes')
    .showHelpAfterError('(run with --help for usage)');

  program
    .command('demo')
    .description('run a research campaign end to end with nothing configured (embedded server, in-process worker)')
    .option('--experiments <n>', 'experiments to run, the baseline included', positiveInt('--experiments'), 12)
    .option('--experiment <template>', 'experiment template', 'deep-mlp')
    .option('--seed <s>', 'campaign seed', nonNegativeInt('--seed'), 1)
    .option('--concurrency <n>', 'experiments trained at once', positiveInt('--concurrency'), 2)
    .action(async (o) => {
      const { demoCommand } = await import('./commands/demo.ts');
      await demoCommand(o);
    });

  program
    .command('server')
    .description('the embedded Temporal dev server (db in $ARLO_HOME/temporal.db)')
    .argument('[action]', 'run (foreground, default) | start (background) | stop | status')
    .action(async (action) => {
      const { serverCommand } = await import('./commands/server.ts');
      await serverCommand(action);
    });

  program
    .command('worker')
    .description('run a worker: campaign workflows, proposals, records and training')
    .option('--slots <n>', 'trainings this worker runs at once', positiveInt('--slots'), 1)
    .action(async (o) => {
      const { workerCommand } = await import('./commands/worker.ts');
      await workerCommand(o);
    });

  program
    .command('start')
    .description('start a campaign from flags, or from a campaign YAML file')
    .argument('[campaign.yaml]', 'campaign file (id, experiment, agent, seed, budget, concurrency)')
    .option('--experiment <template>', `experiment template (${templateNames().join(', ')})`)
    .option('--agent <agent>', 'random | evolution | llm | noop (A/A calibration: re-proposes the champion)')
    .option('--model <provider:name>', 'llm agent: openai:<name> | anthropic:<name> | ollama:<name> (implies --agent llm)')
    .option('--base-url <url>', 'llm agent: an OpenAI-compatible server (vLLM, llama.cpp, LM Studio) or another endpoint')
    .option('--temperature <t>', 'llm agent: sampling temperature', Number)
    .option('--api-key-env <VAR>', 'llm agent: environment variable holding the key (default OPENAI_API_KEY / ANTHROPIC_API_KEY)')
    .option('--max-prompt-tokens <n>', 'llm agent: prompt size limit (estimated tokens)', positiveInt('--max-prompt-tokens'))
    .option('--tokens <n>', 'LLM token budget for the whole campaign', positiveInt('--tokens'))
    .option('--usd <x>', 'LLM spend budget in USD (needs llm.prices in a campaign file)', Number)
    .option('--budget <n>', 'number of experiments, the baseline included', positiveInt('--budget'))
    .option('--minutes <m>', 'wall-clock budget in minutes', Number)
    .option('--id <id>', 'campaign id (default: <template>-<timestamp>)')
    .option('--seed <s>', 'campaign seed', nonNegativeInt('--seed'))
    .option('--concurrency <n>', 'experiments trained at once', positiveInt('--concurrency'))
    .option('--seeds <k>', 'seeds per experiment (default 3); challengers train on the champion\'s seeds', positiveInt('--seeds'))
    .option('--test <test>', 'keep test: welch-t (default) | paired-bootstrap')
    .option('--alpha <a>', 'significance level of the keep test (default 0.05)', Number)
    .option('--min-effect <x>', 'smallest improvement worth keeping, in metric units (default 0)', Number)
    .option('--fidelity <epochs>', 'successive-halving ladder: epochs per rung, cheapest first, e.g. 2,6,18')
    .option('--eta <n>', 'ladder: the top 1/eta of each rung go up (default 3)', positiveInt('--eta'))
    .option('--no-holdout', 'do not evaluate the hidden holdout when a champion is promoted')
    .option('--compute <n>', 'training compute budget in sample-epochs (all seeds and rungs)', Number)
    .option('--follow', 'stay and print progress until the campaign ends')
    .action(async (file, o) => {
      const { startCommand } = await import('./commands/start.ts');
      await startCommand(file, o);
    });

  program
    .command('status')
    .description('progress, best so far and budget left of a campaign')
    .argument('<id>', 'campaign id')
    .option('--json', 'machine-readable output')
    .action(async (id, o) => {
      const { statusCommand } = await import('./commands/status.ts');
      await statusCommand(id, o);
    });

  program
    .command('list')
    .description('campaigns known to Temporal, newest first')
    .option('--json', 'machine-readable output')
    .option('--limit <n>', 'at most this many', positiveInt('--limit'), 50)
    .action(async (o) => {
      const { listCommand } = await import('./commands/list.ts');
      await listCommand(o);
    });

  program
    .command('history')
    .description("every recorded experiment of a campaign, from its git branch")
    .argument('<id>', 'campaign id')
    .option('--status <status>', 'only kept, discarded or failed experiments (several: kept,failed)')
    .option('--sort <order>', 'n (default), metric (best first) or duration (longest first)')
    .option('--reverse', 'reverse the sort order')
    .option('--limit <n>', 'show at most this many', positiveInt('--limit'))
    .option('--json', 'machine-readable output (with commit shas)')
    .option('--csv', 'CSV for spreadsheets and scripts (with commit shas)')
    .action(async (id, o) => {
      const { historyCommand } = await import('./commands/history.ts');
      await historyCommand(id, o);
    });

  program
    .command('show')
    .description('everything about one experiment: proposal, spec diff, metrics, curve, log, commit')
    .argument('<id>', 'campaign id')
    .argument('<n>', 'experiment number', positiveInt('<n>'))
    .option('--json', 'machine-readable output')
    .action(async (id, n, o) => {
      const { showCommand } = await import('./commands/show.ts');
      await showCommand(id, n, o);
    });

  program
    .command('diff')
    .description('spec diff and metric deltas between two experiments of a campaign')
    .argument('<id>', 'campaign id')
    .argument('<a>', 'experiment number', positiveInt('<a>'))
    .argument('<b>', 'experiment number', positiveInt('<b>'))
    .option('--json', 'machine-readable output')
    .action(async (id, a, b, o) => {
      const { diffCommand } = await import('./commands/diff.ts');
      await diffCommand(id, a, b, o);
    });

  program
    .command('report')
    .description('one self-contained HTML report of a campaign (charts, edit effects, lineage)')
    .argument('<id>', 'campaign id')
    .option('--out <file>', 'where to write it (default: <id>-report.html)')
    .action(async (id, o) => {
      const { reportCommand } = await import('./commands/report.ts');
      await reportCommand(id, o);
    });

  program
    .command('rerun')
    .description('re-train a recorded experiment from its recorded spec and seed; compare the metric')
    .argument('<id>', 'campaign id')
    .argument('<n>', 'experiment number', positiveInt('<n>'))
    .option('--tolerance <x>', 'largest difference that counts as reproduced', Number, 1e-4)
    .option('--json', 'machine-readable output')
    .action(async (id, n, o) => {
      const { rerunCommand } = await import('./commands/rerun.ts');
      await rerunCommand(id, n, o);
    });

  for (const kind of ['pause', 'unpause', 'stop'] as const) {
    const what = {
      pause: 'let experiments in flight finish, then start no new ones',
      unpause: 'continue a paused campaign',
      stop: 'finish and record experiments in flight, then end the campaign',
    }[kind];
    program
      .command(kind)
      .description(what)
      .argument('<id>', 'campaign id')
      .action(async (id) => {
        const { signalCommand } = await import('./commands/signals.ts');
        await signalCommand(kind, id);
      });
  }

  program
    .command('steer')
    .description("add a note for the LLM agent's next prompt (acknowledged with the experiment it will reach)")
    .argument('<id>', 'campaign id')
    .argument('<text>', 'the note, e.g. "try layerNorm inside the bypass blocks"')
    .action(async (id, text) => {
      const { steerCommand } = await import('./commands/steer.ts');
      await steerCommand(id, text);
    });

  program
    .command('resume')
    .description('continue a failed, terminated or timed-out campaign from what its history records')
    .argument('<id>', 'campaign id')
    .action(async (id) => {
      const { resumeCommand } = await import('./commands/resume.ts');
      await resumeCommand(id);
    });

  return program;
}

/** Review commands that read the history repository only (no Temporal client or worker). */
const GIT_ONLY_COMMANDS = new Set(['history', 'show', 'diff', 'report', 'rerun']);

export async function main(argv: string[]): Promise<number> {
  // Temporal's worker logs every state change at INFO; users need warnings only. The training
  // worker polls no workflows on purpose, so that warning is noise.
  // Commands that only read git skip loading Temporal's native runtime (about half a second).
  if (!GIT_ONLY_COMMANDS.has(argv[2] ?? '')) {
    const { DefaultLogger, Runtime } = await import('@temporalio/worker');
    const level = (process.env.ARLO_LOG_LEVEL ?? 'WARN') as 'WARN';
    Runtime.install({
      logger: new DefaultLogger(level, (entry) => {
        if (entry.message.startsWith('No workflows registered')) return;
        process.stderr.write(`${entry.level} ${entry.message}${entry.meta ? ` ${JSON.stringify(entry.meta)}` : ''}\n`);
      }),
    });
  }
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (err) {
    if (isUserError(err)) {
      process.stderr.write(`${color.red('arlo:')} ${err.message}\n`);
      if (err.hint) process.stderr.write(`  ${err.hint}\n`);
      return 1;
    }
    if (process.env.ARLO_DEBUG) throw err;
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`${color.red('arlo: unexpected error:')} ${message}\n  (set ARLO_DEBUG=1 for the stack trace)\n`);
    return 1;
  }
}
