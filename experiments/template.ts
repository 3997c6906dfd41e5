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
      /** Hidden holdout: never seen by agents or keep decisions; evaluated on promotion only. */
      holdoutSamples?: number;
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
      /** Hidden holdout fraction (default 0): evaluated on promotion only, never in a decision. */
      holdoutFraction?: number;
      /** The first non-blank row names the columns and is skipped. */
      header?: boolean;
      /** Split seed: which rows are validation (and holdout) is fixed by it. */
      splitSeed: number;
    }
  | {
      kind: 'files';
      /**
       * Files in the data directory (ARLO_DATA_DIR) that an external job reads itself, e.g.
       * tinyshakespeare.txt. Only external templates use this kind; the TF.js trainer cannot.
       */
      files: string[];
    };

/** Where an external job runs: on this worker, or submitted to a cluster (see training/external/runners.ts). */
export type RunnerKind = 'local' | 'slurm' | 'kubernetes';

/**
 * A training command run once per experiment instead of the in-process TF.js trainer.
 * See README, "External training jobs", and training/external/.
 */
export interface ExternalJob {
  /**
   * argv, e.g. ["/usr/bin/python3", "train.py", "--spec", "{spec}", "--out", "{out}"]. Never run
   * through a shell. The placeholders {spec} (the job file), {out} (a folder for outputs),
   * {workdir} (the job's working folder) and {data} (the data directory) must be whole elements;
   * they become absolute paths. Nothing from a proposal is ever spliced into the command.
   */
  command: string[];
  /**
   * Folder with the job's files (relative to the arlo checkout, or absolute). Each experiment
   * runs in a fresh copy of it: <ARLO_HOME>/runs/<campaign>/<n>-attempt-<k>/.
   */
  folder: string;
  /**
   * Names of extra environment variables passed through from the worker, besides PATH, HOME and
   * LANG. Names that look like secrets (*API_KEY*, *TOKEN*, *SECRET*, *PASSWORD*, ...) are refused.
   */
  env: string[];
  /** Wall-clock limit; the whole process tree is killed when it passes (failure JobTimeout). */
  timeoutSeconds: number;
  /**
   * stdout + stderr kept in the work folder's output.log, at most; beyond it output is read and
   * discarded (the job never stalls on a full pipe). The record keeps the last 8 KB either way.
   */
  maxOutputBytes: number;
  /** Default 'local'. A worker's ARLO_RUNNER overrides it (README: pointing a campaign at a cluster). */
  runner: RunnerKind;
  /** Seconds between SIGTERM and SIGKILL when the job is stopped (default 5). */
  killGraceSeconds?: number;
  slurm?: SlurmRunnerOptions;
  kubernetes?: KubernetesRunnerOptions;
}

export interface SlurmRunnerOptions {
  /** Submit command argv prefix (default ["sbatch"]). */
  submit?: string[];
  /** Cancel command argv prefix (default ["scancel"]); arlo appends --name=<job name>. */
  cancel?: string[];
  /** Extra sbatch options, e.g. ["--partition=gpu", "--gres=gpu:1"]. */
  args?: string[];
}

export interface KubernetesRunnerOptions {
  /** kubectl argv prefix (default ["kubectl"]), e.g. ["kubectl", "--context", "lab"]. */
  kubectl?: string[];
  /** Container image that has the job's interpreter (e.g. a PyTorch image). */
  image?: string;
  namespace?: string;
  /** Extra `kubectl run` options. */
  args?: string[];
  /**
   * Merged into the pod's spec (e.g. volumes, nodeSelector) and into its one container (e.g.
   * volumeMounts, resources). The work folder and the data directory must be visible in the
   * pod at the same paths, typically through a shared volume.
   */
  podSpec?: Record<string, unknown>;
  container?: Record<string, unknown>;
}

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
  /**
   * How often the built-in agents draw each edit kind (default 1 each). A "make it train" task
   * favours the structural edits that can fix it over tuning that cannot.
   */
  editWeights?: Partial<Record<EditOp, number>>;
}

export interface ExperimentTemplate {
  name: string;
  description: string;
  metric: MetricDef;
  numClasses: number;
  data: DataSource;
  baseline: Spec;
  editPolicy: EditPolicy;
  /** Set for templates whose training is an external command (e.g. a PyTorch script). */
  external?: ExternalJob;
}
