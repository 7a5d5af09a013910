import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { instanceNorm } from '../../../models3d/engine/ops/instance-norm.ts';
import { initBothBackends, onBackend, randomValues, relError } from './conv3d-helpers.ts';

/** The plain autograd formulation, as a reference. */
function instanceNormRef(x: tf.Tensor, eps: number, gamma?: tf.Tensor, beta?: tf.Tensor): tf.Tensor {
  const axes = x.rank === 4 ? [1, 2] : [1, 2, 3];
  const { mean, variance } = tf.moments(x, axes, true);
  let y = tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, eps)));
  if (gamma !== undefined) y = tf.mul(y, gamma);
  if (beta !== undefined) y = tf.add(y, beta);
  return y;
}

const cases = [
  { shape: [2, 5, 7, 3], affine: true },
  { shape: [1, 6, 4, 1], affine: false },
  { shape: [2, 4, 5, 3, 2], affine: true },
  { shape: [1, 3, 4, 5, 1], affine: false },
  { shape: [2, 9, 7, 33], affine: false },
  { shape: [1, 5, 6, 4, 19], affine: true },
];

function run(shape: number[], affine: boolean, ours: boolean): () => tf.Tensor[] {
  return () => {
    const c = shape[shape.length - 1];
    // Non-zero mean and a wide scale so that the normalisation matters.
    const x = tf.add(tf.mul(tf.tensor(randomValues(tf.util.sizeFromShape(shape), 3), shape), 4), 1.5);
    const g = tf.tensor(randomValues(tf.util.sizeFromShape(shape), 4), shape);
    const gamma = tf.add(tf.tensor1d(randomValues(c, 5)), 1);
    const beta = tf.tensor1d(randomValues(c, 6));
    const f = (a: tf.Tensor, gm: tf.Tensor, bt: tf.Tensor): tf.Tensor => {
      const p = affine ? { gamma: gm as tf.Tensor1D, beta: bt as tf.Tensor1D } : {};
      return ours ? instanceNorm(a as tf.Tensor4D, { epsilon: 1e-5, ...p }) : instanceNormRef(a, 1e-5, p.gamma, p.beta);
    };
    const y = f(x, gamma, beta);
    const loss = (a: tf.Tensor, gm: tf.Tensor, bt: tf.Tensor): tf.Scalar => tf.sum(tf.mul(f(a, gm, bt), g));
    if (!affine) return [y, tf.grad((a: tf.Tensor) => loss(a, gamma, beta))(x)];
    return [y, ...tf.grads(loss)([x, gamma, beta])];
  };
}

describe('instanceNorm (fused, analytic backward)', () => {
  beforeAll(initBothBackends);

  it.each(cases)('matches the autograd formulation on cpu and wasm: %o', async ({ shape, affine }) => {
    const ref = await onBackend('cpu', run(shape, affine, false));
    for (const backend of ['cpu', 'wasm']) {
      const ours = await onBackend(backend, run(shape, affine, true));
      const names = ['y', 'dx', 'dgamma', 'dbeta'];
      for (let k = 0; k < (affine ? 4 : 2); k++) {
        expect(relError(ours[k], ref[k]), `${names[k]} on ${backend}`).toBeLessThan(1e-4);
      }
    }
  });

  it('normalises each sample and channel to zero mean and unit variance', () => {
    const y = instanceNorm(tf.tensor(randomValues(2 * 4 * 4 * 4 * 3, 8), [2, 4, 4, 4, 3]) as tf.Tensor5D);
    const { mean, variance } = tf.moments(y, [1, 2, 3]);
    for (const m of mean.dataSync()) expect(Math.abs(m)).toBeLessThan(1e-5);
    for (const v of variance.dataSync()) expect(v).toBeCloseTo(1, 3);
    tf.dispose([y, mean, variance]);
  });

  it('runs fewer kernels for forward + backward than the autograd of moments', async () => {
    const count = async (ours: boolean): Promise<number> => {
      const info = await tf.profile(() => {
        const r = run([1, 4, 4, 2], true, ours)();
        tf.dispose(r);
      });
      return info.kernels.length;
    };
    expect(await count(true)).toBeLessThan(await count(false));
  });

  it('runs as the two fused kernels on wasm, and a constant channel normalises to 0 with finite gradients', async () => {
    const previous = tf.getBackend();
    await tf.setBackend('wasm');
    try {
      const info = await tf.profile(() => tf.dispose(tf.grad((a: tf.Tensor) => tf.sum(tf.square(instanceNorm(a as tf.Tensor4D))))(tf.ones([1, 3, 3, 2]))));
      const names = info.kernels.map((k) => k.name);
      expect(names).toEqual(expect.arrayContaining(['VoxshiftInstanceNorm', 'VoxshiftInstanceNormGrad']));
      expect(names).not.toContain('Sub');
    } finally {
      await tf.setBackend(previous);
    }
    const [y, dx] = await onBackend('wasm', () => {
      const x = tf.fill([1, 3, 3, 2], 7);
      const w = tf.reshape(tf.range(0, 18), [1, 3, 3, 2]);
      return [instanceNorm(x as tf.Tensor4D), tf.grad((a: tf.Tensor) => tf.sum(tf.mul(instanceNorm(a as tf.Tensor4D), w)))(x)];
    });
    expect(Array.from(y).every((v) => v === 0)).toBe(true);
    expect(Array.from(dx).every(Number.isFinite)).toBe(true);
  });

  it('does not leak tensors across repeated gradient calls', () => {
    const x = tf.tensor(randomValues(2 * 5 * 5 * 2, 9), [2, 5, 5, 2]) as tf.Tensor4D;
    const step = (): void => tf.dispose(tf.grad((a: tf.Tensor) => tf.sum(tf.square(instanceNorm(a as tf.Tensor4D))))(x));
    step();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) step();
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });

  it('rejects bad input with VoxshiftError', () => {
    const x = tf.zeros([1, 4, 4, 3]) as tf.Tensor4D;
    expect(() => instanceNorm(tf.zeros([4, 4, 3]) as unknown as tf.Tensor4D)).toThrow(expect.objectContaining({ code: 'VOXSHIFT_E_INVALID_ARGUMENT', param: 'x' }));
    expect(() => instanceNorm(x, { gamma: tf.ones([2]) as tf.Tensor1D })).toThrow(expect.objectContaining({ code: 'VOXSHIFT_E_INVALID_ARGUMENT', param: 'gamma' }));
    expect(() => instanceNorm(x, { epsilon: 0 })).toThrow(expect.objectContaining({ param: 'epsilon' }));
    x.dispose();
  });
});
