import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { discriminatorLoss, ganLoss, l1Loss } from '../../../models3d/training/losses.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const z = [-3, -0.5, 0, 0.25, 4];
const mean = (v: number[]): number => v.reduce((a, b) => a + b, 0) / v.length;
const bce = (x: number, t: number): number => -(t * Math.log(1 / (1 + Math.exp(-x))) + (1 - t) * Math.log(1 - 1 / (1 + Math.exp(-x))));

describe('GAN losses', () => {
  it('LSGAN is the mean squared distance to the target', () => {
    const x = tf.tensor1d(z);
    expect(ganLoss(x, 1).dataSync()[0]).toBeCloseTo(mean(z.map((v) => (v - 1) ** 2)), 5);
    expect(ganLoss(x, 0).dataSync()[0]).toBeCloseTo(mean(z.map((v) => v * v)), 5);
  });

  it('vanilla GAN is binary cross-entropy on logits (stable for large |logits|)', () => {
    const x = tf.tensor1d(z);
    expect(ganLoss(x, 1, 'vanilla').dataSync()[0]).toBeCloseTo(mean(z.map((v) => bce(v, 1))), 5);
    expect(ganLoss(x, 0, 'vanilla').dataSync()[0]).toBeCloseTo(mean(z.map((v) => bce(v, 0))), 5);
    expect(ganLoss(tf.tensor1d([200]), 0, 'vanilla').dataSync()[0]).toBeCloseTo(200, 3);
  });

  it('discriminator loss is the mean of the real and fake terms; L1 is the mean absolute difference', () => {
    const real = tf.tensor1d([0.9, 1.2]);
    const fake = tf.tensor1d([0.1, -0.3]);
    const expected = 0.5 * (mean([0.01, 0.04]) + mean([0.01, 0.09]));
    expect(discriminatorLoss(real, fake).dataSync()[0]).toBeCloseTo(expected, 6);
    expect(l1Loss(tf.tensor2d([[1, -2]]), tf.tensor2d([[0.5, 1]])).dataSync()[0]).toBeCloseTo(1.75, 6);
  });
});

describe('one-sided label smoothing and multi-scale logits', () => {
  const real = [0.9, 1.2, -0.4, 2.5];
  const fake = [0.1, -0.3, 0.7];

  it('smoothing s moves only the real target to 1 − s: LSGAN changes by ½·mean(2s(z − 1) + s²), vanilla by ½·s·mean(z)', () => {
    const r = tf.tensor1d(real);
    const f = tf.tensor1d(fake);
    const s = 0.1;
    const ls0 = discriminatorLoss(r, f).dataSync()[0];
    const ls1 = discriminatorLoss(r, f, 'lsgan', s).dataSync()[0];
    expect(ls1).toBeCloseTo(0.5 * (mean(real.map((z) => (z - 0.9) ** 2)) + mean(fake.map((z) => z * z))), 6);
    expect(ls1 - ls0).toBeCloseTo(0.5 * mean(real.map((z) => 2 * s * (z - 1) + s * s)), 6);
    const v0 = discriminatorLoss(r, f, 'vanilla').dataSync()[0];
    const v1 = discriminatorLoss(r, f, 'vanilla', s).dataSync()[0];
    expect(v1).toBeCloseTo(0.5 * (mean(real.map((z) => bce(z, 0.9))) + mean(fake.map((z) => bce(z, 0)))), 5);
    expect(v1 - v0).toBeCloseTo(0.5 * s * mean(real), 6);
    // The fake term is untouched: with identical real logits the difference is the real term's alone.
    expect(discriminatorLoss(r, tf.tensor1d([5, 5]), 'lsgan', s).dataSync()[0] - discriminatorLoss(r, tf.tensor1d([5, 5]), 'lsgan').dataSync()[0]).toBeCloseTo(ls1 - ls0, 5);
  });

  it('a list of logits (one per scale) gives the mean of the per-scale losses; a one-element list the plain loss', () => {
    const a = tf.tensor1d(real);
    const b = tf.tensor2d([[0.2, 0.4], [0.6, 0.8]]);
    const la = ganLoss(a, 1).dataSync()[0];
    const lb = ganLoss(b, 1).dataSync()[0];
    expect(ganLoss([a, b], 1).dataSync()[0]).toBeCloseTo((la + lb) / 2, 6);
    expect(ganLoss([a], 1).dataSync()[0]).toBe(la);
    const d = discriminatorLoss([a, b], [b, a], 'vanilla', 0.2).dataSync()[0];
    const perScale = [discriminatorLoss(a, b, 'vanilla', 0.2), discriminatorLoss(b, a, 'vanilla', 0.2)].map((t) => t.dataSync()[0]);
    expect(d).toBeCloseTo(mean(perScale), 6);
  });

  it('rejects targets outside [0, 1] and smoothing outside [0, 1)', () => {
    const a = tf.tensor1d(real);
    expect(() => ganLoss(a, 1.5)).toThrow(/target/);
    expect(() => ganLoss([], 1)).toThrow(/logits/);
    expect(() => discriminatorLoss(a, a, 'lsgan', 1)).toThrow(/labelSmoothing/);
    expect(() => discriminatorLoss(a, a, 'lsgan', -0.1)).toThrow(/labelSmoothing/);
  });
});
