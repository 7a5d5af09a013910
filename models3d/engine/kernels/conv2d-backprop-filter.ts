/**
 * Conv2DBackpropFilter (not registered on the stock wasm backend) as XNNPACK work, two ways:
 *
 * A ('conv'):   dW[r,c,i,o] = Σ_{n,y,x} x[n, y·s+r−pt, x·s+c−pl, i]·dy[n,y,x,o] is a forward
 *               convolution of x with batch and channels swapped ([CI,H,W,N]) by dy as a filter
 *               ([OH,OW,N,CO]) dilated by the stride. Good for few input channels / stride 2.
 * B ('im2col'): the patch matrix P[(r,c,i), (n,y,x)] is built on the heap (row copies), then one
 *               BatchMatMul P·dy[(n,y,x), o] with no transpose flag. Good for many input channels.
 * A' ('conv-swapped'): way A with x as the filter and dy as the input, for stride 1 and few output
 *               channels (a generator's output layer), where a product over CO would be 1 wide.
 */
import {
  backend_util,
  Conv2DBackpropFilter,
  type Conv2DBackpropFilterAttrs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { allocF32, assertNhwc, callWasmKernel, f32Offset, heapF32, release, transposeWasm, viewAs } from './conv2d-util.ts';
import { geometry2d, nativeConv } from '../native-conv/native-conv.ts';

export type FilterGradMethod = 'conv' | 'im2col' | 'conv-swapped';

/** Largest patch matrix way B may allocate (bytes); above it way A is used. */
const MAX_IM2COL_BYTES = 256 * 1024 * 1024;

let forcedMethod: FilterGradMethod | undefined;

/** Forces one way for every call (tests and benchmarks); undefined restores the cost rule. */
export function setFilterGradMethod(method: FilterGradMethod | undefined): void {
  forcedMethod = method;
}

/** Below this many output channels a GEMM over CO wastes most of XNNPACK's tile. */
const FEW_OUTPUT_CHANNELS = 8;

/**
 * The cost rule. Way A hands XNNPACK a convolution whose "filter" (dy) is new on every call, so it
 * re-packs it and rebuilds an indirection buffer of (CI·fh·fw)×(N·OH·OW) pointers each time: cheap
 * only when the input channels are few (the first layer of a generator or discriminator). With few
 * output channels (the output layer) the swapped form makes the product CI wide. Way B's copy is a
 * plain memmove per row and its matmul runs near XNNPACK's GEMM speed, so it is used otherwise,
 * unless its patch matrix would be too large for the heap.
 */
export function chooseFilterGradMethod(convInfo: backend_util.Conv2DInfo): FilterGradMethod {
  if (forcedMethod !== undefined) return forcedMethod;
  const { filterHeight: fh, filterWidth: fw, inChannels: ci, outChannels: co, batchSize: n, outHeight: oh, outWidth: ow } = convInfo;
  if (co < FEW_OUTPUT_CHANNELS && ci >= FEW_OUTPUT_CHANNELS && convInfo.strideHeight === 1 && convInfo.strideWidth === 1) {
    return 'conv-swapped';
  }
  const patchBytes = 4 * fh * fw * ci * n * oh * ow;
  if (patchBytes > MAX_IM2COL_BYTES) return 'conv';
  return ci <= 4 ? 'conv' : 'im2col';
}

export function conv2dBackpropFilterWasm(backend: BackendWasm, x: TensorInfo, dy: TensorInfo, attrs: Conv2DBackpropFilterAttrs): TensorInfo {
  assertNhwc('Conv2DBackpropFilter', attrs.dataFormat);
  const convInfo = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterShape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
  if (dy.shape[1] !== convInfo.outHeight || dy.shape[2] !== convInfo.outWidth || dy.shape[3] !== convInfo.outChannels) {
    throw new Error(
      `voxshift engine: Conv2DBackpropFilter dy is [${dy.shape.join(',')}], expected ` +
        `[${convInfo.batchSize},${convInfo.outHeight},${convInfo.outWidth},${convInfo.outChannels}]`,
    );
  }
  const native = nativeConv(backend, 'backprop-filter', geometry2d(convInfo), x, dy);
  if (native !== undefined) return native;
  const method = chooseFilterGradMethod(convInfo);
  if (method === 'conv-swapped') {
    const swapped = convInfo.strideHeight === 1 && convInfo.strideWidth === 1 ? byConvSwapped(backend, x, dy, convInfo) : undefined;
    if (swapped !== undefined) return swapped;
  }
  return method === 'conv' ? byConv(backend, x, dy, convInfo) : byIm2col(backend, x, dy, convInfo);
}

/**
 * Way A with the roles of x and dy exchanged, for stride 1 and few output channels (a generator's
 * output layer): dy ([CO, OH, OW, N], zero-padded) is the input and x ([H, W, N, CI]) the filter, so
 * XNNPACK's product is CI wide instead of CO: out[o, fh−1−r, fw−1−c, i] = dW[r, c, i, o].
 * Returns undefined where the padding this needs would be negative.
 */
function byConvSwapped(backend: BackendWasm, x: TensorInfo, dy: TensorInfo, info: backend_util.Conv2DInfo): TensorInfo | undefined {
  const { filterHeight: fh, filterWidth: fw, inHeight: h, inWidth: w, outHeight: oh, outWidth: ow, inChannels: ci, outChannels: co } = info;
  const { top: pt, left: pl } = info.padInfo;
  const pad: backend_util.ExplicitPadding = [
    [0, 0],
    [fh - 1 - pt, h - oh + pt],
    [fw - 1 - pl, w - ow + pl],
    [0, 0],
  ];
  if (pad.some(([a, b]) => a < 0 || b < 0)) return undefined;
  const held: TensorInfo[] = [];
  try {
    const input = transposeWasm(backend, dy, [3, 1, 2, 0]); // [CO, OH, OW, N]
    held.push(input);
    const filter = transposeWasm(backend, x, [1, 2, 0, 3]); // [H, W, N, CI]
    held.push(filter);
    const out = callWasmKernel('Conv2D', backend, { x: input, filter }, { strides: [1, 1], pad, dataFormat: 'NHWC', dilations: [1, 1] });
    held.push(out); // [CO, fh, fw, CI], flipped
    const dw = allocF32(backend, [fh, fw, ci, co]);
    const heap = heapF32(backend);
    const src = f32Offset(backend, out.dataId);
    const dst = f32Offset(backend, dw.dataId);
    for (let o = 0; o < co; o++) {
      for (let r = 0; r < fh; r++) {
        for (let c = 0; c < fw; c++) {
          const s = src + ((o * fh + (fh - 1 - r)) * fw + (fw - 1 - c)) * ci;
          const d = dst + (r * fw + c) * ci * co + o;
          for (let i = 0; i < ci; i++) heap[d + i * co] = heap[s + i];
        }
      }
    }
    return dw;
  } finally {
    release(backend, ...held);
  }
}

function byConv(backend: BackendWasm, x: TensorInfo, dy: TensorInfo, info: backend_util.Conv2DInfo): TensorInfo {
  const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw, inHeight: h, inWidth: w } = info;
  const { outHeight: oh, outWidth: ow } = info;
  const { top: pt, left: pl } = info.padInfo;
  // Output size of the swapped convolution must be fh × fw: the far padding follows (may be < 0 = crop).
  const pb = fh + (oh - 1) * sh - h - pt;
  const pr = fw + (ow - 1) * sw - w - pl;
  const held: TensorInfo[] = [];
  try {
    let xs = transposeWasm(backend, x, [3, 1, 2, 0]); // [CI, H, W, N]
    held.push(xs);
    if (pb < 0 || pr < 0) {
      xs = callWasmKernel('Slice', backend, { x: xs }, { begin: [0, 0, 0, 0], size: [xs.shape[0], h + Math.min(pb, 0), w + Math.min(pr, 0), xs.shape[3]] });
      held.push(xs);
    }
    const dyf = transposeWasm(backend, dy, [1, 2, 0, 3]); // [OH, OW, N, CO]
    held.push(dyf);
    const pad: backend_util.ExplicitPadding = [
      [0, 0],
      [pt, Math.max(pb, 0)],
      [pl, Math.max(pr, 0)],
      [0, 0],
    ];
    const swapped = callWasmKernel('Conv2D', backend, { x: xs, filter: dyf }, { strides: [1, 1], pad, dataFormat: 'NHWC', dilations: [sh, sw] });
    held.push(swapped); // [CI, fh, fw, CO]
    return transposeWasm(backend, swapped, [1, 2, 0, 3]);
  } finally {
    release(backend, ...held);
  }
}

function byIm2col(backend: BackendWasm, x: TensorInfo, dy: TensorInfo, info: backend_util.Conv2DInfo): TensorInfo {
  const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw, inHeight: h, inWidth: w } = info;
  const { batchSize: n, inChannels: ci, outChannels: co, outHeight: oh, outWidth: ow } = info;
  const { top: pt, left: pl } = info.padInfo;
  const k = n * oh * ow;
  const m = fh * fw * ci;
  const held: TensorInfo[] = [];
  try {
    const xt = transposeWasm(backend, x, [3, 0, 1, 2]); // [CI, N, H, W]: rows of one channel are contiguous
    held.push(xt);
    const patches = allocF32(backend, [1, m, k]);
    held.push(patches);
    const heap = heapF32(backend);
    const src = f32Offset(backend, xt.dataId);
    let dst = f32Offset(backend, patches.dataId);
    for (let r = 0; r < fh; r++) {
      for (let c = 0; c < fw; c++) {
        // Output columns whose input column ox·sw + c − pl lies inside [0, w).
        const ox0 = Math.min(ow, Math.max(0, Math.ceil((pl - c) / sw)));
        const ox1 = Math.max(ox0, Math.min(ow, Math.floor((w - 1 + pl - c) / sw) + 1));
        for (let i = 0; i < ci; i++) {
          for (let b = 0; b < n; b++) {
            const plane = src + (i * n + b) * h * w;
            for (let oy = 0; oy < oh; oy++, dst += ow) {
              const iy = oy * sh + r - pt;
              if (iy < 0 || iy >= h || ox1 === ox0) {
                heap.fill(0, dst, dst + ow);
                continue;
              }
              if (ox0 > 0) heap.fill(0, dst, dst + ox0);
              if (ox1 < ow) heap.fill(0, dst + ox1, dst + ow);
              const rowStart = plane + iy * w + ox0 * sw + c - pl;
              if (sw === 1) {
                heap.copyWithin(dst + ox0, rowStart, rowStart + (ox1 - ox0));
              } else {
                for (let ox = ox0, s = rowStart; ox < ox1; ox++, s += sw) heap[dst + ox] = heap[s];
              }
            }
          }
        }
      }
    }
    const dy3 = viewAs(backend, dy, [1, k, co]);
    held.push(dy3);
    const product = callWasmKernel('BatchMatMul', backend, { a: patches, b: dy3 }, { transposeA: false, transposeB: false });
    held.push(product);
    return viewAs(backend, product, [fh, fw, ci, co]);
  } finally {
    release(backend, ...held);
  }
}

const kernelFunc: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  return conv2dBackpropFilterWasm(backend as BackendWasm, x, dy, attrs as unknown as Conv2DBackpropFilterAttrs);
};

export const conv2dBackpropFilterConfig: KernelConfig = {
  kernelName: Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc,
};

/** FLOPs of a filter gradient (multiply-adds × 2), for benchmarks. */
export function conv2dFlops(info: backend_util.Conv2DInfo): number {
  return 2 * info.batchSize * info.outHeight * info.outWidth * info.outChannels * info.filterHeight * info.filterWidth * info.inChannels;
}