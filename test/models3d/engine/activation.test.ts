import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { initBackend, shutdownBackend } from '../../../models3d/engine/backend.ts';
import { ACTIVATION_GRAD } from '../../../models3d/engine/kernels/activation.ts';
import { closeSimdRuntime, startSimdRuntime } from '../../../models3d/engine/simd/simd-runtime.ts';
import { onBackend, randomValues } from './conv3d-helpers.ts';

/** Values with both signs, exact zeros, a NaN, and a length that is not a multiple of 4. */
function values(n: number, seed: number): Float32Array {
  const v = randomValues(n, seed);
  v[3] = 0;
  v[5] = -0;
  v[n - 2] = Number.NaN;
  return v;
}

function forwardAndGrad(kind: 'relu' | 'leaky', n: number): () => tf.Tensor[] {
  return () => {
    const x = tf.tensor1d(values(n, 3));
    const g = tf.tensor1d(randomValues(n, 4));
    const f = (a: tf.Tensor): tf.Tensor => (kind === 'relu' ? tf.relu(a) : tf.leakyRelu(a, 0.2));
    return [f(x), tf.grad((a: tf.Tensor) => tf.sum(tf.mul(f(a), g)))(x)];
  };
}

function sameValues(a: Float32Array, b: Float32Array): void {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) {
    if (Number.isNaN(b[i])) expect(a[i], `index ${i}`).toBeNaN();
    else expect(a[i], `index ${i}`).toBeCloseTo(b[i], 6);
  }
}

describe('leaky ReLU and the (leaky) ReLU gradient as SIMD kernels on wasm', () => {
  beforeAll(async () => {
    shutdownBackend();
    await initBackend('cpu');
    await initBackend('wasm', { threads: 1, convEngine: 'xnnpack' });
  });
  afterAll(() => shutdownBackend());

  it.each([
    ['relu', 1031],
    ['leaky', 1031],
    ['leaky', 7],
  ] as const)('%s on %i values (NaN, ±0, a tail) matches the pure-JS backend, forward and gradient', async (kind, n) => {
    const ref = await onBackend('cpu', forwardAndGrad(kind, n));
    const ours = await onBackend('wasm', forwardAndGrad(kind, n));
    sameValues(ours[0], ref[0]);
    sameValues(ours[1], ref[1]);
  });

  it('adds same-shape float32 tensors in one pass and leaves broadcasting and int32 to the stock kernel', async () => {
    const run = (): tf.Tensor[] => [
      tf.add(tf.tensor1d(values(1031, 5)), tf.tensor1d(values(1031, 6))),
      tf.add(tf.tensor2d(values(12, 7), [3, 4]), tf.tensor1d([1, 2, 3, 4])),
      tf.add(tf.tensor1d([1, 2, 3], 'int32'), tf.tensor1d([4, 5, 6], 'int32')),
    ];
    const ref = await onBackend('cpu', run);
    const ours = await onBackend('wasm', run);
    for (let k = 0; k < ref.length; k++) sameValues(ours[k], ref[k]);
  });

  it('runs each gradient as one kernel instead of three, and leaks no tensor', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor4d(randomValues(2 * 6 * 6 * 8, 9), [2, 6, 6, 8]);
    for (const f of [(a: tf.Tensor) => tf.relu(a), (a: tf.Tensor) => tf.leakyRelu(a, 0.2)]) {
      const step = (): void => tf.dispose(tf.grad((a: tf.Tensor) => tf.sum(f(a)))(x));
      const info = await tf.profile(step);
      const names = info.kernels.map((k) => k.name);
      expect(names).toContain(ACTIVATION_GRAD);
      for (const composite of ['Step', 'Greater', 'Select']) expect(names).not.toContain(composite);
      const before = tf.memory().numTensors;
      step();
      step();
      expect(tf.memory().numTensors).toBe(before);
    }
    x.dispose();
  });

  it('falls back to the stock kernel and tfjs-core gradients without the SIMD runtime', async () => {
    await tf.setBackend('wasm');
    closeSimdRuntime();
    try {
      const info = await tf.profile(() => tf.dispose(tf.grad((a: tf.Tensor) => tf.sum(tf.leakyRelu(a, 0.2)))(tf.tensor1d([-1, 2, 0.5]))));
      expect(info.kernels.map((k) => k.name)).not.toContain(ACTIVATION_GRAD);
      const [y, dx] = await onBackend('wasm', forwardAndGrad('leaky', 101));
      const [yRef, dxRef] = await onBackend('cpu', forwardAndGrad('leaky', 101));
      sameValues(y, yRef);
      sameValues(dx, dxRef);
    } finally {
      await startSimdRuntime(tf.backend() as BackendWasm);
    }
  });
});
