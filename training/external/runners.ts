// The runner seam: how a job's argv becomes a process on this worker. `local` runs the job
// itself; `slurm` and `kubernetes` run a submit command that blocks until the job ends (sbatch
// --wait, kubectl run --attach) and stream or write the job's output back. Every plan is an argv
// array: no shell is involved on the worker, and nothing from a proposal reaches a command.
//
// Command templates (what arlo runs; <...> are paths arlo makes, [...] come from the template or
// the worker's environment):
//
//   local       <argv...>                              (cwd = the work folder)
//   slurm       [sbatch] --wait --parsable --job-name=<name> --chdir=<workdir>
//                 --output=<workdir>/job.log --error=<workdir>/job.log --time=<minutes>
//                 --export=ALL [args...] <workdir>/arlo-job.sh <argv...>
//               arlo-job.sh is `exec "$@"`: sbatch hands the argv to it as arguments, so no value is
//               ever re-parsed by a shell. arlo follows job.log for progress lines. Stopping
//               runs [scancel] --name=<name>.
//   kubernetes  [kubectl] run <name> --image=[image] --restart=Never --rm --attach --quiet
//                 [--namespace=ns] --overrides=<pod JSON: command = argv, workingDir = workdir,
//                 env, [podSpec], [container]> [args...]
//               The pod's output streams back through --attach. Stopping runs
//               [kubectl] delete pod <name> --now --ignore-not-found.
//
// A worker's environment can point every external job it runs at a cluster (README: "External
// training jobs"): ARLO_RUNNER=local|slurm|kubernetes, ARLO_SLURM_SUBMIT, ARLO_SLURM_CANCEL,
// ARLO_SLURM_ARGS, ARLO_KUBECTL, ARLO_K8S_IMAGE, ARLO_K8S_NAMESPACE, ARLO_K8S_ARGS. Argv-valued
// variables hold a JSON array of strings (or one plain string, e.g. a path).

import fs from 'node:fs';
import path from 'node:path';
import type { ExternalJob, KubernetesRunnerOptions, RunnerKind, SlurmRunnerOptions } from '../../experiments/template.ts';
import { RUNNER_KINDS } from './config.ts';

export interface RunnerSettings {
  kind: RunnerKind;
  slurm: SlurmRunnerOptions;
  kubernetes: KubernetesRunnerOptions;
}

export interface RunnerPlan {
  kind: RunnerKind;
  /** What is spawned on this worker. */
  argv: string[];
  /** Environment of the spawned process. */
  env: Record<string, string>;
  /** Where the job's output appears when it is not the spawned process's stdout (slurm). */
  outputFile: string | null;
  /** Run when arlo stops the job, to stop it on the cluster too (null for local jobs). */
  cancel: string[] | null;
  /** Files to write into the work folder before spawning. */
  files: Array<{ path: string; content: string; mode: number }>;
}

export interface PlanInput {
  settings: RunnerSettings;
  /** The job's argv, placeholders already replaced by paths. */
  argv: string[];
  workdir: string;
  /** Unique per experiment attempt; a valid Slurm job name and Kubernetes pod name. */
  jobName: string;
  env: Record<string, string>;
  timeoutSeconds: number;
}

export class RunnerConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RunnerConfigError';
  }
}

/** The runner a job uses: the template's, overridden field by field by the worker's environment. */
export function runnerSettings(ext: ExternalJob, source: NodeJS.ProcessEnv = process.env): RunnerSettings {
  const kind = (source.ARLO_RUNNER || ext.runner || 'local') as RunnerKind;
  if (!RUNNER_KINDS.includes(kind)) {
    throw new RunnerConfigError(`ARLO_RUNNER=${JSON.stringify(kind)} is invalid; use one of ${RUNNER_KINDS.join(', ')}`);
  }
  const slurm: SlurmRunnerOptions = { ...(ext.slurm ?? {}) };
  const k8s: KubernetesRunnerOptions = { ...(ext.kubernetes ?? {}) };
  const argvVar = (name: string): string[] | undefined => {
    const raw = source[name];
    if (raw === undefined || raw === '') return undefined;
    if (!raw.trimStart().startsWith('[')) return [raw];
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      value = null;
    }
    if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
      throw new RunnerConfigError(`${name} must be a JSON array of strings (argv elements), e.g. ["--partition=gpu"]`);
    }
    return value as string[];
  };
  slurm.submit = argvVar('ARLO_SLURM_SUBMIT') ?? slurm.submit;
  slurm.cancel = argvVar('ARLO_SLURM_CANCEL') ?? slurm.cancel;
  slurm.args = argvVar('ARLO_SLURM_ARGS') ?? slurm.args;
  k8s.kubectl = argvVar('ARLO_KUBECTL') ?? k8s.kubectl;
  k8s.args = argvVar('ARLO_K8S_ARGS') ?? k8s.args;
  k8s.image = source.ARLO_K8S_IMAGE || k8s.image;
  k8s.namespace = source.ARLO_K8S_NAMESPACE || k8s.namespace;
  return { kind, slurm, kubernetes: k8s };
}

/** A name that is a valid Slurm job name and Kubernetes pod name (DNS-1123 label). */
export function jobName(campaignId: string, n: number, attempt: number): string {
  const base = `arlo-${campaignId}`.toLowerCase().replace(/[^a-z0-9-]+/g, '-');
  const suffix = `-${n}-a${attempt}`;
  return `${base.slice(0, 63 - suffix.length).replace(/-+$/, '')}${suffix}`;
}

const WRAPPER = '#!/bin/sh\n# arlo: the job argv arrives as arguments (sbatch passes them on); no shell parses them.\nexec "$@"\n';

export function planRun(input: PlanInput): RunnerPlan {
  const { settings, argv, workdir, env } = input;
  switch (settings.kind) {
    case 'local':
      return { kind: 'local', argv, env, outputFile: null, cancel: null, files: [] };
    case 'slurm': {
      const submit = settings.slurm.submit?.length ? settings.slurm.submit : ['sbatch'];
      const cancel = settings.slurm.cancel?.length ? settings.slurm.cancel : ['scancel'];
      const log = path.join(workdir, 'job.log');
      const wrapper = path.join(workdir, 'arlo-job.sh');
      const minutes = Math.max(1, Math.ceil(input.timeoutSeconds / 60));
      return {
        kind: 'slurm',
        argv: [
          ...submit,
          '--wait',
          '--parsable',
          `--job-name=${input.jobName}`,
          `--chdir=${workdir}`,
          `--output=${log}`,
          `--error=${log}`,
          `--time=${minutes}`,
          '--export=ALL',
          ...(settings.slurm.args ?? []),
          wrapper,
          ...argv,
        ],
        env,
        outputFile: log,
        cancel: [...cancel, `--name=${input.jobName}`],
        files: [{ path: wrapper, content: WRAPPER, mode: 0o755 }],
      };
    }
    case 'kubernetes': {
      const k = settings.kubernetes;
      if (!k.image) {
        throw new RunnerConfigError(
          'the kubernetes runner needs an image: set external.kubernetes.image in the template or ARLO_K8S_IMAGE on the worker',
        );
      }
      const kubectl = k.kubectl?.length ? k.kubectl : ['kubectl'];
      const ns = k.namespace ? [`--namespace=${k.namespace}`] : [];
      // The container has its own PATH and HOME; it gets the job's other variables.
      const podEnv = Object.entries(env)
        .filter(([name]) => name !== 'PATH' && name !== 'HOME')
        .map(([name, value]) => ({ name, value }));
      const container = {
        ...(k.container ?? {}),
        name: input.jobName,
        image: k.image,
        command: argv,
        workingDir: workdir,
        env: podEnv,
      };
      const overrides = { apiVersion: 'v1', spec: { ...(k.podSpec ?? {}), restartPolicy: 'Never', containers: [container] } };
      return {
        kind: 'kubernetes',
        argv: [
          ...kubectl,
          'run',
          input.jobName,
          `--image=${k.image}`,
          '--restart=Never',
          '--rm',
          '--attach',
          '--quiet',
          ...ns,
          `--overrides=${JSON.stringify(overrides)}`,
          ...(k.args ?? []),
          '--command',
          '--',
          ...argv,
        ],
        env,
        outputFile: null,
        cancel: [...kubectl, 'delete', 'pod', input.jobName, '--now', '--ignore-not-found', ...ns],
        files: [],
      };
    }
  }
}

export function writePlanFiles(plan: RunnerPlan): void {
  for (const f of plan.files) {
    fs.writeFileSync(f.path, f.content, { mode: f.mode });
    fs.chmodSync(f.path, f.mode);
  }
}
