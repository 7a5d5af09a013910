/**
 * The gradient of a mirror (reflect/symmetric) padding of the spatial axes as one SIMD pass on the
 * wasm heap (`VoxshiftMirrorPadGrad`): every row of C values of dy is added onto the row of x it was
 * copied from. The composite form (ops/mirror-pad-fold.ts: per-slab Slice, Add and Concat along each
 * axis) was 6 % of a 64³ CycleGAN step.
 */
import { util, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { allocF32, f32Offset, heapF32 } from './conv2d-util.ts';
import { simdRuntime } from '../simd/simd-runtime.ts';

export const MIRROR_PAD_GRAD = 'VoxshiftMirrorPadGrad';

export interface MirrorPadGradAttrs {
  xShape: number[];
  paddings: [number, number][];
  mode: 'reflect' | 'symmetric';
}

/** Index of x that padded index j of an axis of size n (padded by `before`) was copied from. */
export function mirrorSource(j: number, before: number, n: number, mode: 'reflect' | 'symmetric'): number {
  const i = j - before;
  const off = mode === 'reflect' ? 0 : 1;
  if (i < 0) return -i - off;
  if (i >= n) return 2 * n - 2 + off - i;
  return i;
}

const mirrorPadGrad: KernelFunc = ({ inputs, backend, attrs }) => {
  const wasm = backend as BackendWasm;
  const { dy } = inputs as { dy: TensorInfo };
  const { xShape, paddings, mode } = attrs as unknown as MirrorPadGradAttrs;
  const rt = simdRuntime();
  if (rt === undefined) throw new Error(`${MIRROR_PAD_GRAD}: the SIMD runtime is not running`);
  const rank = xShape.length;
  const paddedShape = xShape.map((n, i) => n + paddings[i][0] + paddings[i][1]);
  if (dy.dtype !== 'float32' || !util.arraysEqual(dy.shape, paddedShape) || (rank !== 4 && rank !== 5)) {
    throw new Error(`${MIRROR_PAD_GRAD}: expected float32 dy of shape [${paddedShape.join(', ')}], got ${dy.dtype} [${dy.shape.join(', ')}]`);
  }
  if (paddings[0].some((p) => p !== 0) || paddings[rank - 1].some((p) => p !== 0)) {
    throw new Error(`${MIRROR_PAD_GRAD}: only spatial axes may be padded`);
  }
  const spatial = rank === 4 ? [1, ...xShape.slice(1, 3)] : xShape.slice(1, 4);
  const padded = rank === 4 ? [1, ...paddedShape.slice(1, 3)] : paddedShape.slice(1, 4);
  const pads = rank === 4 ? [[0, 0], ...paddings.slice(1, 3)] : paddings.slice(1, 4);
  const c = xShape[rank - 1];
  const dx = allocF32(wasm, xShape);
  const maps = rt.scratch(4 * (padded[0] + padded[1] + padded[2]));
  const ints = new Int32Array(heapF32(wasm).buffer, maps, padded[0] + padded[1] + padded[2]);
  let at = 0;
  const starts: number[] = [];
  for (let a = 0; a < 3; a++) {
    starts.push(maps + 4 * at);
    for (let j = 0; j < padded[a]; j++) ints[at++] = mirrorSource(j, pads[a][0], spatial[a], mode);
  }
  const [dyAt, dxAt] = [dy, dx].map((t) => 4 * f32Offset(wasm, t.dataId));
  const dySample = 4 * c * padded[0] * padded[1] * padded[2];
  const dxSample = 4 * c * spatial[0] * spatial[1] * spatial[2];
  for (let b = 0; b < xShape[0]; b++) {
    rt.exports.mirror_fold(dyAt + b * dySample, dxAt + b * dxSample, c, spatial[1], spatial[2], spatial[0], padded[0], padded[1], padded[2], starts[0], starts[1], starts[2]);
  }
  return dx;
};

export const mirrorPadGradConfig: KernelConfig = { kernelName: MIRROR_PAD_GRAD, backendName: 'wasm', kernelFunc: mirrorPadGrad };
