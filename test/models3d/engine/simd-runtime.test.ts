import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { backendInfo, initBackend, shutdownBackend } from '../../../models3d/engine/backend.ts';
import { instanceNorm } from '../../../models3d/engine/ops/instance-norm.ts';
import { ADAM_UPDATE, adamUpdateAttrs } from '../../../models3d/engine/kernels/adam-update.ts';
import { closeSimdRuntime, simdRuntime, startSimdRuntime } from '../../../models3d/engine/simd/simd-runtime.ts';
import { heapF32 } from '../../../models3d/engine/kernels/conv2d-util.ts';
import { randomValues } from './conv3d-helpers.ts';

/** y = x̂ and dx of Σ(x̂·g), per sample and channel, in float64 from the float32 inputs. */
function instanceNormRef64(x: Float32Array, g: Float32Array, shape: number[], eps: number): { y: Float64Array; dx: Float64Array } {
  const n = shape[0];
  const c = shape[shape.length - 1];
  const s = x.length / n / c;
  const y = new Float64Array(x.length);
  const dx = new Float64Array(x.length);
  for (let b = 0; b < n; b++) {
    for (let k = 0; k < c; k++) {
      const at = (p: number): number => (b * s + p) * c + k;
      let mean = 0;
      for (let p = 0; p < s; p++) mean += x[at(p)];
      mean /= s;
      let variance = 0;
      for (let p = 0; p < s; p++) variance += (x[at(p)] - mean) ** 2;
      const r = 1 / Math.sqrt(variance / s + eps);
      let meanG = 0;
      let meanGX = 0;
      for (let p = 0; p < s; p++) {
        y[at(p)] = (x[at(p)] - mean) * r;
        meanG += g[at(p)] / s;
        meanGX += (g[at(p)] * y[at(p)]) / s;
      }
      for (let p = 0; p < s; p++) dx[at(p)] = r * (g[at(p)] - meanG - y[at(p)] * meanGX);
    }
  }
  return { y, dx };
}

function maxRelError(a: Float32Array, b: Float64Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / den;
}

function runInstanceNorm(shape: number[], offset: number, scale: number): { y: Float32Array; dx: Float32Array; x: Float32Array; g: Float32Array } {
  const size = tf.util.sizeFromShape(shape);
  const x = randomValues(size, 11).map((v) => offset + scale * v);
  const g = randomValues(size, 12);
  const [y, dx] = tf.tidy((): tf.Tensor[] => {
    const xt: tf.Tensor = tf.tensor(x, shape);
    const gt = tf.tensor(g, shape);
    return [instanceNorm(xt as tf.Tensor4D), tf.grad((a: tf.Tensor) => tf.sum(tf.mul(instanceNorm(a as tf.Tensor4D), gt)))(xt)];
  });
  const out = { y: y.dataSync() as Float32Array, dx: dx.dataSync() as Float32Array, x, g };
  tf.dispose([y, dx]);
  return out;
}

// 2 threads: the threaded build's shared heap; 1 thread: the plain build's own memory.
describe.each([2, 1])('wasm SIMD kernels, wasm backend on %i thread(s)', (threads) => {
  beforeAll(async () => {
    shutdownBackend();
    await initBackend('wasm', { threads, convEngine: 'xnnpack' });
  });
  afterAll(() => shutdownBackend());

  it('start with the wasm backend and say so', () => {
    expect(simdRuntime()).toBeDefined();
    expect(backendInfo()?.description).toMatch(/instance norm and Adam as voxshift wasm SIMD kernels/);
  });

  it.each([
    { shape: [1, 64, 64, 16], note: '2-D' },
    { shape: [1, 16, 16, 16, 32], note: '3-D' },
    { shape: [2, 5, 6, 8], note: 'batch 2, fewer pixels than a 64-pixel block' },
    { shape: [3, 70, 9, 4], note: 'batch 3, pixels not a multiple of the 64-pixel block' },
  ])('instance norm forward and gradient match a float64 reference: $note', ({ shape }) => {
    const { y, dx, x, g } = runInstanceNorm(shape, 1.5, 4);
    const ref = instanceNormRef64(x, g, shape, 1e-5);
    expect(maxRelError(y, ref.y)).toBeLessThan(1e-5);
    expect(maxRelError(dx, ref.dx)).toBeLessThan(1e-5);
  });

  it('keeps its precision when the mean is far larger than the spread (1000 ± 0.01)', () => {
    const shape = [1, 48, 48, 8];
    const { y, x, g } = runInstanceNorm(shape, 1000, 0.01);
    expect(maxRelError(y, instanceNormRef64(x, g, shape, 1e-5).y)).toBeLessThan(1e-5); // the two-pass JavaScript loops: 3e-3 (μ rounded to float32)
  });

  it('gives the same instance norm as the JavaScript loops and leaks no tensors', async () => {
    const shape = [1, 40, 40, 32];
    const simd = runInstanceNorm(shape, -2, 3);
    const before = tf.memory().numTensors;
    runInstanceNorm(shape, -2, 3);
    expect(tf.memory().numTensors).toBe(before);
    closeSimdRuntime();
    expect(simdRuntime()).toBeUndefined();
    const js = runInstanceNorm(shape, -2, 3);
    await startSimdRuntime(tf.backend() as BackendWasm);
    const toF64 = (a: Float32Array): Float64Array => Float64Array.from(a);
    expect(maxRelError(simd.y, toF64(js.y))).toBeLessThan(1e-5);
    expect(maxRelError(simd.dx, toF64(js.dx))).toBeLessThan(1e-5);
  });

  it.each([70_001, 13])('Adam updates %i values like the float64 recurrence', (n) => {
    const [p, m, v, g] = [21, 22, 23, 24].map((seed) => randomValues(n, seed));
    const vPos = v.map((a) => Math.abs(a));
    const attrs = { beta1: 0.5, beta2: 0.999, stepSize: 2e-4, invSqrtBc2: 1 / Math.sqrt(1 - 0.999 ** 3), epsilon: 1e-8 };
    const outs = tf.engine().runKernel(
      ADAM_UPDATE,
      { p: tf.tensor1d(p), m: tf.tensor1d(m), v: tf.tensor1d(vPos), g: tf.tensor1d(g) },
      adamUpdateAttrs(attrs),
    ) as tf.Tensor[];
    const [pNew, mNew, vNew] = outs.map((t) => t.dataSync());
    let worst = 0;
    for (let i = 0; i < n; i++) {
      const mi = attrs.beta1 * m[i] + (1 - attrs.beta1) * g[i];
      const vi = attrs.beta2 * vPos[i] + (1 - attrs.beta2) * g[i] * g[i];
      const pi = p[i] - (attrs.stepSize * mi) / (Math.sqrt(vi) * attrs.invSqrtBc2 + attrs.epsilon);
      worst = Math.max(worst, Math.abs(mNew[i] - mi), Math.abs(vNew[i] - vi), Math.abs(pNew[i] - pi));
    }
    expect(worst).toBeLessThan(1e-6);
    tf.dispose(outs);
  });

  it('hands out zeroed, 64-byte aligned scratch on the heap, reused while it is large enough', () => {
    const rt = simdRuntime();
    if (rt === undefined) throw new Error('no SIMD runtime');
    const heap = (): Uint8Array => new Uint8Array(heapF32(tf.backend() as BackendWasm).buffer);
    const a = rt.scratch(256);
    expect(a % 64).toBe(0);
    heap().fill(7, a, a + 256);
    const b = rt.scratch(128);
    expect(b).toBe(a);
    expect(heap().subarray(b, b + 128).every((v) => v === 0)).toBe(true);
  });
});
