/**
 * One Adam update of a parameter as a single pass over the wasm heap (`VoxshiftAdamUpdate`): reads
 * p, m, v, g once and writes p′, m′, v′ as new tensors (never in place: filter caches key on a
 * weight's dataId and expect new weights to be a new tensor). The op-by-op form costs eleven
 * elementwise kernels and their temporaries per parameter — a tenth of a 3-D CycleGAN step, whose
 * discriminators hold tens of millions of weights.
 *   m′ = β1·m + (1−β1)·g,  v′ = β2·v + (1−β2)·g²,  p′ = p − stepSize · m′ / (√v′ · invSqrtBc2 + ε)
 */
import { util, type KernelConfig, type KernelFunc, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { allocF32, f32Offset, heapF32 } from './conv2d-util.ts';
import { simdRuntime } from '../simd/simd-runtime.ts';

export const ADAM_UPDATE = 'VoxshiftAdamUpdate';

export interface AdamUpdateAttrs {
  beta1: number;
  beta2: number;
  stepSize: number;
  invSqrtBc2: number;
  epsilon: number;
}

const adamUpdate: KernelFunc = ({ inputs, backend, attrs }) => {
  const wasm = backend as BackendWasm;
  const { p, m, v, g } = inputs as Record<'p' | 'm' | 'v' | 'g', TensorInfo>;
  const { beta1, beta2, stepSize, invSqrtBc2, epsilon } = attrs as unknown as AdamUpdateAttrs;
  const n = util.sizeFromShape(p.shape);
  for (const t of [m, v, g]) {
    if (util.sizeFromShape(t.shape) !== n || t.dtype !== 'float32') throw new Error(`${ADAM_UPDATE}: operands must be float32 of ${n} values`);
  }
  const outs = [allocF32(wasm, p.shape), allocF32(wasm, p.shape), allocF32(wasm, p.shape)];
  const rt = simdRuntime();
  if (rt !== undefined) {
    // float32 arithmetic, as PyTorch's Adam on float32 parameters.
    const [ap, am, av, ag, aop, aom, aov] = [p, m, v, g, ...outs].map((t) => 4 * f32Offset(wasm, t.dataId));
    rt.exports.adam(ap, am, av, ag, aop, aom, aov, n, beta1, beta2, stepSize, invSqrtBc2, epsilon);
    return outs;
  }
  const heap = heapF32(wasm); // after the allocations, which may move the heap
  const [ip, im, iv, ig] = [p, m, v, g].map((t) => f32Offset(wasm, t.dataId));
  const [op, om, ov] = outs.map((t) => f32Offset(wasm, t.dataId));
  const c1 = 1 - beta1;
  const c2 = 1 - beta2;
  for (let i = 0; i < n; i++) {
    const gi = heap[ig + i];
    const mi = beta1 * heap[im + i] + c1 * gi;
    const vi = beta2 * heap[iv + i] + c2 * gi * gi;
    heap[om + i] = mi;
    heap[ov + i] = vi;
    heap[op + i] = heap[ip + i] - (stepSize * mi) / (Math.sqrt(vi) * invSqrtBc2 + epsilon);
  }
  return outs;
};

export const adamUpdateConfig: KernelConfig = { kernelName: ADAM_UPDATE, backendName: 'wasm', kernelFunc: adamUpdate };

export function adamUpdateAttrs(a: AdamUpdateAttrs): NamedAttrMap {
  return { ...a };
}
