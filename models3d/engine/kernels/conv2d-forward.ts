/**
 * Conv2D on wasm: XNNPACK's own kernel, except for convolutions with one or two output channels
 * (a generator's output layer), where XNNPACK's GEMM tile is mostly empty and it runs ~20× below its
 * speed for wide layers. There, B×B blocks of output pixels become B²·CO output channels of one
 * stride-B convolution with a (fh+B−1)×(fw+B−1) filter (built once per filter and cached):
 *   Yb[i, j, (a·B+b)·CO + o] = y[B·i+a, B·j+b, o],   W_B[r', c', i, (a·B+b)·CO + o] = W[r'−a, c'−b, i, o].
 * With onnxruntime's blocked-channel kernels (native-conv), B is chosen so that B²·CO fills one channel
 * block and the blocked convolution runs there (a 3-D output layer's per-depth-tap 7×7 16→1
 * convolutions: ~2× the multiply-adds at several times XNNPACK's speed).
 */
import {
  backend_util,
  Conv2D,
  type Conv2DAttrs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { cachedTransform } from './conv2d-filter-cache.ts';
import { allocF32, f32Offset, heapF32, release } from './conv2d-util.ts';
import { stockWasmKernel } from './util-stock-kernels.ts';
import { convEngineInfo, geometry2d, nativeConv } from '../native-conv/native-conv.ts';

/** XNNPACK's GEMM costs about the same for 1 … 8 output channels. */
const GEMM_TILE = 8;

/** Output block size B for this convolution (1: use the stock kernel as is). */
export function outputBlockSize(info: backend_util.Conv2DInfo): number {
  if (info.dataFormat !== 'channelsLast' || info.strideHeight !== 1 || info.strideWidth !== 1) return 1;
  if (info.dilationHeight !== 1 || info.dilationWidth !== 1) return 1;
  if (info.inChannels < GEMM_TILE || info.outChannels > 2) return 1;
  const { filterHeight: fh, filterWidth: fw, outChannels: co } = info;
  let best = 1;
  let bestScore = co;
  for (const b of [2, 3]) {
    if (info.outHeight < b || info.outWidth < b) continue;
    const score = Math.min(b * b * co, GEMM_TILE) / (((fh + b - 1) * (fw + b - 1)) / (fh * fw));
    if (score > bestScore * 1.2) {
      best = b;
      bestScore = score;
    }
  }
  return best;
}

/** Most multiply-adds the onnxruntime blocked form may add: (fh+B−1)(fw+B−1)/(fh·fw). */
const MAX_NATIVE_BLOCK_OVERHEAD = 2.1;

/**
 * Output block size B whose B²·CO output channels are exactly one of onnxruntime's channel blocks
 * (0: none, or too many extra multiply-adds — small filters).
 */
export function nativeOutputBlockSize(info: backend_util.Conv2DInfo, channelBlock: number): number {
  if (channelBlock === 0 || info.dataFormat !== 'channelsLast' || info.strideHeight !== 1 || info.strideWidth !== 1) return 0;
  if (info.dilationHeight !== 1 || info.dilationWidth !== 1 || info.outChannels > 2 || info.inChannels % channelBlock !== 0) return 0;
  const b = Math.round(Math.sqrt(channelBlock / info.outChannels));
  if (b * b * info.outChannels !== channelBlock || info.outHeight < b || info.outWidth < b) return 0;
  const { filterHeight: fh, filterWidth: fw } = info;
  return ((fh + b - 1) * (fw + b - 1)) / (fh * fw) <= MAX_NATIVE_BLOCK_OVERHEAD ? b : 0;
}

export function conv2dWasm(backend: BackendWasm, x: TensorInfo, filter: TensorInfo, attrs: Conv2DAttrs): TensorInfo {
  const stock = stockWasmKernel(Conv2D);
  if (stock === undefined) throw new Error('voxshift engine: the stock wasm Conv2D kernel is missing');
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filter.shape as [number, number, number, number],
    attrs.strides,
    attrs.dilations,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    backend_util.convertConv2DDataFormat(attrs.dataFormat),
  );
  if (info.dataFormat === 'channelsLast') {
    const native = nativeConv(backend, 'forward', geometry2d(info), x, filter);
    if (native !== undefined) return native;
  }
  const nb = nativeOutputBlockSize(info, convEngineInfo().nchwcBlock);
  if (nb > 0) {
    const y = outputBlocked(backend, x, filter, info, nb, true);
    if (y !== undefined) return y;
  }
  const b = outputBlockSize(info);
  if (b === 1) return stock.kernelFunc({ inputs: { x, filter }, backend, attrs: attrs as unknown as Record<string, never> }) as TensorInfo;
  return outputBlocked(backend, x, filter, info, b, false) as TensorInfo;
}

/**
 * The convolution as one stride-B convolution over B×B output blocks, on onnxruntime (`native`;
 * undefined when it does not take it) or on XNNPACK.
 */
function outputBlocked(backend: BackendWasm, x: TensorInfo, filter: TensorInfo, info: backend_util.Conv2DInfo, b: number, native: boolean): TensorInfo | undefined {
  const stock = stockWasmKernel(Conv2D);
  if (stock === undefined) throw new Error('voxshift engine: the stock wasm Conv2D kernel is missing');
  const { batchSize: n, outHeight: oh, outWidth: ow, outChannels: co } = info;
  const { top: pt, bottom: pb, left: pl, right: pr } = info.padInfo;
  const rowsB = Math.ceil(oh / b);
  const colsB = Math.ceil(ow / b);
  const blocked = blockedFilter(backend, filter, b);
  const pad: backend_util.ExplicitPadding = [
    [0, 0],
    [pt, pb + rowsB * b - oh],
    [pl, pr + colsB * b - ow],
    [0, 0],
  ];
  let yb: TensorInfo | undefined; // [N, rowsB, colsB, B²·CO]
  if (native) {
    const blockedInfo = backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      blocked.shape as [number, number, number, number],
      [b, b],
      1,
      pad,
      undefined,
      false,
      'channelsLast',
    );
    yb = nativeConv(backend, 'forward', geometry2d(blockedInfo), x, blocked);
    if (yb === undefined) return undefined;
  } else {
    yb = stock.kernelFunc({
      inputs: { x, filter: blocked },
      backend,
      attrs: { strides: [b, b], pad, dataFormat: 'NHWC', dilations: [1, 1] },
    }) as TensorInfo;
  }
  try {
    const y = allocF32(backend, [n, oh, ow, co]);
    const heap = heapF32(backend);
    const src = f32Offset(backend, yb.dataId);
    const dst = f32Offset(backend, y.dataId);
    const depth = b * b * co;
    for (let bn = 0; bn < n; bn++) {
      for (let i = 0; i < rowsB; i++) {
        for (let a = 0; a < b && i * b + a < oh; a++) {
          const yRow = dst + ((bn * oh + i * b + a) * ow) * co;
          const sRow = src + ((bn * rowsB + i) * colsB) * depth + a * b * co;
          for (let j = 0; j < colsB; j++) {
            for (let c = 0; c < b && j * b + c < ow; c++) {
              const s = sRow + j * depth + c * co;
              const d = yRow + (j * b + c) * co;
              for (let o = 0; o < co; o++) heap[d + o] = heap[s + o];
            }
          }
        }
      }
    }
    return y;
  } finally {
    release(backend, yb);
  }
}

/** W_B [fh+B−1, fw+B−1, CI, B²·CO], cached per filter. */
function blockedFilter(backend: BackendWasm, filter: TensorInfo, b: number): TensorInfo {
  return cachedTransform(backend, filter, `blocked ${b}`, () => {
    const [fh, fw, ci, co] = filter.shape;
    const bh = fh + b - 1;
    const bw = fw + b - 1;
    const depth = b * b * co;
    const out = allocF32(backend, [bh, bw, ci, depth]);
    const heap = heapF32(backend);
    const src = f32Offset(backend, filter.dataId);
    const dst = f32Offset(backend, out.dataId);
    heap.fill(0, dst, dst + bh * bw * ci * depth);
    for (let a = 0; a < b; a++) {
      for (let c = 0; c < b; c++) {
        for (let r = 0; r < fh; r++) {
          for (let s = 0; s < fw; s++) {
            for (let i = 0; i < ci; i++) {
              const from = src + ((r * fw + s) * ci + i) * co;
              const to = dst + (((r + a) * bw + (s + c)) * ci + i) * depth + (a * b + c) * co;
              for (let o = 0; o < co; o++) heap[to + o] = heap[from + o];
            }
          }
        }
      }
    }
    return { tensors: [out], value: out };
  });
}

const kernelFunc: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, filter } = inputs as { x: TensorInfo; filter: TensorInfo };
  return conv2dWasm(backend as BackendWasm, x, filter, attrs as unknown as Conv2DAttrs);
};

export const conv2dForwardConfig: KernelConfig = {
  kernelName: Conv2D,
  backendName: 'wasm',
  kernelFunc,
};
