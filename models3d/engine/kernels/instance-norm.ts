/**
 * Instance normalisation as two fused wasm kernels. The composite form (moments, subtract, multiply,
 * and in the backward two means and five elementwise ops) runs tfjs-wasm's broadcasting binary kernels,
 * which walk every element through a generic index computation: in a 64² CycleGAN step they took a
 * third of the time, more than the convolutions' forward pass. These kernels make one pass for the
 * statistics and one for the output, per sample and channel, over the channels-last layout.
 *
 * - `VoxshiftInstanceNorm`: x [N, ...S, C] → x̂ = (x − μ)·r (same shape) and r = 1/√(σ² + ε) [N, C];
 *   μ and σ² (biased) in float64, σ² as the mean of squared deviations (two passes, like tf.moments).
 * - `VoxshiftInstanceNormGrad`: dy, x̂, r → dx = r · (dy − mean(dy) − x̂ · mean(dy · x̂)).
 */
import { util, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { allocF32, f32Offset, heapF32 } from './conv2d-util.ts';

export const INSTANCE_NORM = 'VoxshiftInstanceNorm';
export const INSTANCE_NORM_GRAD = 'VoxshiftInstanceNormGrad';

/** Samples, voxels per sample and channels of a channels-last tensor. */
function layout(shape: number[]): { n: number; s: number; c: number } {
  const n = shape[0];
  const c = shape[shape.length - 1];
  return { n, c, s: util.sizeFromShape(shape.slice(1, -1)) };
}

function checkFloat(kernel: string, t: TensorInfo, shape: number[]): void {
  if (t.dtype !== 'float32' || !util.arraysEqual(t.shape, shape)) {
    throw new Error(`${kernel}: expected float32 [${shape.join(', ')}], got ${t.dtype} [${t.shape.join(', ')}]`);
  }
}

const instanceNorm: KernelFunc = ({ inputs, backend, attrs }) => {
  const wasm = backend as BackendWasm;
  const { x } = inputs as { x: TensorInfo };
  const epsilon = (attrs as { epsilon: number }).epsilon;
  checkFloat(INSTANCE_NORM, x, x.shape);
  const { n, s, c } = layout(x.shape);
  const out = allocF32(wasm, x.shape);
  const rstd = allocF32(wasm, [n, c]);
  const heap = heapF32(wasm); // after the allocations, which may move the heap
  const ix = f32Offset(wasm, x.dataId);
  const iy = f32Offset(wasm, out.dataId);
  const ir = f32Offset(wasm, rstd.dataId);
  const sum = new Float64Array(c);
  const mean = new Float32Array(c);
  const r = new Float32Array(c);
  for (let b = 0; b < n; b++) {
    const base = ix + b * s * c;
    sum.fill(0);
    for (let p = 0, q = base; p < s; p++, q += c) for (let k = 0; k < c; k++) sum[k] += heap[q + k];
    for (let k = 0; k < c; k++) mean[k] = sum[k] / s;
    sum.fill(0);
    for (let p = 0, q = base; p < s; p++, q += c) {
      for (let k = 0; k < c; k++) {
        const d = heap[q + k] - mean[k];
        sum[k] += d * d;
      }
    }
    for (let k = 0; k < c; k++) {
      r[k] = 1 / Math.sqrt(sum[k] / s + epsilon);
      heap[ir + b * c + k] = r[k];
    }
    const outBase = iy + b * s * c;
    for (let p = 0, q = 0; p < s; p++, q += c) for (let k = 0; k < c; k++) heap[outBase + q + k] = (heap[base + q + k] - mean[k]) * r[k];
  }
  return [out, rstd];
};

const instanceNormGrad: KernelFunc = ({ inputs, backend }) => {
  const wasm = backend as BackendWasm;
  const { dy, xhat, rstd } = inputs as Record<'dy' | 'xhat' | 'rstd', TensorInfo>;
  const { n, s, c } = layout(xhat.shape);
  checkFloat(INSTANCE_NORM_GRAD, xhat, xhat.shape);
  checkFloat(INSTANCE_NORM_GRAD, dy, xhat.shape);
  checkFloat(INSTANCE_NORM_GRAD, rstd, [n, c]);
  const dx = allocF32(wasm, xhat.shape);
  const heap = heapF32(wasm);
  const [idy, ixh, ir, idx] = [dy, xhat, rstd, dx].map((t) => f32Offset(wasm, t.dataId));
  const sumDy = new Float64Array(c);
  const sumDyX = new Float64Array(c);
  const meanDy = new Float32Array(c);
  const meanDyX = new Float32Array(c);
  for (let b = 0; b < n; b++) {
    const off = b * s * c;
    sumDy.fill(0);
    sumDyX.fill(0);
    for (let p = 0, q = off; p < s; p++, q += c) {
      for (let k = 0; k < c; k++) {
        const g = heap[idy + q + k];
        sumDy[k] += g;
        sumDyX[k] += g * heap[ixh + q + k];
      }
    }
    for (let k = 0; k < c; k++) {
      meanDy[k] = sumDy[k] / s;
      meanDyX[k] = sumDyX[k] / s;
    }
    const rb = ir + b * c;
    for (let p = 0, q = off; p < s; p++, q += c) {
      for (let k = 0; k < c; k++) heap[idx + q + k] = heap[rb + k] * (heap[idy + q + k] - meanDy[k] - heap[ixh + q + k] * meanDyX[k]);
    }
  }
  return [dx];
};

export const instanceNormConfigs: KernelConfig[] = [
  { kernelName: INSTANCE_NORM, backendName: 'wasm', kernelFunc: instanceNorm },
  { kernelName: INSTANCE_NORM_GRAD, backendName: 'wasm', kernelFunc: instanceNormGrad },
];
