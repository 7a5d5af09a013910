/** The segmentation U-Net's spec and shapes (2-D and 3-D, logits over C classes), and the Dice + CE loss. */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildNetwork } from '../../../../models3d/networks/build-network.ts';
import { createRng } from '../../../../models3d/networks/rng.ts';
import { describeUnetSegmenter, diceCrossEntropyLoss } from '../../../../validation/segment/learned/index.ts';
import { useBackend } from '../../../models3d/training/training-backend.ts';

beforeAll(async () => {
  await useBackend('wasm');
});

describe('describeUnetSegmenter', () => {
  it.each([2, 3] as const)('%i-D: logits [batch, ...spatial, classes], no activation at the end', (dims) => {
    const spec = describeUnetSegmenter({ spatialDims: dims, classes: 4, filters: 2, depth: 2 });
    expect(spec.sizeMultiple).toBe(4);
    expect(spec.outputChannels).toBe(4);
    expect(spec.nodes.some((n) => n.op === 'tanh')).toBe(false);
    expect(spec.nodes.find((n) => n.name === spec.output)?.op).toBe('conv');
    const net = buildNetwork(spec, createRng(1));
    const before = tf.memory().numTensors;
    const size = dims === 2 ? [8, 12] : [4, 8, 4];
    const y = tf.tidy(() => net.apply(tf.ones([2, ...size, 1])));
    expect(y.shape).toEqual([2, ...size, 4]);
    y.dispose();
    expect(tf.memory().numTensors).toBe(before);
    net.dispose();
  });

  it('rejects bad configurations with the parameter named', () => {
    expect(() => describeUnetSegmenter({ spatialDims: 2, classes: 1 })).toThrow(/classes must be an integer from 2/);
    expect(() => describeUnetSegmenter({ spatialDims: 4 as 2, classes: 2 })).toThrow(/spatialDims must be 2 or 3/);
    expect(() => describeUnetSegmenter({ spatialDims: 2, classes: 2, depth: 0 })).toThrow(/depth/);
  });
});

describe('diceCrossEntropyLoss', () => {
  it('matches a hand computation and ignores all-zero (padded) target rows', () => {
    // Two voxels labelled (class 1, class 0) and one padded voxel with huge wrong logits.
    const logits = tf.tensor4d([0, 1, 2, 0, 50, -50], [1, 1, 3, 2]);
    const target = tf.tensor4d([0, 1, 1, 0, 0, 0], [1, 1, 3, 2]);
    const { total, ce, dice } = diceCrossEntropyLoss(logits, target);
    const s = (a: number, b: number): number => Math.exp(a) / (Math.exp(a) + Math.exp(b));
    const p1 = s(1, 0); // voxel 0, class 1
    const p0 = s(2, 0); // voxel 1, class 0
    const expectedCe = -(Math.log(p1) + Math.log(p0)) / 2;
    // Class 1: intersection p1, predicted mass over labelled voxels p1 + (1 − p0), one target voxel.
    const expectedDice = 1 - (2 * p1 + 1e-5) / (p1 + (1 - p0) + 1 + 1e-5);
    expect(ce.dataSync()[0]).toBeCloseTo(expectedCe, 5);
    expect(dice.dataSync()[0]).toBeCloseTo(expectedDice, 5);
    expect(total.dataSync()[0]).toBeCloseTo(expectedCe + expectedDice, 5);
    tf.dispose([logits, target, total, ce, dice]);
  });

  it('is near zero for confident correct logits and large for confident wrong ones', () => {
    const target = tf.reshape(tf.oneHot(tf.tensor1d([0, 1, 2, 1], 'int32'), 3), [1, 2, 2, 3]);
    const good = tf.mul(target, 30);
    const bad = tf.mul(tf.sub(1, target), 30);
    const lg = diceCrossEntropyLoss(good, target);
    const lb = diceCrossEntropyLoss(bad, target);
    expect(lg.total.dataSync()[0]).toBeLessThan(1e-3);
    expect(lb.total.dataSync()[0]).toBeGreaterThan(10);
    tf.dispose([target, good, bad, lg.total, lg.ce, lg.dice, lb.total, lb.ce, lb.dice]);
  });
});
