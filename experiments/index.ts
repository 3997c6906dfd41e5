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
    const shown = JSON.stringify(String(name).length > 80 ? `${String(name).slice(0, 80)}…` : String(name));
    const guess = nearestName(String(name));
    throw new Error(
      `unknown experiment template ${shown}${guess ? ` (did you mean "${guess}"?)` : ''}; ` +
        `known templates: ${templateNames().join(', ')}, or csv:<file> for your own CSV`,
    );
  }
  return structuredClone(t);
}

/** A template name that differs from `name` only in case, "_" for "-", or one typo; null if none. */
function nearestName(name: string): string | null {
  const norm = (s: string) => s.toLowerCase().replace(/[_\s]/g, '-');
  const target = norm(name);
  if (target === '') return null;
  for (const known of templateNames()) if (norm(known) === target) return known;
  for (const known of templateNames()) if (known.length >= 4 && oneEditApart(norm(known), target)) return known;
  return null;
}

function oneEditApart(a: string, b: string): boolean {
  if (Math.abs(a.length - b.length) > 1) return false;
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return a.slice(i + 1) === b.slice(i + 1) || a.slice(i) === b.slice(i + 1) || a.slice(i + 1) === b.slice(i);
}
