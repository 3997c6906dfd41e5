import type { EditOp } from '../arch/edit.ts';
import type { Spec } from '../arch/spec.ts';

// An experiment template is a task: where its data comes from, the baseline model, the recipe,
// the metric and what agents may change. Templates are plain data so they can be echoed into
// workflow inputs and git records.

export type MetricDirection = 'max' | 'min';

export interface MetricDef {
  /** Key in the metrics object a training returns, e.g. `val_accuracy`. */
  name: string;
  direction: MetricDirection;
}

/** Where samples come from; resolved to tensors only inside the trainer. */
export type DataSource =
  | {
      kind: 'teacher';
      /** Deterministic synthetic task: a fixed random network labels Gaussian inputs. */
      features: number;
      classes: number;
      hidden: number;
      inputScale: number;
      trainSamples: number;
      validationSamples: number;
      seed: number;
    }
  | {
      kind: 'csv';
      /** File name inside the data directory (ARLO_DATA_DIR). */
      file: string;
      /** Column index of the label; negative counts from the end. */
      labelColumn: number;
      /** Each feature is divided by this (e.g. 16 for digits pixels). */
      featureScale: number;
      /** Reshape features to this sample shape, e.g. [8, 8, 1]; default [features]. */
      sampleShape?: number[];
      validationFraction: number;
      /** Split seed: which rows are validation is fixed by it. */
      splitSeed: number;
    };

export interface EditPolicy {
  /** Edit kinds agents may propose on this template. */
  allowed: EditOp[];
  /**
   * Keep the number of weight layers fixed. On a "make this deep net train" task, removing
   * layers would win for the wrong reason.
   */
  fixedDepth: boolean;
  maxUnits: number;
  maxEpochs: number;
}

export interface ExperimentTemplate {
  name: string;
  description: string;
  metric: MetricDef;
  numClasses: number;
  data: DataSource;
  baseline: Spec;
  editPolicy: EditPolicy;
}
