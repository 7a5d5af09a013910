import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../../models3d/engine/backend.ts';
import { buildConvGraph, filterGradForm, type ConvGeometry, type ConvOp } from '../../../../models3d/engine/native-conv/conv-graphs.ts';
import { geometry3d } from '../../../../models3d/engine/native-conv/native-conv.ts';
import { conv3dReference, randomValues, relError } from '../conv3d-helpers.ts';
import { runConvGraph } from './run-graph.ts';

type S5 = [number, number, number, number, number];
type Pad = 'same' | 'valid';

interface Case {
  x: S5;
  w: S5;
  strides: number;
  pad: Pad;
}

function geometry(c: Case): ConvGeometry {
  return geometry3d(tf.backend_util.computeConv3DInfo(c.x, c.w, c.strides, 1, c.pad));
}

function runGraph(op: ConvOp, g: ConvGeometry, narrowInput: boolean, a: Float32Array, b: Float32Array): Float32Array {
  return runConvGraph(buildConvGraph(op, g, narrowInput), op, g, a, b);
}


// Few input channels (forward, filter gradient narrow-x) or few output channels (input gradient,
// filter gradient narrow-dy); strides, 'same' and 'valid' padding, batch 2.
const cases: Case[] = [
  { x: [2, 9, 8, 7, 1], w: [7, 7, 7, 1, 5], strides: 1, pad: 'same' },
  { x: [1, 10, 9, 11, 2], w: [4, 4, 4, 2, 6], strides: 2, pad: 'same' },
  { x: [2, 8, 9, 7, 3], w: [3, 3, 3, 3, 4], strides: 2, pad: 'valid' },
  { x: [2, 9, 8, 10, 9], w: [7, 7, 7, 9, 1], strides: 1, pad: 'valid' },
  { x: [1, 7, 8, 6, 12], w: [3, 4, 3, 12, 2], strides: 1, pad: 'same' },
  // even kernel, 'same': one more row of padding after than before
  { x: [2, 6, 7, 8, 4], w: [4, 2, 4, 4, 3], strides: 1, pad: 'same' },
];

describe('narrow convolution graphs on onnxruntime against the pure-JS backend', () => {
  beforeAll(async () => {
    await initBackend('cpu');
  });

  it.each(cases)('forward and input gradient from the narrow operand\'s views, and the filter gradient: x %j', (c) => {
    const g = geometry(c);
    const seed = c.x.reduce((a, b) => a * 13 + b, 5);
    const x = randomValues(tf.util.sizeFromShape(c.x), seed);
    const w = randomValues(tf.util.sizeFromShape(c.w), seed + 1);
    const dy = randomValues(g.batch * g.outSize.reduce((a, b) => a * b, 1) * g.outChannels, seed + 2);
    const [yRef, dxRef, dwRef] = conv3dReference(c.x, c.w, c.strides, c.pad, x, w, dy);
    if (g.inChannels < 8) expect(relError(runGraph('forward', g, true, x, w), yRef), 'forward').toBeLessThan(1e-4);
    if (g.outChannels < 8 && c.strides === 1) expect(relError(runGraph('backprop-input', g, true, dy, w), dxRef), 'input gradient').toBeLessThan(1e-4);
    expect(filterGradForm(g)).not.toBe('im2col');
    expect(relError(runGraph('backprop-filter', g, false, x, dy), dwRef), `filter gradient (${filterGradForm(g)})`).toBeLessThan(1e-4);
  });
});

// Wide 3-D layers on larger maps: the filter gradient from plane-tap views per depth-stride parity
// times dy shifted by each depth tap (outer-shifted), odd and even depth kernels, batch 2.
const outerShiftedCases: Case[] = [
  { x: [1, 12, 12, 12, 8], w: [3, 3, 3, 8, 8], strides: 1, pad: 'same' },
  { x: [2, 24, 20, 22, 8], w: [4, 4, 4, 8, 12], strides: 2, pad: 'same' },
  { x: [1, 26, 22, 22, 8], w: [3, 4, 3, 8, 9], strides: 2, pad: 'valid' },
];

describe('outer-shifted filter gradient graphs on onnxruntime against the pure-JS backend', () => {
  beforeAll(async () => {
    await initBackend('cpu');
  });

  it.each(outerShiftedCases)('filter gradient: x %j', (c) => {
    const g = geometry(c);
    expect(filterGradForm(g)).toBe('outer-shifted');
    const seed = c.x.reduce((a, b) => a * 7 + b, 3);
    const x = randomValues(tf.util.sizeFromShape(c.x), seed);
    const w = randomValues(tf.util.sizeFromShape(c.w), seed + 1);
    const dy = randomValues(g.batch * g.outSize.reduce((a, b) => a * b, 1) * g.outChannels, seed + 2);
    const dwRef = conv3dReference(c.x, c.w, c.strides, c.pad, x, w, dy)[2];
    expect(relError(runGraph('backprop-filter', g, false, x, dy), dwRef)).toBeLessThan(1e-4);
  });

  it('keeps im2col for small maps and for 2-D', () => {
    expect(filterGradForm(geometry({ x: [1, 8, 8, 8, 256], w: [4, 4, 4, 256, 512], strides: 1, pad: 'same' }))).toBe('im2col');
    const g2 = { ...geometry({ x: [1, 1, 32, 32, 128], w: [1, 3, 3, 128, 128], strides: 1, pad: 'same' }) };
    const twoD: ConvGeometry = { ...g2, dims: 2, inSize: g2.inSize.slice(1), outSize: g2.outSize.slice(1), kernel: [3, 3], strides: [1, 1], dilations: [1, 1], padBegin: [1, 1], padEnd: [1, 1] };
    expect(filterGradForm(twoD)).toBe('im2col');
  });
});
