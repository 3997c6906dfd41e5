import { charlmTorchTemplate } from './charlm-torch/template.ts';
import { deepMlpTemplate } from './deep-mlp.ts';
import { digitsConvTemplate, digitsTemplate } from './digits.ts';
import { digitsTorchTemplate } from './digits-torch/template.ts';
import { smokeTemplate } from './smoke.ts';
import type { ExperimentTemplate } from './template.ts';
import { CSV_PREFIX, csvTemplateFromName } from './csv.ts';

const TEMPLATES: readonly ExperimentTemplate[] = [
  deepMlpTemplate,
  digitsTemplate,
  digitsConvTemplate,
  smokeTemplate,
  // External jobs (PyTorch via /usr/bin/python3; see README, "External training jobs").
  charlmTorchTemplate,
  digitsTorchTemplate,
];

/** Names of all experiment templates, in a stable order. */
export function templateNames(): string[] {
  return TEMPLATES.map((t) => t.name);
}

/** The template called `name` (a deep copy: callers may modify it). Throws listing known names. */
export function getTemplate(name: string): ExperimentTemplate {
  if (name.startsWith(CSV_PREFIX)) return csvTemplateFromName(name);
  const t = TEMPLATES.find((x) => x.name === name);
  if (!t) {
    throw new Error(`unknown experiment template ${JSON.stringify(name)}; known templates: ${templateNames().join(', ')}, or csv:<file> for your own CSV`);
  }
  return structuredClone(t);
}
