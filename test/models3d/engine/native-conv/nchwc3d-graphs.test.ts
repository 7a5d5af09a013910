import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../../models3d/engine/backend.ts';
import { configureConvEngine, convEngineInfo, convRoute, geometry3d } from '../../../../models3d/engine/native-conv/native-conv.ts';
import { buildNchwc3dConvGraph, nchwc3dApplies } from '../../../../models3d/engine/native-conv/nchwc3d-graphs.ts';
import { conv3dReference, randomValues, relError } from '../conv3d-helpers.ts';
import { runConvGraph } from './run-graph.ts';

type S5 = [number, number, number, number, number];

interface Case {
  x: S5;
  w: S5;
  strides: number | [number, number, number];
  pad: 'same' | 'valid';
}

// forward: few input channels (NCHW slabs) or a multiple of 16 (blocked slabs), any stride;
// input gradient: stride 1, few output channels or a multiple of 16
const cases: Case[] = [
  { x: [2, 9, 8, 7, 1], w: [7, 7, 7, 1, 16], strides: 1, pad: 'same' },
  { x: [1, 8, 9, 10, 3], w: [3, 4, 3, 3, 20], strides: 1, pad: 'valid' },
  { x: [1, 7, 8, 6, 2], w: [4, 3, 3, 2, 16], strides: [1, 2, 2], pad: 'same' },
  { x: [1, 6, 7, 8, 1], w: [3, 3, 3, 1, 16], strides: 2, pad: 'same' },
  { x: [2, 6, 5, 7, 16], w: [3, 3, 3, 16, 16], strides: 1, pad: 'same' },
  { x: [1, 8, 7, 6, 16], w: [3, 3, 3, 16, 32], strides: 2, pad: 'same' },
  { x: [1, 9, 8, 8, 32], w: [4, 4, 4, 32, 20], strides: 2, pad: 'valid' },
  { x: [1, 5, 6, 6, 32], w: [4, 4, 4, 32, 16], strides: 1, pad: 'same' },
];
const gradientCases: Case[] = [
  { x: [2, 8, 9, 7, 16], w: [7, 7, 7, 16, 1], strides: 1, pad: 'same' },
  { x: [1, 9, 8, 10, 20], w: [3, 4, 3, 20, 2], strides: 1, pad: 'valid' },
  { x: [1, 7, 6, 8, 16], w: [4, 2, 4, 16, 3], strides: 1, pad: 'same' },
  { x: [2, 6, 7, 5, 16], w: [3, 3, 3, 16, 16], strides: 1, pad: 'same' },
  { x: [1, 7, 6, 6, 16], w: [4, 4, 4, 16, 32], strides: 1, pad: 'same' },
  // stride 2 (and so a 3-D generator's up-sampling): eight phase convolutions, even input sizes
  { x: [2, 8, 6, 10, 16], w: [3, 3, 3, 16, 32], strides: 2, pad: 'same' },
  { x: [1, 8, 8, 8, 32], w: [4, 4, 4, 32, 16], strides: 2, pad: 'valid' },
  { x: [1, 6, 8, 10, 16], w: [4, 4, 4, 16, 16], strides: 2, pad: 'same' },
];

function runGraph(op: 'forward' | 'backprop-input', g: ReturnType<typeof geometry3d>, block: number, a: Float32Array, b: Float32Array): Float32Array {
  return runConvGraph(buildNchwc3dConvGraph(op, g, block), op, g, a, b);
}

describe('3-D forward convolutions and input gradients as blocked 2-D convolutions per depth tap (onnxruntime)', () => {
  let block = 0;
  beforeAll(async () => {
    await initBackend('cpu');
    block = configureConvEngine('onnxruntime', 1).nchwcBlock;
  });

  it.each(cases)('matches the pure-JS backend: %j', (c) => {
    if (block === 0) return; // no blocked kernels on this CPU
    const g = geometry3d(tf.backend_util.computeConv3DInfo(c.x, c.w, c.strides, 1, c.pad));
    expect(nchwc3dApplies('forward', g, block)).toBe(true);
    expect(convRoute('forward', g)).toBe('onnxruntime-blocked');
    const x = randomValues(tf.util.sizeFromShape(c.x), 3);
    const w = randomValues(tf.util.sizeFromShape(c.w), 4);
    const ref = tf.tidy(() => tf.conv3d(tf.tensor(x, c.x) as tf.Tensor5D, tf.tensor(w, c.w) as tf.Tensor5D, c.strides, c.pad).dataSync() as Float32Array);
    expect(relError(runGraph('forward', g, block, x, w), ref)).toBeLessThan(1e-4);
  });

  it.each(gradientCases)('input gradient matches the pure-JS backend: %j', (c) => {
    if (block === 0) return;
    const g = geometry3d(tf.backend_util.computeConv3DInfo(c.x, c.w, c.strides, 1, c.pad));
    expect(convRoute('backprop-input', g)).toBe('onnxruntime-blocked');
    const w = randomValues(tf.util.sizeFromShape(c.w), 5);
    const dy = randomValues(g.batch * g.outSize.reduce((a, b) => a * b, 1) * g.outChannels, 6);
    const ref = conv3dReference(c.x, c.w, c.strides, c.pad, new Float32Array(tf.util.sizeFromShape(c.x)), w, dy)[1];
    expect(relError(runGraph('backprop-input', g, block, dy, w), ref)).toBeLessThan(1e-4);
  });

  it('leaves input channels off the block, strided input gradients and filter gradients to the other routes', () => {
    const geo = (x: S5, w: S5, strides: number | [number, number, number]) => geometry3d(tf.backend_util.computeConv3DInfo(x, w, strides, 1, 'same'));
    expect(nchwc3dApplies('forward', geo([1, 8, 8, 8, 1], [3, 3, 3, 1, 16], 2), 16)).toBe(true);
    expect(nchwc3dApplies('forward', geo([1, 8, 8, 8, 16], [3, 3, 3, 16, 16], 1), 16)).toBe(true);
    expect(nchwc3dApplies('forward', geo([1, 8, 8, 8, 20], [3, 3, 3, 20, 16], 1), 16)).toBe(false);
    expect(nchwc3dApplies('backprop-input', geo([1, 8, 8, 8, 16], [3, 3, 3, 16, 16], 2), 16)).toBe(true);
    expect(nchwc3dApplies('backprop-input', geo([1, 9, 8, 8, 16], [3, 3, 3, 16, 16], 2), 16)).toBe(false); // odd depth
    expect(nchwc3dApplies('backprop-input', geo([1, 8, 8, 8, 1], [4, 4, 4, 1, 64], 2), 16)).toBe(false); // dx of 1 channel
    expect(nchwc3dApplies('forward', geo([1, 8, 8, 8, 1], [3, 3, 3, 1, 8], 1), 16)).toBe(false);
    expect(nchwc3dApplies('backprop-filter', geo([1, 8, 8, 8, 1], [3, 3, 3, 1, 16], 1), 16)).toBe(false);
    expect(nchwc3dApplies('backprop-input', geo([1, 8, 8, 8, 16], [3, 3, 3, 16, 1], 2), 16)).toBe(false);
    expect(nchwc3dApplies('backprop-input', geo([1, 8, 8, 8, 16], [3, 3, 3, 16, 1], 1), 16)).toBe(true);
    expect(nchwc3dApplies('forward', geo([1, 8, 8, 8, 1], [3, 3, 3, 1, 16], 1), 0)).toBe(false);
    expect(convEngineInfo().engine).toBe('onnxruntime');
  });
});

// Filter gradients of layers with few input channels: depth slabs as the channels of one blocked
// convolution per depth tap (batch × output depth and output channels in whole blocks).
const filterCases: Case[] = [
  { x: [1, 22, 20, 19, 1], w: [7, 7, 7, 1, 16], strides: 1, pad: 'valid' },
  { x: [2, 8, 10, 9, 2], w: [3, 3, 3, 2, 16], strides: 1, pad: 'same' },
  { x: [1, 32, 20, 18, 1], w: [4, 4, 4, 1, 32], strides: 2, pad: 'same' },
];

describe('3-D filter gradients with depth slabs as channels (onnxruntime blocked kernels)', () => {
  let block = 0;
  beforeAll(async () => {
    await initBackend('cpu');
    block = configureConvEngine('onnxruntime', 1).nchwcBlock;
  });

  it.each(filterCases)('matches the pure-JS backend: %j', (c) => {
    if (block === 0) return;
    const g = geometry3d(tf.backend_util.computeConv3DInfo(c.x, c.w, c.strides, 1, c.pad));
    expect(convRoute('backprop-filter', g)).toBe('onnxruntime-blocked');
    const x = randomValues(tf.util.sizeFromShape(c.x), 7);
    const dy = randomValues(g.batch * g.outSize.reduce((a, b) => a * b, 1) * g.outChannels, 8);
    const ref = conv3dReference(c.x, c.w, c.strides, c.pad, x, new Float32Array(tf.util.sizeFromShape(c.w)), dy)[2];
    expect(relError(runConvGraph(buildNchwc3dConvGraph('backprop-filter', g, block), 'backprop-filter', g, x, dy), ref)).toBeLessThan(1e-4);
  });

  it('keeps wide layers and output depths off the block on the other graphs', () => {
    const geo = (x: S5, w: S5) => geometry3d(tf.backend_util.computeConv3DInfo(x, w, 1, 1, 'same'));
    expect(nchwc3dApplies('backprop-filter', geo([1, 10, 8, 8, 1], [3, 3, 3, 1, 16]), 16)).toBe(false);
    expect(nchwc3dApplies('backprop-filter', geo([1, 16, 8, 8, 16], [3, 3, 3, 16, 16]), 16)).toBe(false);
    expect(nchwc3dApplies('backprop-filter', geo([1, 16, 8, 8, 1], [3, 3, 3, 1, 8]), 16)).toBe(false);
  });
});
