// A fresh working folder per experiment attempt: a copy of the template's folder, arlo's Python
// helper, the job file spec.json and an empty out/ folder.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Spec } from '../../arch/spec.ts';

/** arlo's Python helper (protocol + ArchSpec → torch.nn), copied into every work folder. */
export const PYTHON_HELPER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'python', 'arlo_spec.py');

const SKIP = new Set(['__pycache__', '.git', 'node_modules', '.venv', 'out']);

/** What the job reads from {spec}. */
export interface JobFile {
  spec: Spec;
  seed: number;
  /** Multi-fidelity rung (a later issue); null means full fidelity. */
  fidelity: null;
  /** The data directory (ARLO_DATA_DIR on the worker). */
  dataDir: string;
  /** The template's metric: the job must report it. */
  metric: { name: string; direction: 'max' | 'min' };
  numClasses: number;
  template: string;
  campaignId: string | null;
  n: number | null;
  attempt: number;
}

export interface Workdir {
  dir: string;
  spec: string;
  out: string;
  log: string;
}

/** `<home>/runs/<campaign>/<n>-attempt-<k>`; names are reduced to safe path segments. */
export function runFolder(home: string, campaignId: string, n: number, attempt: number): string {
  const safe = campaignId.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^\.+/, '_') || '_';
  return path.join(home, 'runs', safe, `${n}-attempt-${attempt}`);
}

/** Replaces `dir` with a fresh copy of `folder` plus the helper, spec.json and out/. */
export function prepareWorkdir(folder: string, dir: string, job: JobFile): Workdir {
  if (!fs.existsSync(folder) || !fs.statSync(folder).isDirectory()) {
    throw new Error(`the template's job folder ${folder} does not exist; check external.folder`);
  }
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  fs.cpSync(folder, dir, {
    recursive: true,
    filter: (src) => !SKIP.has(path.basename(src)) || src === folder,
  });
  const helper = path.join(dir, 'arlo_spec.py');
  if (!fs.existsSync(helper)) fs.copyFileSync(PYTHON_HELPER, helper);
  const spec = path.join(dir, 'spec.json');
  fs.writeFileSync(spec, `${JSON.stringify(job, null, 2)}\n`);
  const out = path.join(dir, 'out');
  fs.mkdirSync(out, { recursive: true });
  return { dir, spec, out, log: path.join(dir, 'output.log') };
}
