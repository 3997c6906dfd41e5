import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { getTemplate } from '../experiments/index.ts';
import type { ExperimentTemplate } from '../experiments/template.ts';
import { DatasetError, loadDataset, makeTeacherDataset } from '../training/datasets.ts';

const DATA_DIR = process.env.ARLO_DATA_DIR ?? '/work/shared/data';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'arlo-datasets-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function csvTemplate(file: string, numClasses = 3, extra: Partial<Extract<ExperimentTemplate['data'], { kind: 'csv' }>> = {}): ExperimentTemplate {
  const t = getTemplate('digits');
  return {
    ...t,
    name: 'test-csv',
    numClasses,
    data: { kind: 'csv', file, labelColumn: -1, featureScale: 1, validationFraction: 0.25, splitSeed: 3, ...extra },
  };
}

let fileNo = 0;
function writeCsv(text: string): string {
  const name = `f${fileNo++}.csv`;
  fs.writeFileSync(path.join(tmp, name), text);
  return name;
}

describe('teacher datasets', () => {
  const src = {
    kind: 'teacher' as const,
    features: 16,
    classes: 4,
    hidden: 32,
    inputScale: 4,
    trainSamples: 500,
    validationSamples: 100,
    seed: 9,
  };

  it('are deterministic in their seed and label by argmax of the teacher', () => {
    const a = makeTeacherDataset(src);
    const b = makeTeacherDataset(src);
    const c = makeTeacherDataset({ ...src, seed: 10 });
    expect(a.xTrain.length).toBe(500 * 16);
    expect(a.yVal.length).toBe(100);
    expect(a.sampleShape).toEqual([16]);
    expect(Array.from(a.xTrain.slice(0, 50))).toEqual(Array.from(b.xTrain.slice(0, 50)));
    expect(Array.from(a.yTrain)).toEqual(Array.from(b.yTrain));
    expect(Array.from(c.yTrain)).not.toEqual(Array.from(a.yTrain));
    // Inputs are standard normal; every class occurs.
    let mean = 0;
    let sq = 0;
    for (const v of a.xTrain) {
      mean += v;
      sq += v * v;
    }
    mean /= a.xTrain.length;
    expect(Math.abs(mean)).toBeLessThan(0.05);
    expect(Math.abs(sq / a.xTrain.length - 1)).toBeLessThan(0.05);
    const counts = [0, 0, 0, 0];
    for (const y of a.yTrain) counts[y]++;
    expect(counts.every((n) => n > 20)).toBe(true);
  });

  it('loadDataset caches per process', () => {
    const t = getTemplate('deep-mlp');
    t.data = { ...src, classes: 10 };
    const a = loadDataset(t, DATA_DIR);
    expect(loadDataset(t, DATA_DIR)).toBe(a);
    expect(() => loadDataset({ ...t, numClasses: 4 }, DATA_DIR)).toThrow(/data.classes \(10\) differs from numClasses \(4\)/);
  });
});

describe('csv datasets', () => {
  it('loads digits.csv with a fixed stratified split', () => {
    const t = getTemplate('digits');
    const d = loadDataset(t, DATA_DIR);
    expect(d.sampleShape).toEqual([64]);
    expect(d.numClasses).toBe(10);
    expect(d.yTrain.length + d.yVal.length + d.yHoldout.length).toBe(1797);
    expect(d.yHoldout.length).toBeGreaterThan(170);
    expect(d.yHoldout.length).toBeLessThan(190);
    expect(d.yVal.length).toBeGreaterThan(340);
    expect(d.yVal.length).toBeLessThan(380);
    expect(d.xTrain.length).toBe(d.yTrain.length * 64);
    // features scaled to [0, 1]
    expect(Math.max(...d.xTrain)).toBeLessThanOrEqual(1);
    expect(Math.min(...d.xTrain)).toBeGreaterThanOrEqual(0);
    // stratified: every class has ~20% of its rows in validation
    const counts = new Array(10).fill(0);
    for (const y of d.yVal) counts[y]++;
    expect(Math.min(...counts)).toBeGreaterThanOrEqual(33);
    // same split every time (also bypassing the cache: sampleShape differs)
    const conv = loadDataset(getTemplate('digits-conv'), DATA_DIR);
    expect(conv.sampleShape).toEqual([8, 8, 1]);
    expect(Array.from(conv.yVal)).toEqual(Array.from(d.yVal));
    expect(Array.from(conv.xTrain.slice(0, 128))).toEqual(Array.from(d.xTrain.slice(0, 128)));
  });

  it('parses a small file: label column, scaling, split sizes', () => {
    const rows = [];
    for (let i = 0; i < 40; i++) rows.push(`${i % 3},${i},${i * 2}`);
    const file = writeCsv(rows.join('\n') + '\n\n');
    const d = loadDataset(csvTemplate(file, 3, { labelColumn: 0, featureScale: 2 }), tmp);
    expect(d.sampleShape).toEqual([2]);
    expect(d.yTrain.length + d.yVal.length).toBe(40);
    expect(d.yVal.length).toBe(10); // round(14*.25)+round(13*.25)+round(13*.25) = 4+3+3
    // row with features (i, 2i) / 2 and label i % 3
    for (let k = 0; k < d.yTrain.length; k++) {
      const i = d.xTrain[2 * k] * 2;
      expect(d.xTrain[2 * k + 1]).toBe(i);
      expect(d.yTrain[k]).toBe(i % 3);
    }
  });

  const errorCases: Array<[string, string, RegExp, number?]> = [
    ['ragged rows', '1,2,0\n3,4,1\n5,1\n', /row 3 has 2 columns, expected 3 \(as in row 1\)/],
    ['a non-numeric cell', '1,2,0\n3,x4,1\n', /row 2, column 2: not a number: "x4"/],
    ['an empty cell', '1,2,0\n3,,1\n', /row 2, column 2: not a number: ""/],
    ['a header row', 'a,b,label\n1,2,0\n', /row 1, column 1: not a number: "a" \(if this row is a header, set header: true\)/],
    ['an empty file', '\n\n', /the file is empty/],
    ['a single class', '1,2,1\n3,4,1\n5,6,1\n', /all 3 rows have label 1; a classification task needs at least 2 classes/],
    ['a label out of range', '1,2,0\n3,4,3\n', /row 2, column 3: label 3 is out of range; labels must be integers 0\.\.2/],
    ['a negative label', '1,2,0\n3,4,-1\n', /row 2, column 3: label -1 is out of range/],
    ['a fractional label', '1,2,0\n3,4,1.5\n', /row 2, column 3: label 1.5 is out of range/],
  ];
  for (const [what, text, message] of errorCases) {
    it(`rejects ${what} with a message naming row and column`, () => {
      const file = writeCsv(text);
      const t = csvTemplate(file);
      expect(() => loadDataset(t, tmp)).toThrow(DatasetError);
      expect(() => loadDataset(t, tmp)).toThrow(message);
      // the file is named
      expect(() => loadDataset(t, tmp)).toThrow(file);
    });
  }

  it('rejects a sampleShape that does not match the columns', () => {
    const file = writeCsv('1,2,3,0\n4,5,6,1\n');
    expect(() => loadDataset(csvTemplate(file, 2, { sampleShape: [2, 2, 1] }), tmp)).toThrow(
      /sampleShape \[2, 2, 1\] holds 4 values but rows have 3 features/,
    );
  });

  it('says where it looked for a missing file and to set ARLO_DATA_DIR', () => {
    const t = csvTemplate('nope.csv');
    expect(() => loadDataset(t, tmp)).toThrow(DatasetError);
    expect(() => loadDataset(t, tmp)).toThrow(path.join(tmp, 'nope.csv'));
    expect(() => loadDataset(t, tmp)).toThrow(/Set ARLO_DATA_DIR/);
  });

  it('re-reads a file that changed on disk', () => {
    const file = writeCsv('1,0\n2,1\n3,0\n4,1\n');
    const t = csvTemplate(file, 2, { validationFraction: 0.5 });
    const a = loadDataset(t, tmp);
    fs.writeFileSync(path.join(tmp, file), '1,0\n2,1\n3,0\n4,1\n5,0\n6,1\n7,0\n8,1\n');
    const future = new Date(Date.now() + 5000);
    fs.utimesSync(path.join(tmp, file), future, future);
    const b = loadDataset(t, tmp);
    expect(a.yTrain.length + a.yVal.length).toBe(4);
    expect(b.yTrain.length + b.yVal.length).toBe(8);
  });
});
