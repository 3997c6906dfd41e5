// The training loop: seeded, cancellable between batches, leak-free.
//
// trainSpec() runs on the CALLER's thread. Use runTrainingInThread() (run-in-thread.ts) from code
// that must stay responsive (Temporal activities heartbeating).

import * as tf from '@tensorflow/tfjs';
import type { Spec } from '../arch/spec.ts';
import { buildModel, CompileError } from './compile.ts';
import type { Dataset } from './datasets.ts';
import { FlatOptimizer } from './optimizer.ts';
import { deriveSeed, permutation } from './rng.ts';

export interface EpochReport {
  /** 1-based epoch number. */
  epoch: number;
  epochs: number;
  /** Mean training loss over the epoch's batches. */
  loss: number;
  val_loss: number;
  val_accuracy: number;
  /** Seconds since this training started (building the model included). */
  seconds: number;
}

export interface TrainMetrics {
  val_accuracy: number;
  val_loss: number;
  train_loss: number;
  [name: string]: number;
}

export interface TrainResult {
  /** Metrics of the final model (after the last completed epoch, or at divergence). */
  metrics: TrainMetrics;
  curve: EpochReport[];
  params: number;
  backend: string;
  /** Wall time of the whole training, in seconds. */
  seconds: number;
  /** True when training ended before the planned epochs: divergence or `maxSeconds` reached. */
  stoppedEarly: boolean;
  /**
   * True when the training or validation loss became NaN, infinite or at least DIVERGED_LOSS
   * (no model that still trains gets there); losses are then reported as DIVERGED_LOSS.
   */
  diverged: boolean;
  /** When diverged: where and how, and what to change (e.g. the learning rate). */
  divergence?: string;
  /** Training samples passed forward and backward, summed over epochs: the compute a budget counts. */
  samplesSeen: number;
  /** Training rows used (all of them, or the `trainFraction` subset). */
  trainSamples: number;
}

/**
 * JSON-safe stand-in for a NaN/infinite loss (NaN and Infinity do not survive JSON payloads), and
 * the threshold: a finite loss this large also counts as diverged.
 */
export const DIVERGED_LOSS = 1e9;

/**
 * Thrown by trainSpec when `shouldStop()` returns true, and used (by name) by runTrainingInThread
 * when its AbortSignal fires. Check `err.name === 'TrainingCancelled'` across thread boundaries.
 */
export class TrainingCancelled extends Error {
  constructor(message = 'training cancelled') {
    super(message);
    this.name = 'TrainingCancelled';
  }
}

export interface TrainOptions {
  spec: Spec;
  data: Dataset;
  seed: number;
  /** Called after every epoch (and once at divergence). */
  onEpoch?: (e: EpochReport) => void;
  /** Polled between batches; returning true stops training with TrainingCancelled. */
  shouldStop?: () => boolean;
  /** Time budget: past it, training stops between batches, evaluates and returns stoppedEarly. */
  maxSeconds?: number;
  /** Validation batch size (memory only; results do not depend on it). Default 1024. */
  evalBatchSize?: number;
  /**
   * Also evaluate the hidden holdout (metrics holdout_accuracy, holdout_loss). Only for a
   * promotion to champion: the holdout must never steer a proposal or a keep decision.
   */
  evaluateHoldout?: boolean;
  /**
   * Train on this fraction (0, 1] of the training rows: a cheap fidelity rung. The subset is the
   * same for every seed and every spec, so results on one rung compare like with like.
   */
  trainFraction?: number;
}

const YIELD_EVERY_MS = 50;

/**
 * Trains `spec` on `data`, deterministically for a given seed on a given backend (initial weights,
 * shuffling and dropout masks derive from it). Softmax cross-entropy on the output logits; Adam or
 * SGD per the recipe (FlatOptimizer: one update over all parameters, see optimizer.ts); the last
 * partial batch of an epoch is used. The event loop is yielded to
 * every ~50 ms so `shouldStop` can observe messages/timers.
 *
 * Never leaks tensors: the model and the optimizer (whose Adam moments model.dispose() would not
 * free) are disposed on every exit path, including errors and cancellation.
 * Throws TrainingCancelled if `shouldStop()` returns true; a NaN/inf loss is NOT an error: the
 * result has `diverged: true`.
 */
export async function trainSpec(opts: TrainOptions): Promise<TrainResult> {
  const { spec, data, seed, onEpoch, shouldStop } = opts;
  const evalBatch = opts.evalBatchSize ?? 1024;
  const started = performance.now();
  const elapsed = (): number => (performance.now() - started) / 1000;
  const recipe = spec.recipe;
  checkRecipe(recipe);
  const sampleSize = data.sampleShape.reduce((a, b) => a * b, 1);
  const nTrainAll = data.yTrain.length;
  const nVal = data.yVal.length;
  if (nTrainAll === 0) throw new Error('training set is empty');
  if (data.xTrain.length !== nTrainAll * sampleSize || data.xVal.length !== nVal * sampleSize) {
    throw new Error(`dataset arrays do not match sampleShape [${data.sampleShape.join(', ')}]`);
  }
  const inputNode = spec.arch.nodes.find((n) => n.op === 'input');
  if (inputNode && inputNode.op === 'input' && !sameShape(inputNode.shape, data.sampleShape)) {
    throw new CompileError(
      `input node ${inputNode.id} has shape [${inputNode.shape.join(', ')}] but the data samples have shape [${data.sampleShape.join(', ')}]`,
    );
  }

  const rows = trainingRows(nTrainAll, opts.trainFraction);
  const nTrain = rows ? rows.length : nTrainAll;
  const numClasses = data.numClasses;
  const model = buildModel(spec, seed, { numClasses });
  let optimizer: FlatOptimizer;
  try {
    const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    optimizer = new FlatOptimizer(vars, { kind: recipe.optimizer, learningRate: recipe.learningRate });
  } catch (err) {
    model.dispose();
    throw err;
  }
  const batchSize = Math.min(recipe.batchSize, nTrain);
  const xBuf = new Float32Array(batchSize * sampleSize);
  const yBuf = new Float32Array(batchSize * numClasses);
  const curve: EpochReport[] = [];
  let lastYield = performance.now();
  let diverged = false;
  let divergence: string | undefined;
  const diverge = (where: string, loss: number): void => {
    diverged = true;
    const what = Number.isNaN(loss) ? 'NaN' : Number.isFinite(loss) ? `${loss.toExponential(2)} (≥ ${DIVERGED_LOSS.toExponential(0)})` : 'infinite';
    divergence =
      `training diverged in ${where}: the loss became ${what} with ${recipe.optimizer} at learningRate ${recipe.learningRate}; ` +
      'lower recipe.learningRate (e.g. 10× smaller) or add normalisation (addNorm) to make this model train';
  };
  let outOfTime = false;
  let trainLoss = NaN;
  let lastEval = { loss: NaN, accuracy: 0 };
  let samplesSeen = 0;

  try {
    for (let epoch = 1; epoch <= recipe.epochs && !diverged && !outOfTime; epoch++) {
      const perm = permutation(nTrain, deriveSeed(seed, 'shuffle', epoch));
      let lossSum = 0;
      let lossCount = 0;
      for (let start = 0; start < nTrain; start += batchSize) {
        if (shouldStop?.()) throw new TrainingCancelled();
        if (opts.maxSeconds !== undefined && elapsed() > opts.maxSeconds && lossCount > 0) {
          outOfTime = true;
          break;
        }
        const bs = Math.min(batchSize, nTrain - start);
        yBuf.fill(0, 0, bs * numClasses);
        for (let i = 0; i < bs; i++) {
          const r = rows ? rows[perm[start + i]!]! : perm[start + i]!;
          xBuf.set(data.xTrain.subarray(r * sampleSize, (r + 1) * sampleSize), i * sampleSize);
          yBuf[i * numClasses + data.yTrain[r]] = 1;
        }
        const lossValue = tf.tidy(() => {
          const xb = tf.tensor(xBuf.subarray(0, bs * sampleSize), [bs, ...data.sampleShape]);
          const yb = tf.tensor2d(yBuf.subarray(0, bs * numClasses), [bs, numClasses]);
          return optimizer.step(() => {
            const logits = model.apply(xb, { training: true }) as tf.Tensor;
            return tf.losses.softmaxCrossEntropy(yb, logits) as tf.Scalar;
          });
        });
        if (!(lossValue < DIVERGED_LOSS)) {
          diverge(`epoch ${epoch}, batch ${Math.floor(start / batchSize) + 1}`, lossValue);
          break;
        }
        lossSum += lossValue * bs;
        lossCount += bs;
        samplesSeen += bs;
        if (performance.now() - lastYield > YIELD_EVERY_MS) {
          await new Promise<void>((r) => setImmediate(r));
          lastYield = performance.now();
        }
      }
      if (shouldStop?.()) throw new TrainingCancelled();
      trainLoss = diverged ? NaN : lossSum / lossCount;
      lastEval = evaluate(model, data, sampleSize, evalBatch);
      // The last update can also be the one that broke the weights.
      if (!diverged && nVal > 0 && !(lastEval.loss < DIVERGED_LOSS)) diverge(`epoch ${epoch} (validation loss)`, lastEval.loss);
      const report: EpochReport = {
        epoch,
        epochs: recipe.epochs,
        loss: finiteOr(trainLoss),
        val_loss: finiteOr(lastEval.loss),
        val_accuracy: lastEval.accuracy,
        seconds: elapsed(),
      };
      curve.push(report);
      onEpoch?.(report);
      await new Promise<void>((r) => setImmediate(r));
      lastYield = performance.now();
    }
    const metrics: TrainMetrics = {
      val_accuracy: lastEval.accuracy,
      val_loss: finiteOr(lastEval.loss),
      train_loss: finiteOr(trainLoss),
    };
    if (opts.evaluateHoldout && data.yHoldout.length > 0) {
      const holdout = evaluate(model, data, sampleSize, evalBatch, 'holdout');
      metrics.holdout_accuracy = holdout.accuracy;
      metrics.holdout_loss = finiteOr(holdout.loss);
    }
    return {
      metrics,
      curve,
      params: model.countParams(),
      backend: tf.getBackend(),
      seconds: elapsed(),
      stoppedEarly: diverged || outOfTime,
      diverged,
      ...(divergence ? { divergence } : {}),
      samplesSeen,
      trainSamples: nTrain,
    };
  } finally {
    optimizer.dispose();
    model.dispose();
  }
}

/** The fixed row subset of a `trainFraction` rung (sorted), or null for all rows. */
function trainingRows(nTrain: number, fraction: number | undefined): number[] | null {
  if (fraction === undefined || fraction === 1) return null;
  if (!(fraction > 0 && fraction <= 1)) throw new CompileError(`trainFraction must be in (0, 1], got ${fraction}`);
  const count = Math.max(1, Math.round(nTrain * fraction));
  return Array.from(permutation(nTrain, deriveSeed(0, 'fidelity-subset', 0)).slice(0, count)).sort((a, b) => a - b);
}

function finiteOr(v: number): number {
  return Number.isFinite(v) && v < DIVERGED_LOSS ? v : DIVERGED_LOSS;
}

function sameShape(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function checkRecipe(r: Spec['recipe']): void {
  if (r.optimizer !== 'adam' && r.optimizer !== 'sgd') throw new CompileError(`unknown optimizer ${JSON.stringify(r.optimizer)}`);
  if (!(r.learningRate > 0) || !Number.isFinite(r.learningRate)) {
    throw new CompileError(`recipe.learningRate must be a finite number > 0, got ${r.learningRate}; use e.g. 0.001`);
  }
  if (!Number.isInteger(r.batchSize) || r.batchSize < 1) throw new CompileError(`batchSize must be a positive integer, got ${r.batchSize}`);
  if (!Number.isInteger(r.epochs) || r.epochs < 1) throw new CompileError(`epochs must be a positive integer, got ${r.epochs}`);
}

/**
 * Validation loss (mean softmax cross-entropy, computed in float64 from the logits) and accuracy.
 * Rows with non-finite logits count as wrong.
 */
export function evaluate(
  model: tf.LayersModel,
  data: Dataset,
  sampleSize: number,
  batchSize = 1024,
  split: 'validation' | 'holdout' = 'validation',
): { loss: number; accuracy: number } {
  const xs = split === 'holdout' ? data.xHoldout : data.xVal;
  const ys = split === 'holdout' ? data.yHoldout : data.yVal;
  const n = ys.length;
  if (n === 0) return { loss: NaN, accuracy: 0 };
  const C = data.numClasses;
  let lossSum = 0;
  let correct = 0;
  for (let start = 0; start < n; start += batchSize) {
    const bs = Math.min(batchSize, n - start);
    const logits = tf.tidy(() => {
      const xb = tf.tensor(xs.subarray(start * sampleSize, (start + bs) * sampleSize), [bs, ...data.sampleShape]);
      return (model.apply(xb, { training: false }) as tf.Tensor).dataSync() as Float32Array;
    });
    for (let i = 0; i < bs; i++) {
      const o = i * C;
      let max = -Infinity;
      let arg = -1;
      for (let c = 0; c < C; c++) {
        const v = logits[o + c];
        if (v > max) {
          max = v;
          arg = c;
        }
      }
      const y = ys[start + i];
      if (!Number.isFinite(max)) {
        lossSum = NaN;
        continue;
      }
      let se = 0;
      for (let c = 0; c < C; c++) se += Math.exp(logits[o + c] - max);
      lossSum += Math.log(se) + max - logits[o + y];
      if (arg === y) correct++;
    }
  }
  return { loss: lossSum / n, accuracy: correct / n };
}
