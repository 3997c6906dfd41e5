// TF.js backend selection and the wasm fixes arlo needs to train on wasm in Node.
//
// Order of preference: tfjs-node ('tensorflow', optional: used only if it can be imported), then
// 'wasm' (XNNPACK, SIMD, single thread in Node), then 'cpu' (pure JS, very slow).
//
// Problems of stock @tensorflow/tfjs-backend-wasm 4.22 (see /work/shared/FACTS.md), fixed here by
// re-registering kernels for the 'wasm' backend (each replacement carries a marker: idempotent):
//   (a) BatchMatMul with transposeA/transposeB takes a scalar path 15-25x slower than XNNPACK.
//       Every Dense backward pass hits it. The replacement transposes the operand first with the
//       wasm Transpose kernel and then calls the stock kernel without transposes.
//   (b) Conv2DBackpropFilter is not registered, so conv nets cannot train. The replacement
//       computes the filter gradient from existing wasm kernels: pad, one slice per kernel offset
//       (an im2col, chunked when it would be large), transpose and one matmul. Matches the cpu
//       backend to ~1e-6 relative (test/training-backend.test.ts).
//   (c) Slice (also behind SplitV, Unpack, simple StridedSlice, Tile's gradient) first copies the
//       WHOLE input out of the wasm heap (readSync) for every slice. Splitting a 100k-element
//       vector into 50 pieces took 17-21 ms. The replacement copies only the slice, straight
//       from a heap view. SplitV and Unpack call the stock slice function directly, so they are
//       re-registered on top of the new Slice kernel.
//
// Other gradients our node ops need were checked on wasm against cpu (test/training-backend.test.ts,
// one graph with every op and activation): MaxPoolGrad, EluGrad, Step/Select (relu, selu),
// Erf (gelu), Sigmoid (swish), Mean/Sub/Rsqrt (layerNorm), SplitV (concat) all exist and agree.
// tf.layers.layerNormalization works but its gradient is very slow (tile + per-column slices);
// compile.ts uses its own broadcasting LayerNorm instead. UnsortedSegmentSum (the gradient of
// gather/embedding) is still missing on wasm; no arlo op needs it.

import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import path from 'node:path';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';

// Minimal structural types for the pieces of kernel machinery we touch.
interface TensorInfo {
  dataId: object;
  shape: number[];
  dtype: string;
}
interface WasmBackendLike {
  disposeData(dataId: object, force?: boolean): boolean;
}
type KernelFn = (args: { inputs: Record<string, TensorInfo>; backend: unknown; attrs?: Record<string, unknown> }) =>
  | TensorInfo
  | TensorInfo[];

const FIXED_MARK = '__arloFixed';
let chain: Promise<unknown> = Promise.resolve();
let autoChoice: string | null = null;

/**
 * Initialise TF.js once per process (or worker thread) and return the active backend name.
 * `preferred` picks a backend explicitly and fails if it cannot start ('cpu' is useful as a
 * numerical reference in tests). Without it: 'tensorflow' if `@tensorflow/tfjs-node` can be
 * imported, else 'wasm', else 'cpu'. Idempotent and safe to call concurrently; a later call with
 * another explicit preference switches the global backend (existing tensors stay usable).
 */
export function initBackend(preferred?: BackendName): Promise<string> {
  const next = chain.catch(() => undefined).then(() => doInit(preferred));
  chain = next;
  return next;
}

async function doInit(preferred?: BackendName): Promise<string> {
  if (!preferred && autoChoice) {
    if (tf.getBackend() !== autoChoice) await tf.setBackend(autoChoice);
    await tf.ready();
    return tf.getBackend();
  }
  const order: BackendName[] = preferred ? [preferred] : ['tensorflow', 'wasm', 'cpu'];
  const errors: string[] = [];
  for (const name of order) {
    try {
      if (name === 'tensorflow') await loadTfjsNode();
      if (name === 'wasm') await prepareWasm();
      // Never call tf.getBackend() before this point: it would initialise the default backend
      // (wasm included) before its .wasm paths are set.
      const ok = await tf.setBackend(name);
      if (!ok) throw new Error(`tf.setBackend('${name}') returned false`);
      await tf.ready();
      silenceCpuBanner();
      if (!preferred) autoChoice = name;
      return tf.getBackend();
    } catch (err) {
      errors.push(`${name}: ${(err as Error).message}`);
    }
  }
  throw new Error(`No TF.js backend could be initialised (${errors.join('; ')})`);
}

/**
 * The cpu backend prints a "looks like you are running TensorFlow.js in Node.js" banner on first
 * use (it is used for a few small host-side tensors even when wasm is active); once per worker
 * thread that is noise in every training log.
 */
function silenceCpuBanner(): void {
  try {
    const cpu = tf.findBackend('cpu') as unknown as { firstUse?: boolean } | null;
    if (cpu && 'firstUse' in cpu) cpu.firstUse = false;
  } catch {
    // not fatal
  }
}

async function loadTfjsNode(): Promise<void> {
  // Optional dependency; not installed on most machines. The variable name keeps bundlers and
  // TypeScript from resolving it statically.
  const mod = '@tensorflow/tfjs-node';
  await import(mod);
  if (!tf.findBackend('tensorflow')) throw new Error('tfjs-node imported but did not register a backend');
}

let wasmPrepared = false;
async function prepareWasm(): Promise<void> {
  if (wasmPrepared) return;
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  // In Node the .wasm binaries are read from disk; point the loader at the package's dist dir.
  const require = createRequire(import.meta.url);
  const dir = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep;
  try {
    wasm.setWasmPaths(dir);
  } catch {
    // Already initialised by someone else: the paths are no longer needed.
  }
  // Multi-threaded wasm cannot start in Node (blob: URLs); make that explicit.
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  installWasmKernelFixes();
  wasmPrepared = true;
}

/**
 * Register the wasm kernel fixes. Idempotent: the replacements carry a marker and are not wrapped
 * twice. Must run after '@tensorflow/tfjs-backend-wasm' is imported (which registers the stock
 * kernels); works before or after the backend is initialised.
 */
export function installWasmKernelFixes(): void {
  fixBatchMatMul();
  fixSlice();
  fixSplitVAndUnpack();
  registerConv2DBackpropFilter();
}

function kernelFn(name: string): KernelFn {
  const k = tf.getKernel(name, 'wasm');
  if (!k) throw new Error(`wasm kernel ${name} is not registered`);
  return k.kernelFunc as unknown as KernelFn;
}

function one(r: TensorInfo | TensorInfo[]): TensorInfo {
  return Array.isArray(r) ? r[0] : r;
}

function swapLastTwo(rank: number): number[] {
  const perm = Array.from({ length: rank }, (_, i) => i);
  perm[rank - 1] = rank - 2;
  perm[rank - 2] = rank - 1;
  return perm;
}

function fixBatchMatMul(): void {
  const stock = tf.getKernel('BatchMatMul', 'wasm');
  if (!stock) throw new Error('wasm BatchMatMul kernel missing');
  if ((stock as unknown as Record<string, unknown>)[FIXED_MARK]) return;
  const stockFn = stock.kernelFunc as unknown as KernelFn;
  const transpose = kernelFn('Transpose');
  const fixed: KernelFn = (args) => {
    const { inputs, backend, attrs } = args;
    const { a, b } = inputs;
    const transposeA = Boolean(attrs?.transposeA);
    const transposeB = Boolean(attrs?.transposeB);
    if (!transposeA && !transposeB) return stockFn(args);
    const be = backend as WasmBackendLike;
    const temps: TensorInfo[] = [];
    try {
      let a2 = a;
      let b2 = b;
      if (transposeA) {
        a2 = one(transpose({ inputs: { x: a }, backend, attrs: { perm: swapLastTwo(a.shape.length) } }));
        temps.push(a2);
      }
      if (transposeB) {
        b2 = one(transpose({ inputs: { x: b }, backend, attrs: { perm: swapLastTwo(b.shape.length) } }));
        temps.push(b2);
      }
      return stockFn({ inputs: { a: a2, b: b2 }, backend, attrs: { ...attrs, transposeA: false, transposeB: false } });
    } finally {
      for (const t of temps) be.disposeData(t.dataId);
    }
  };
  tf.unregisterKernel('BatchMatMul', 'wasm');
  const config = {
    kernelName: 'BatchMatMul',
    backendName: 'wasm',
    setupFunc: stock.setupFunc,
    disposeFunc: stock.disposeFunc,
    kernelFunc: fixed,
    [FIXED_MARK]: true,
  };
  tf.registerKernel(config as unknown as tf.KernelConfig);
}

interface WasmHeapBackend extends WasmBackendLike {
  makeOutput(shape: number[], dtype: string): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array | Int32Array | Uint8Array;
}

function fixSlice(): void {
  const stock = tf.getKernel('Slice', 'wasm');
  if (!stock) throw new Error('wasm Slice kernel missing');
  if ((stock as unknown as Record<string, unknown>)[FIXED_MARK]) return;
  const stockFn = stock.kernelFunc as unknown as KernelFn;
  const fixed: KernelFn = (args) => {
    const { inputs, backend, attrs } = args;
    const x = inputs.x;
    if (x.dtype === 'string') return stockFn(args);
    const be = backend as WasmHeapBackend;
    const [begin, size] = tf.slice_util.parseSliceParams(
      x as unknown as tf.TensorInfo,
      attrs!.begin as number[],
      attrs!.size as number[],
    );
    // makeOutput may grow the heap (detaching old views): allocate first, then take views.
    const out = be.makeOutput(size, x.dtype);
    const n = size.reduce((a, b) => a * b, 1);
    if (n === 0) return out;
    const xv = be.typedArrayFromHeap(x);
    const ov = be.typedArrayFromHeap(out);
    copySlice(xv, x.shape, ov, begin, size);
    return out;
  };
  tf.unregisterKernel('Slice', 'wasm');
  const config = { kernelName: 'Slice', backendName: 'wasm', setupFunc: stock.setupFunc, kernelFunc: fixed, [FIXED_MARK]: true };
  tf.registerKernel(config as unknown as tf.KernelConfig);
}

function fixSplitVAndUnpack(): void {
  for (const name of ['SplitV', 'Unpack']) {
    const stock = tf.getKernel(name, 'wasm');
    if (!stock) throw new Error(`wasm ${name} kernel missing`);
    if ((stock as unknown as Record<string, unknown>)[FIXED_MARK]) continue;
    const kernel: KernelFn =
      name === 'SplitV'
        ? ({ inputs, backend, attrs }) => {
            const x = inputs.x;
            const axis = tf.util.parseAxisParam(attrs!.axis as number, x.shape)[0];
            const sizes = (
              tf.backend_util as unknown as {
                prepareSplitSize(x: TensorInfo, n: number | number[], axis: number): number[];
              }
            ).prepareSplitSize(x, attrs!.numOrSizeSplits as number | number[], axis);
            const slice = kernelFn('Slice');
            const begin = new Array<number>(x.shape.length).fill(0);
            return sizes.map((n) => {
              const size = x.shape.slice();
              size[axis] = n;
              const out = one(slice({ inputs: { x }, backend, attrs: { begin: begin.slice(), size } }));
              begin[axis] += n;
              return out;
            });
          }
        : ({ inputs, backend, attrs }) => {
            const value = inputs.value;
            const rank = value.shape.length;
            let axis = attrs!.axis as number;
            if (axis < 0) axis += rank;
            const outShape = value.shape.filter((_, i) => i !== axis);
            const size = value.shape.slice();
            size[axis] = 1;
            const slice = kernelFn('Slice');
            const outs: TensorInfo[] = [];
            for (let i = 0; i < value.shape[axis]; i++) {
              const begin = new Array<number>(rank).fill(0);
              begin[axis] = i;
              const t = one(slice({ inputs: { x: value }, backend, attrs: { begin, size } }));
              outs.push({ dataId: t.dataId, dtype: t.dtype, shape: outShape });
            }
            return outs;
          };
    tf.unregisterKernel(name, 'wasm');
    const config = { kernelName: name, backendName: 'wasm', setupFunc: stock.setupFunc, kernelFunc: kernel, [FIXED_MARK]: true };
    tf.registerKernel(config as unknown as tf.KernelConfig);
  }
}

/** Copies x[begin : begin + size] (row-major) into out, one contiguous innermost run at a time. */
export function copySlice(
  x: { subarray(a: number, b: number): ArrayLike<number> },
  shape: number[],
  out: { set(a: ArrayLike<number>, offset?: number): void },
  begin: number[],
  size: number[],
): void {
  const rank = shape.length;
  if (rank === 0) {
    out.set(x.subarray(0, 1), 0);
    return;
  }
  const strides = new Array<number>(rank);
  strides[rank - 1] = 1;
  for (let d = rank - 2; d >= 0; d--) strides[d] = strides[d + 1] * shape[d + 1];
  // Merge trailing dims that are taken whole into the innermost run.
  let inner = rank - 1;
  let run = size[rank - 1];
  while (inner > 0 && size[inner] === shape[inner] && begin[inner] === 0) {
    inner--;
    run *= size[inner];
  }
  const idx = new Array<number>(inner).fill(0);
  let o = 0;
  for (;;) {
    let off = begin[inner] * strides[inner];
    for (let d = 0; d < inner; d++) off += (begin[d] + idx[d]) * strides[d];
    out.set(x.subarray(off, off + run), o);
    o += run;
    let d = inner - 1;
    while (d >= 0) {
      if (++idx[d] < size[d]) break;
      idx[d] = 0;
      d--;
    }
    if (d < 0) break;
  }
}

/** Max im2col elements materialised at once (floats); larger problems are done in chunks. */
const IM2COL_MAX_ELEMENTS = 4_000_000;

function registerConv2DBackpropFilter(): void {
  const existing = tf.getKernel('Conv2DBackpropFilter', 'wasm');
  if (existing) {
    if ((existing as unknown as Record<string, unknown>)[FIXED_MARK]) return;
    return; // A real implementation exists (newer tfjs): keep it.
  }
  const config = {
    kernelName: 'Conv2DBackpropFilter',
    backendName: 'wasm',
    kernelFunc: conv2DBackpropFilterWasm,
    [FIXED_MARK]: true,
  };
  tf.registerKernel(config as unknown as tf.KernelConfig);
}

/**
 * dW[kh, kw, ci, co] = sum over (b, oh, ow) of xPadded[b, oh*s + kh*d, ow*s + kw*d, ci] * dy[b, oh, ow, co].
 * For every kernel offset (kh, kw) a strided slice of the padded input gives the [N, Ci] patch
 * matrix (N = batch*outH*outW); the patches of several offsets are concatenated on the last axis
 * (im2col). dW = P^T · dy is computed as transpose(dy^T · P) so that no matmul operand is
 * transposed (the fast XNNPACK path) and only the small [Co, KH*KW*Ci] result is transposed.
 */
function conv2DBackpropFilterWasm(args: {
  inputs: Record<string, TensorInfo>;
  backend: unknown;
  attrs?: Record<string, unknown>;
}): TensorInfo {
  const { inputs, backend } = args;
  const attrs = (args.attrs ?? {}) as {
    strides: number | [number, number];
    pad: 'same' | 'valid' | number | number[][];
    dataFormat?: 'NHWC' | 'NCHW';
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
    filterShape: [number, number, number, number];
    dilations?: number | [number, number];
  };
  const { x, dy } = inputs;
  const dataFormat = attrs.dataFormat ?? 'NHWC';
  if (dataFormat !== 'NHWC') throw new Error(`wasm Conv2DBackpropFilter: only NHWC is supported, got ${dataFormat}`);
  const dilations = attrs.dilations ?? 1;
  const convInfo = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterShape,
    attrs.strides,
    dilations,
    attrs.pad as 'same',
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
  const {
    batchSize,
    inChannels,
    outChannels,
    outHeight,
    outWidth,
    strideHeight,
    strideWidth,
    dilationHeight,
    dilationWidth,
    filterHeight,
    filterWidth,
    padInfo,
  } = convInfo;
  const be = backend as WasmBackendLike;
  const pad = kernelFn('PadV2');
  const stridedSlice = kernelFn('StridedSlice');
  const slice = kernelFn('Slice');
  const reshape = kernelFn('Reshape');
  const concat = kernelFn('Concat');
  const transpose = kernelFn('Transpose');
  const batchMatMul = kernelFn('BatchMatMul');
  const temps: TensorInfo[] = [];
  const keep = (t: TensorInfo | TensorInfo[]): TensorInfo => {
    const r = one(t);
    temps.push(r);
    return r;
  };
  const free = (t: TensorInfo): void => {
    const i = temps.indexOf(t);
    if (i >= 0) temps.splice(i, 1);
    be.disposeData(t.dataId);
  };
  try {
    const n = batchSize * outHeight * outWidth;
    // dy as [N, Co], then dy^T as [Co, N] (transposing the small operand once).
    const dy2 = keep(reshape({ inputs: { x: dy }, backend, attrs: { shape: [n, outChannels] } }));
    const dyT = keep(transpose({ inputs: { x: dy2 }, backend, attrs: { perm: [1, 0] } }));
    let xp = x;
    const { top, bottom, left, right } = padInfo;
    if (top || bottom || left || right) {
      xp = keep(
        pad({
          inputs: { x },
          backend,
          attrs: {
            paddings: [
              [0, 0],
              [Math.max(0, top), Math.max(0, bottom)],
              [Math.max(0, left), Math.max(0, right)],
              [0, 0],
            ],
            constantValue: 0,
          },
        }),
      );
    }
    // Negative pads (possible with explicit padding) are handled by shifting the slice start.
    const offH = Math.min(0, top);
    const offW = Math.min(0, left);
    const offsets: Array<[number, number]> = [];
    for (let kh = 0; kh < filterHeight; kh++) for (let kw = 0; kw < filterWidth; kw++) offsets.push([kh, kw]);
    const perChunk = Math.max(1, Math.floor(IM2COL_MAX_ELEMENTS / Math.max(1, n * inChannels)));
    const parts: TensorInfo[] = []; // each [Co, k*Ci]
    for (let start = 0; start < offsets.length; start += perChunk) {
      const chunk = offsets.slice(start, start + perChunk);
      const patches: TensorInfo[] = [];
      for (const [kh, kw] of chunk) {
        const h0 = kh * dilationHeight - offH;
        const w0 = kw * dilationWidth - offW;
        // Unit strides: a plain Slice (heap copy of just the window); else the native strided slice.
        const unitStride = strideHeight === 1 && strideWidth === 1;
        const sl = keep(
          unitStride
            ? slice({
                inputs: { x: xp },
                backend,
                attrs: { begin: [0, h0, w0, 0], size: [batchSize, outHeight, outWidth, inChannels] },
              })
            : stridedSlice({
                inputs: { x: xp },
                backend,
                attrs: {
                  begin: [0, h0, w0, 0],
                  end: [batchSize, h0 + (outHeight - 1) * strideHeight + 1, w0 + (outWidth - 1) * strideWidth + 1, inChannels],
                  strides: [1, strideHeight, strideWidth, 1],
                  beginMask: 0,
                  endMask: 0,
                  ellipsisMask: 0,
                  newAxisMask: 0,
                  shrinkAxisMask: 0,
                },
              }),
        );
        const p = keep(reshape({ inputs: { x: sl }, backend, attrs: { shape: [n, inChannels] } }));
        free(sl);
        patches.push(p);
      }
      let cols: TensorInfo;
      if (patches.length === 1) cols = patches[0];
      else {
        cols = keep(concat({ inputs: patches as unknown as Record<string, TensorInfo>, backend, attrs: { axis: 1 } }));
        for (const p of patches) free(p);
      }
      // [Co, N] x [N, k*Ci] -> [Co, k*Ci], no transposed operands (fast XNNPACK path).
      parts.push(keep(batchMatMul({ inputs: { a: dyT, b: cols }, backend, attrs: { transposeA: false, transposeB: false } })));
      free(cols);
    }
    let all: TensorInfo;
    if (parts.length === 1) all = parts[0];
    else {
      all = keep(concat({ inputs: parts as unknown as Record<string, TensorInfo>, backend, attrs: { axis: 1 } }));
      for (const p of parts) free(p);
    }
    // all: [Co, KH*KW*Ci] -> [KH*KW*Ci, Co] -> [KH, KW, Ci, Co]
    const all2 = keep(reshape({ inputs: { x: all }, backend, attrs: { shape: [outChannels, filterHeight * filterWidth * inChannels] } }));
    const t = one(transpose({ inputs: { x: all2 }, backend, attrs: { perm: [1, 0] } }));
    const out = one(reshape({ inputs: { x: t }, backend, attrs: { shape: [filterHeight, filterWidth, inChannels, outChannels] } }));
    be.disposeData(t.dataId);
    return out;
  } finally {
    for (const t of temps) be.disposeData(t.dataId);
  }
}
