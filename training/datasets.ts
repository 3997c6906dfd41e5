// Turns an experiment template's DataSource into plain typed arrays. No TF.js here: datasets are
// built (or read) once per process and shared; tensors are made per batch by the trainer.

import fs from 'node:fs';
import path from 'node:path';
import type { DataSource, ExperimentTemplate } from '../experiments/template.ts';
import { Rng, deriveSeed } from './rng.ts';

export interface Dataset {
  /** Row-major samples, `sampleShape` each. */
  xTrain: Float32Array;
  yTrain: Int32Array;
  xVal: Float32Array;
  yVal: Int32Array;
  /** Hidden holdout (may be empty): only evaluated when a challenger is promoted to champion. */
  xHoldout: Float32Array;
  yHoldout: Int32Array;
  /** Shape of one sample without the batch dimension, e.g. [64] or [8, 8, 1]. */
  sampleShape: number[];
  numClasses: number;
}

export class DatasetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DatasetError';
  }
}

/** Environment variable that points at the data directory for `csv` templates. */
export const DATA_DIR_ENV = 'ARLO_DATA_DIR';

const cache = new Map<string, Dataset>();

/**
 * Builds (teacher) or reads (csv) the template's dataset. Results are cached per process, keyed by
 * the data source (and, for files, path + size + mtime). The returned arrays are shared: treat
 * them as read-only.
 */
export function loadDataset(template: ExperimentTemplate, dataDir: string): Dataset {
  const src = template.data;
  if (src.kind === 'teacher') {
    const key = `teacher:${JSON.stringify(src)}:${template.numClasses}`;
    let ds = cache.get(key);
    if (!ds) {
      if (src.classes !== template.numClasses) {
        throw new DatasetError(
          `template ${template.name}: data.classes (${src.classes}) differs from numClasses (${template.numClasses})`,
        );
      }
      ds = makeTeacherDataset(src);
      cache.set(key, ds);
    }
    return ds;
  }
  if (src.kind === 'csv') {
    const file = path.resolve(dataDir, src.file);
    let stat: fs.Stats;
    try {
      stat = fs.statSync(file);
    } catch {
      throw new DatasetError(
        `template ${template.name}: data file ${src.file} not found; looked for ${file} ` +
          `(data directory ${path.resolve(dataDir)}). Set ${DATA_DIR_ENV} to the directory that holds ${src.file}.`,
      );
    }
    const key = `csv:${file}:${stat.size}:${stat.mtimeMs}:${JSON.stringify(src)}:${template.numClasses}`;
    let ds = cache.get(key);
    if (!ds) {
      ds = parseCsvDataset(fs.readFileSync(file, 'utf8'), src, template.numClasses, file);
      cache.set(key, ds);
    }
    return ds;
  }
  throw new DatasetError(`template ${template.name}: unknown data kind ${(src as { kind: string }).kind}`);
}

/** Drops every cached dataset (tests). */
export function clearDatasetCache(): void {
  cache.clear();
}

// ---------------------------------------------------------------------------------------------
// teacher

type TeacherSource = Extract<DataSource, { kind: 'teacher' }>;

/**
 * A fixed random teacher network labels standard-normal inputs:
 *   y = argmax(W2 · tanh(W1 · x / inputScale)),  W1: [hidden, features], W2: [classes, hidden],
 * all weights and inputs N(0, 1) from one seeded stream (weights first, then train, then val).
 */
export function makeTeacherDataset(src: TeacherSource): Dataset {
  const { features: F, classes: C, hidden: H, inputScale, trainSamples, validationSamples, seed } = src;
  for (const [k, v] of Object.entries({ features: F, classes: C, hidden: H, trainSamples, validationSamples })) {
    if (!Number.isInteger(v) || v <= 0) throw new DatasetError(`teacher data: ${k} must be a positive integer, got ${v}`);
  }
  if (C < 2) throw new DatasetError(`teacher data: classes must be at least 2, got ${C}`);
  if (!(inputScale > 0)) throw new DatasetError(`teacher data: inputScale must be > 0, got ${inputScale}`);
  const rng = new Rng(deriveSeed(seed, 'teacher'));
  const w1 = new Float64Array(H * F);
  const w2 = new Float64Array(C * H);
  for (let i = 0; i < w1.length; i++) w1[i] = rng.gaussian();
  for (let i = 0; i < w2.length; i++) w2[i] = rng.gaussian();
  const xr = new Float64Array(F);
  const invScale = 1 / inputScale;
  const make = (n: number): { x: Float32Array; y: Int32Array } => {
    const x = new Float32Array(n * F);
    const y = new Int32Array(n);
    const h = new Float64Array(H);
    for (let s = 0; s < n; s++) {
      const off = s * F;
      for (let f = 0; f < F; f++) {
        // Labels are computed from the float32 value the model will see.
        x[off + f] = rng.gaussian();
        xr[f] = x[off + f];
      }
      for (let j = 0; j < H; j++) {
        // Four partial sums (fixed order, so results are reproducible) run ~2x faster.
        let a0 = 0;
        let a1 = 0;
        let a2 = 0;
        let a3 = 0;
        const wo = j * F;
        let f = 0;
        for (; f + 3 < F; f += 4) {
          a0 += w1[wo + f] * xr[f];
          a1 += w1[wo + f + 1] * xr[f + 1];
          a2 += w1[wo + f + 2] * xr[f + 2];
          a3 += w1[wo + f + 3] * xr[f + 3];
        }
        for (; f < F; f++) a0 += w1[wo + f] * xr[f];
        h[j] = Math.tanh((a0 + a1 + (a2 + a3)) * invScale);
      }
      let best = -Infinity;
      let arg = 0;
      for (let c = 0; c < C; c++) {
        let acc = 0;
        const wo = c * H;
        for (let j = 0; j < H; j++) acc += w2[wo + j] * h[j];
        if (acc > best) {
          best = acc;
          arg = c;
        }
      }
      y[s] = arg;
    }
    return { x, y };
  };
  const holdoutSamples = src.holdoutSamples ?? 0;
  if (!Number.isInteger(holdoutSamples) || holdoutSamples < 0) {
    throw new DatasetError(`teacher data: holdoutSamples must be a whole number ≥ 0, got ${holdoutSamples}`);
  }
  const train = make(trainSamples);
  const val = make(validationSamples);
  // Drawn after train and validation, so adding a holdout leaves those samples unchanged.
  const holdout = make(holdoutSamples);
  return {
    xTrain: train.x,
    yTrain: train.y,
    xVal: val.x,
    yVal: val.y,
    xHoldout: holdout.x,
    yHoldout: holdout.y,
    sampleShape: [F],
    numClasses: C,
  };
}

// ---------------------------------------------------------------------------------------------
// csv

type CsvSource = Extract<DataSource, { kind: 'csv' }>;

/**
 * Parses a headerless numeric CSV: one sample per line, comma separated, the label in
 * `labelColumn` (negative counts from the end). Labels must be integers in [0, numClasses).
 * `where` names the file in error messages. Blank lines are skipped.
 */
export function parseCsvDataset(text: string, src: CsvSource, numClasses: number, where = src.file): Dataset {
  const lines = text.split(/\r?\n/);
  const rows: number[][] = [];
  const rowLine: number[] = [];
  let width = -1;
  let widthLine = 0;
  let headerPending = src.header === true;
  for (let li = 0; li < lines.length; li++) {
    const line = lines[li].trim();
    if (line === '') continue;
    if (headerPending) {
      headerPending = false;
      width = line.split(',').length;
      widthLine = li + 1;
      continue;
    }
    const cells = line.split(',');
    const lineNo = li + 1;
    if (width < 0) {
      width = cells.length;
      widthLine = lineNo;
      if (width < 2) {
        const sep = otherSeparator(line);
        throw new DatasetError(
          `${where}: row ${lineNo} has ${width} column; need features and a label` +
            (sep ? ` (cells must be separated by commas, this row seems to use ${sep})` : '; give each row numeric features, then the label, separated by commas'),
        );
      }
    } else if (cells.length !== width) {
      throw new DatasetError(
        `${where}: row ${lineNo} has ${cells.length} columns, expected ${width} (as in row ${widthLine}); ` +
          'every row needs the same number of comma-separated cells: fix or delete that row',
      );
    }
    const vals = new Array<number>(width);
    for (let c = 0; c < width; c++) {
      const cell = cells[c].trim();
      const v = cell === '' ? NaN : Number(cell);
      if (!Number.isFinite(v)) {
        const sep = otherSeparator(cells[c]);
        const missing = cell === '' || /^[+-]?(nan|inf(inity)?)$/i.test(cell);
        // Text in the first row may be a header; an empty or NaN cell is a broken data row.
        const hint = rows.length === 0 && !src.header && !missing ? ' (if this row is a header, set header: true)' : '';
        const fix = sep
          ? `cells must be separated by commas, this row seems to use ${sep}`
          : cell === ''
            ? 'fill in the empty cell or delete the row'
            : missing
              ? 'NaN and infinite values are not allowed: fill in the value or delete the row'
              : 'every cell must be a plain number (no quotes, units or text): fix or delete the row';
        throw new DatasetError(`${where}: row ${lineNo}, column ${c + 1}: not a number: ${JSON.stringify(cells[c])}${hint}; ${fix}`);
      }
      vals[c] = v;
    }
    rows.push(vals);
    rowLine.push(lineNo);
  }
  if (rows.length === 0) {
    const what = width > 0 ? 'the file is empty apart from its header row (no data rows)' : 'the file is empty (no data rows)';
    throw new DatasetError(`${where}: ${what}; add one sample per line: numeric features, then an integer label, e.g. 0.5,1.2,0`);
  }
  const holdoutFraction = src.holdoutFraction ?? 0;
  if (!(holdoutFraction >= 0 && src.validationFraction + holdoutFraction < 1)) {
    throw new DatasetError(
      `${where}: holdoutFraction must be ≥ 0 and leave training rows (validationFraction + holdoutFraction < 1), got ${holdoutFraction}`,
    );
  }
  const labelCol = src.labelColumn < 0 ? width + src.labelColumn : src.labelColumn;
  if (labelCol < 0 || labelCol >= width) {
    throw new DatasetError(
      `${where}: labelColumn ${src.labelColumn} is outside the ${width} columns; ` +
        `use 0..${width - 1}, or a negative number counting from the end (-1 is the last column), e.g. csv:<file>?label=-1`,
    );
  }
  const nFeat = width - 1;
  const sampleShape = src.sampleShape ?? [nFeat];
  const shapeSize = sampleShape.reduce((a, b) => a * b, 1);
  if (shapeSize !== nFeat) {
    throw new DatasetError(`${where}: sampleShape [${sampleShape.join(', ')}] holds ${shapeSize} values but rows have ${nFeat} features`);
  }
  if (!(src.featureScale > 0)) throw new DatasetError(`${where}: featureScale must be > 0, got ${src.featureScale}`);
  if (!(src.validationFraction > 0 && src.validationFraction < 1)) {
    throw new DatasetError(`${where}: validationFraction must be in (0, 1), got ${src.validationFraction}`);
  }
  const n = rows.length;
  const labels = new Int32Array(n);
  const counts = new Array<number>(numClasses).fill(0);
  for (let r = 0; r < n; r++) {
    const v = rows[r][labelCol];
    if (!Number.isInteger(v) || v < 0 || v >= numClasses) {
      throw new DatasetError(
        `${where}: row ${rowLine[r]}, column ${labelCol + 1}: label ${v} is out of range; labels must be integers 0..${numClasses - 1}`,
      );
    }
    labels[r] = v;
    counts[v]++;
  }
  const present = counts.filter((c) => c > 0).length;
  if (present < 2) {
    throw new DatasetError(
      `${where}: all ${n} rows have label ${labels[0]}; a classification task needs at least 2 classes: ` +
        `add rows of other classes, or check that the label column (${labelCol + 1}) is the right one`,
    );
  }

  // Stratified split fixed by splitSeed: per class, a seeded shuffle; the first
  // round(count * fraction) rows of each class go to validation.
  const rng = new Rng(deriveSeed(src.splitSeed, 'split'));
  const byClass: number[][] = Array.from({ length: numClasses }, () => []);
  for (let r = 0; r < n; r++) byClass[labels[r]].push(r);
  const valIdx: number[] = [];
  const holdoutIdx: number[] = [];
  const trainIdx: number[] = [];
  for (const idx of byClass) {
    rng.shuffle(idx);
    const k = Math.round(idx.length * src.validationFraction);
    const h = Math.round(idx.length * holdoutFraction);
    valIdx.push(...idx.slice(0, k));
    holdoutIdx.push(...idx.slice(k, k + h));
    trainIdx.push(...idx.slice(k + h));
  }
  holdoutIdx.sort((a, b) => a - b);
  if (valIdx.length === 0 || trainIdx.length === 0) {
    throw new DatasetError(
      `${where}: ${n} rows are too few for validationFraction ${src.validationFraction}: ` +
        'no rows would be left for validation or for training; add rows (10 or more per class is a sensible minimum)',
    );
  }
  valIdx.sort((a, b) => a - b);
  trainIdx.sort((a, b) => a - b);
  const take = (idx: number[]): { x: Float32Array; y: Int32Array } => {
    const x = new Float32Array(idx.length * nFeat);
    const y = new Int32Array(idx.length);
    idx.forEach((r, i) => {
      const row = rows[r];
      let o = i * nFeat;
      for (let c = 0; c < width; c++) if (c !== labelCol) x[o++] = row[c] / src.featureScale;
      y[i] = labels[r];
    });
    return { x, y };
  };
  const tr = take(trainIdx);
  const va = take(valIdx);
  const ho = take(holdoutIdx);
  return {
    xTrain: tr.x,
    yTrain: tr.y,
    xVal: va.x,
    yVal: va.y,
    xHoldout: ho.x,
    yHoldout: ho.y,
    sampleShape: [...sampleShape],
    numClasses,
  };
}

/** `";"` or `"a tab"` when a cell holds that separator instead of commas, else null. */
function otherSeparator(text: string): string | null {
  if (text.includes(';')) return '";"';
  if (text.includes('\t')) return 'tabs';
  return null;
}

/** The data directory: explicit argument, else $ARLO_DATA_DIR, else `fallback`. */
export function resolveDataDir(explicit: string | undefined, fallback: string): string {
  return explicit ?? process.env[DATA_DIR_ENV] ?? fallback;
}
