/**
 * Conv2DBackpropInput (input gradient; also conv2dTranspose's forward pass) on wasm as s_h·s_w
 * stride-1 XNNPACK convolutions, one per stride phase, with the flipped, in/out-swapped sub-filters
 * W[py::s, px::s] (built once per filter, see conv2d-filter-cache.ts), interleaved into dx.
 *
 * Forward: y[oy] = Σ_r x[oy·s + r − pt]·W[r]. For an input row y let p = (y + pt) mod s and
 * q = ⌊(y + pt)/s⌋: dx[y] = Σ_k dy[q − k]·W[p + s·k], a stride-1 correlation of dy with the
 * flipped sub-filter V_p[j] = W[p + s·(K_p − 1 − j)], output q − (K_p − 1) … q of dy.
 */
import {
  backend_util,
  Conv2DBackpropInput,
  type Conv2DBackpropInputAttrs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { phaseFilters } from './conv2d-filter-cache.ts';
import { allocF32, assertNhwc, callWasmKernel, f32Offset, heapF32, release, zerosWasm } from './conv2d-util.ts';
import { geometry2d, nativeConv } from '../native-conv/native-conv.ts';

interface AxisPhase {
  /** First dx index of this phase (dx indices residue, residue + s, …). */
  residue: number;
  /** Number of dx indices in this phase. */
  count: number;
  /** dy window: first row read (may be < 0 or run past the end: zero padding). */
  lo: number;
}

/** The dx rows of phase p (of a filter axis) and the dy window its stride-1 convolution reads. */
function axisPhase(p: number, k: number, stride: number, padBefore: number, size: number): AxisPhase {
  const residue = (((p - padBefore) % stride) + stride) % stride;
  const count = residue < size ? Math.ceil((size - residue) / stride) : 0;
  const q0 = (residue + padBefore - p) / stride;
  return { residue, count, lo: q0 - (k - 1) };
}

export function conv2dBackpropInputWasm(backend: BackendWasm, dy: TensorInfo, filter: TensorInfo, attrs: Conv2DBackpropInputAttrs): TensorInfo {
  assertNhwc('Conv2DBackpropInput', attrs.dataFormat);
  const convInfo = backend_util.computeConv2DInfo(
    attrs.inputShape,
    filter.shape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: ci, outHeight: oh, outWidth: ow } = convInfo;
  const { strideHeight: sh, strideWidth: sw } = convInfo;
  const { top: pt, left: pl } = convInfo.padInfo;
  if (dy.shape[1] !== oh || dy.shape[2] !== ow) {
    throw new Error(`voxshift engine: Conv2DBackpropInput dy is [${dy.shape.join(',')}], expected spatial ${oh}×${ow}`);
  }
  const native = nativeConv(backend, 'backprop-input', geometry2d(convInfo), dy, filter);
  if (native !== undefined) return native;
  const phases = phaseFilters(backend, filter, sh, sw);

  const parts: Array<{ out: TensorInfo; y: AxisPhase; x: AxisPhase }> = [];
  try {
    for (const row of phases) {
      for (const phase of row) {
        const y = axisPhase(phase.py, phase.kh, sh, pt, h);
        const x = axisPhase(phase.px, phase.kw, sw, pl, w);
        if (y.count === 0 || x.count === 0) continue;
        const out =
          phase.filter === null
            ? zerosWasm(backend, [n, y.count, x.count, ci])
            : phaseConv(backend, dy, phase.filter, y, x, phase.kh, phase.kw, oh, ow, [n, y.count, x.count, ci]);
        parts.push({ out, y, x });
      }
    }
    if (parts.length === 1 && parts[0].y.count === h && parts[0].x.count === w) return parts.pop()!.out;
    return interleave(backend, parts, [n, h, w, ci], sh, sw);
  } finally {
    release(backend, ...parts.map((p) => p.out));
  }
}

/** One stride-1 convolution of dy (zero-padded or cropped to the phase's window) with a sub-filter. */
function phaseConv(
  backend: BackendWasm,
  dy: TensorInfo,
  sub: TensorInfo,
  y: AxisPhase,
  x: AxisPhase,
  kh: number,
  kw: number,
  oh: number,
  ow: number,
  outShape: number[],
): TensorInfo {
  // Rows lo … lo + count + kh − 2 of dy are read; outside [0, oh) they are zeros.
  const yHi = y.lo + y.count + kh - 1;
  const xHi = x.lo + x.count + kw - 1;
  const y0 = Math.max(0, y.lo);
  const y1 = Math.min(oh, yHi);
  const x0 = Math.max(0, x.lo);
  const x1 = Math.min(ow, xHi);
  if (y1 <= y0 || x1 <= x0) return zerosWasm(backend, outShape);
  let input = dy;
  let cropped: TensorInfo | undefined;
  if (y0 > 0 || y1 < oh || x0 > 0 || x1 < ow) {
    cropped = callWasmKernel('Slice', backend, { x: dy }, { begin: [0, y0, x0, 0], size: [dy.shape[0], y1 - y0, x1 - x0, dy.shape[3]] });
    input = cropped;
  }
  try {
    const pad: backend_util.ExplicitPadding = [
      [0, 0],
      [y0 - y.lo, yHi - y1],
      [x0 - x.lo, xHi - x1],
      [0, 0],
    ];
    return callWasmKernel(
      'Conv2D',
      backend,
      { x: input, filter: sub },
      { strides: [1, 1], pad, dataFormat: 'NHWC', dilations: [1, 1] },
    );
  } finally {
    release(backend, cropped);
  }
}

/** dx[n, y.residue + sh·i, x.residue + sw·j, :] = part[n, i, j, :], written straight on the heap. */
function interleave(
  backend: BackendWasm,
  parts: Array<{ out: TensorInfo; y: AxisPhase; x: AxisPhase }>,
  shape: number[],
  sh: number,
  sw: number,
): TensorInfo {
  const [n, h, w, c] = shape;
  const dx = allocF32(backend, shape);
  const heap = heapF32(backend);
  const dst = f32Offset(backend, dx.dataId);
  for (const { out, y, x } of parts) {
    const src = f32Offset(backend, out.dataId);
    for (let b = 0; b < n; b++) {
      for (let i = 0; i < y.count; i++) {
        const srcRow = src + ((b * y.count + i) * x.count) * c;
        const dstRow = dst + ((b * h + y.residue + sh * i) * w + x.residue) * c;
        if (c >= 16) {
          for (let j = 0; j < x.count; j++) {
            const s = srcRow + j * c;
            heap.copyWithin(dstRow + j * sw * c, s, s + c);
          }
        } else {
          for (let j = 0; j < x.count; j++) {
            const s = srcRow + j * c;
            const d = dstRow + j * sw * c;
            for (let k = 0; k < c; k++) heap[d + k] = heap[s + k];
          }
        }
      }
    }
  }
  return dx;
}

const kernelFunc: KernelFunc = ({ inputs, backend, attrs }) => {
  const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
  return conv2dBackpropInputWasm(backend as BackendWasm, dy, filter, attrs as unknown as Conv2DBackpropInputAttrs);
};

export const conv2dBackpropInputConfig: KernelConfig = {
  kernelName: Conv2DBackpropInput,
  backendName: 'wasm',
  kernelFunc,
};
