import { EDIT_OPS } from '../arch/edit.ts';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { DatasetError, parseCsvDataset } from '../training/datasets.ts';
import type { ExperimentTemplate } from './template.ts';

// A classification template made from a user's own CSV file: `--experiment csv:<path>`.
// Numeric features, an integer label column (the last one unless `label=<column>` is given), an
// optional header row (detected). Train / validation / holdout splits are fixed by a seed.

export const CSV_PREFIX = 'csv:';

export interface CsvTemplateOptions {
  /** Label column; negative counts from the end (default −1, the last column). */
  labelColumn?: number;
  validationFraction?: number;
  holdoutFraction?: number;
  splitSeed?: number;
}

/**
 * `csv:<path>[?label=<column>]`. The path becomes absolute, so the name means the same file on
 * every worker that sees the same file system.
 */
export function csvTemplateFromName(name: string, cwd = process.cwd()): ExperimentTemplate {
  const spec = name.slice(CSV_PREFIX.length);
  const [rawPath, query = ''] = spec.split('?', 2) as [string, string?];
  if (!rawPath) throw new DatasetError(`"${name}": name a file, e.g. csv:./data/iris.csv`);
  const params = new URLSearchParams(query);
  const label = params.get('label');
  const labelColumn = label === null ? -1 : Number(label);
  if (!Number.isInteger(labelColumn)) {
    throw new DatasetError(`"${name}": label=${label} is not a column number (0 is the first, -1 the last)`);
  }
  return csvTemplate(resolve(cwd, rawPath), { labelColumn });
}

export function csvTemplate(file: string, opts: CsvTemplateOptions = {}): ExperimentTemplate {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    const fix =
      code === 'ENOENT'
        ? `check the path (a relative path is resolved from the directory arlo runs in, ${process.cwd()})`
        : code === 'EISDIR'
          ? 'name a file, not a directory, e.g. csv:./data/iris.csv'
          : 'check that the file exists and is readable';
    throw new DatasetError(`cannot read CSV file ${file}: ${code}; ${fix}`);
  }
  if (text.includes('\u0000')) {
    throw new DatasetError(`${file}: not a text CSV file (it contains NUL bytes); export the data as comma-separated text`);
  }
  const header = hasHeader(text);
  const source = {
    kind: 'csv' as const,
    // Absolute: it resolves to itself whatever the data directory is.
    file,
    labelColumn: opts.labelColumn ?? -1,
    featureScale: 1,
    validationFraction: opts.validationFraction ?? 0.2,
    holdoutFraction: opts.holdoutFraction ?? 0.1,
    header,
    splitSeed: opts.splitSeed ?? 1,
  };
  // Parse once here: a broken file fails at `arlo start`, naming the row and column, not mid-campaign.
  const numClasses = Math.max(2, largestLabel(text, source.labelColumn, header) + 1);
  const probe = parseCsvDataset(text, source, numClasses, file);
  let scale = 0;
  for (const x of [probe.xTrain, probe.xVal, probe.xHoldout]) for (const v of x) scale = Math.max(scale, Math.abs(v));
  const features = probe.sampleShape[0]!;
  const name = `${CSV_PREFIX}${file}${source.labelColumn === -1 ? '' : `?label=${source.labelColumn}`}`;
  return {
    name,
    description:
      `Classify the rows of ${file} (${features} numeric features, ${numClasses} classes${header ? ', header row' : ''}) ` +
      `with an MLP. Splits: ${Math.round(source.validationFraction * 100)}% validation, ` +
      `${Math.round(source.holdoutFraction * 100)}% hidden holdout, fixed by seed ${source.splitSeed}. ` +
      `Metric: validation accuracy (higher is better).`,
    metric: { name: 'val_accuracy', direction: 'max' },
    numClasses,
    // Scaled by the largest magnitude so inputs lie in [-1, 1]; the file is read from its folder.
    data: { ...source, featureScale: scale > 0 ? scale : 1 },
    baseline: {
      arch: {
        nodes: [
          { id: 'x', op: 'input', shape: [features] },
          { id: 'h1', op: 'dense', inputs: ['x'], units: 64, activation: 'relu' },
          { id: 'h2', op: 'dense', inputs: ['h1'], units: 64, activation: 'relu' },
          { id: 'logits', op: 'dense', inputs: ['h2'], units: numClasses, activation: 'linear' },
        ],
        output: 'logits',
      },
      recipe: { optimizer: 'adam', learningRate: 1e-3, batchSize: 32, epochs: 20 },
    },
    editPolicy: {
      allowed: [...EDIT_OPS],
      fixedDepth: false,
      maxUnits: 512,
      maxEpochs: 60,
    },
  };
}

/** The largest integer label in the file (0 when there is none); parseCsvDataset checks the rest. */
function largestLabel(text: string, labelColumn: number, header: boolean): number {
  let max = 0;
  let skip = header;
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '') continue;
    if (skip) {
      skip = false;
      continue;
    }
    const cells = line.split(',');
    const v = Number(cells[labelColumn < 0 ? cells.length + labelColumn : labelColumn]);
    if (Number.isInteger(v) && v > max && v < 100_000) max = v;
  }
  return max;
}

/**
 * A first row with a cell that is text (not a number) is a header. Empty, NaN and Infinity cells
 * do not make a header: they are a broken data row, and parsing reports them by row and column
 * instead of silently dropping the row.
 */
function hasHeader(text: string): boolean {
  const first = text.split(/\r?\n/).find((l) => l.trim() !== '');
  if (first === undefined) return false;
  return first.split(',').some((cell) => {
    const c = cell.trim();
    return c !== '' && Number.isNaN(Number(c)) && !/^[+-]?(nan|inf(inity)?)$/i.test(c);
  });
}
