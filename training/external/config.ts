// Checks a template's `external` block and turns its command into a concrete argv.

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ExternalJob, RunnerKind } from '../../experiments/template.ts';
import { envNameProblems } from './env.ts';

export const PLACEHOLDERS = ['{spec}', '{out}', '{workdir}', '{data}'] as const;
export type Placeholder = (typeof PLACEHOLDERS)[number];

export const RUNNER_KINDS: readonly RunnerKind[] = ['local', 'slurm', 'kubernetes'];

/** The arlo checkout: relative template folders are resolved against it (also from dist/, compiled). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), import.meta.url.endsWith('.js') ? '../../..' : '../..');

/** Every problem with an `external` block, each naming the field and the fix; empty means valid. */
export function externalProblems(ext: ExternalJob): string[] {
  const problems: string[] = [];
  if (!Array.isArray(ext.command) || ext.command.length === 0 || ext.command.some((a) => typeof a !== 'string')) {
    problems.push('external.command must be a non-empty array of strings (an argv; no shell is involved)');
  } else {
    if (ext.command[0] === '' || (PLACEHOLDERS as readonly string[]).includes(ext.command[0]!)) {
      problems.push('external.command[0] must name the program to run, e.g. "/usr/bin/python3"');
    }
    ext.command.forEach((arg, i) => {
      if ((PLACEHOLDERS as readonly string[]).includes(arg)) return;
      const inside = PLACEHOLDERS.find((p) => arg.includes(p));
      if (inside) {
        problems.push(
          `external.command[${i}] ${JSON.stringify(arg)}: placeholders must be whole argv elements; ` +
            `write ["--x", "${inside}"] instead of "--x=${inside}"`,
        );
      }
    });
  }
  if (typeof ext.folder !== 'string' || ext.folder === '') problems.push('external.folder must name the folder with the job\'s files');
  if (!Array.isArray(ext.env)) problems.push('external.env must be an array of variable names (may be empty)');
  else problems.push(...envNameProblems(ext.env));
  if (!(typeof ext.timeoutSeconds === 'number' && ext.timeoutSeconds > 0 && Number.isFinite(ext.timeoutSeconds))) {
    problems.push('external.timeoutSeconds must be a positive number of seconds');
  }
  if (!(Number.isInteger(ext.maxOutputBytes) && ext.maxOutputBytes >= 0)) {
    problems.push('external.maxOutputBytes must be a non-negative integer (bytes of output kept in output.log)');
  }
  if (!RUNNER_KINDS.includes(ext.runner)) {
    problems.push(`external.runner ${JSON.stringify(ext.runner)} is invalid; use one of ${RUNNER_KINDS.join(', ')}`);
  }
  if (ext.killGraceSeconds !== undefined && !(ext.killGraceSeconds >= 0 && Number.isFinite(ext.killGraceSeconds))) {
    problems.push('external.killGraceSeconds must be a non-negative number');
  }
  for (const [field, value] of [
    ['slurm.submit', ext.slurm?.submit],
    ['slurm.cancel', ext.slurm?.cancel],
    ['slurm.args', ext.slurm?.args],
    ['kubernetes.kubectl', ext.kubernetes?.kubectl],
    ['kubernetes.args', ext.kubernetes?.args],
  ] as const) {
    if (value !== undefined && (!Array.isArray(value) || value.some((a) => typeof a !== 'string'))) {
      problems.push(`external.${field} must be an array of strings (argv elements)`);
    }
  }
  return problems;
}

/** The absolute folder of a template's job files. */
export function resolveJobFolder(ext: ExternalJob): string {
  return path.resolve(REPO_ROOT, ext.folder);
}

/** Replaces whole-element placeholders by paths; every other element is passed on unchanged. */
export function substitute(command: readonly string[], paths: Record<Placeholder, string>): string[] {
  return command.map((arg) => ((PLACEHOLDERS as readonly string[]).includes(arg) ? paths[arg as Placeholder] : arg));
}
