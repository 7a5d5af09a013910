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
