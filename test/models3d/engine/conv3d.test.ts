import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { conv3dKernelConfigs } from '../../../models3d/engine/kernels/conv3d-kernels.ts';
import { convEngineInfo, convRoute, convSessionCount, geometry3d, releaseConvSessions } from '../../../models3d/engine/native-conv/native-conv.ts';
import { filterGradForm } from '../../../models3d/engine/native-conv/conv-graphs.ts';
import { initBothBackends, initBothBackendsOn, onBackend, randomValues, relError } from './conv3d-helpers.ts';

type S5 = [number, number, number, number, number];
type Pad = 'same' | 'valid';
interface Case {
  x: S5;
  w: S5;
  strides: number | [number, number, number];
  pad: Pad;
  dilations?: number;
}

const cases: Case[] = [
  { x: [2, 6, 7, 5, 3], w: [3, 3, 3, 3, 4], strides: 1, pad: 'same' },
  { x: [1, 7, 6, 9, 2], w: [3, 3, 3, 2, 3], strides: 2, pad: 'same' },
  { x: [2, 8, 8, 8, 1], w: [4, 4, 4, 1, 2], strides: 2, pad: 'same' },
  { x: [1, 9, 7, 8, 2], w: [4, 4, 4, 2, 3], strides: 2, pad: 'valid' },
  { x: [2, 7, 9, 7, 2], w: [3, 3, 3, 2, 2], strides: 2, pad: 'valid' },
  { x: [1, 8, 8, 8, 1], w: [7, 7, 7, 1, 2], strides: 1, pad: 'same' },
  { x: [1, 9, 8, 10, 2], w: [7, 7, 7, 2, 1], strides: 1, pad: 'valid' },
  { x: [2, 6, 7, 8, 2], w: [3, 3, 3, 2, 3], strides: [1, 2, 2], pad: 'same' },
  { x: [1, 7, 6, 8, 2], w: [3, 3, 3, 2, 2], strides: [2, 1, 1], pad: 'same' },
  { x: [1, 6, 6, 6, 16], w: [3, 3, 3, 16, 8], strides: 1, pad: 'same' },
  // few output channels, batch 2, padded: the filter gradient's narrow-dy form on onnxruntime
  { x: [2, 6, 7, 5, 9], w: [3, 3, 3, 9, 2], strides: 1, pad: 'same' },
  // 1 → 16 and 16 → 1: the forward and the input gradient as blocked 2-D convolutions per depth tap
  { x: [1, 7, 6, 5, 1], w: [3, 3, 3, 1, 16], strides: 1, pad: 'same' },
  { x: [2, 6, 7, 5, 16], w: [3, 3, 3, 16, 1], strides: 1, pad: 'valid' },
];

function name(c: Case): string {
  return `x ${c.x.join('×')}, w ${c.w.join('×')}, strides ${String(c.strides)}, ${c.pad}`;
}

function outShape(c: Case): number[] {
  return tf.backend_util.computeConv3DInfo(c.x, c.w, c.strides, c.dilations ?? 1, c.pad).outShape;
}

/** Forward value, input gradient and filter gradient of sum(conv3d(x, w) · g). */
function forwardAndGrads(c: Case, seed: number): () => tf.Tensor[] {
  return () => {
    const x = tf.tensor(randomValues(tf.util.sizeFromShape(c.x), seed), c.x) as tf.Tensor5D;
    const w = tf.tensor(randomValues(tf.util.sizeFromShape(c.w), seed + 1), c.w) as tf.Tensor5D;
    const os = outShape(c);
    const g = tf.tensor(randomValues(tf.util.sizeFromShape(os), seed + 2), os);
    const f = (a: tf.Tensor, b: tf.Tensor): tf.Tensor =>
      tf.sum(tf.mul(tf.conv3d(a as tf.Tensor5D, b as tf.Tensor5D, c.strides, c.pad), g));
    const y = tf.conv3d(x, w, c.strides, c.pad, 'NDHWC', c.dilations ?? 1);
    const [dx, dw] = tf.grads(f)([x, w]);
    return [y, dx, dw];
  };
}

describe('Conv3D on wasm as sums of Conv2D over depth taps', () => {
  beforeAll(initBothBackends);

  it('runs voxshift\'s kernels on wasm (registered by initBackend)', () => {
    for (const c of conv3dKernelConfigs) expect(tf.getKernel(c.kernelName, 'wasm')).toBe(c);
  });

  it.each(cases)('forward, input and filter gradients match the pure-JS backend: %s', async (c) => {
    const seed = c.x.reduce((a, b) => a * 31 + b, 7);
    const ref = await onBackend('cpu', forwardAndGrads(c, seed));
    const ours = await onBackend('wasm', forwardAndGrads(c, seed));
    for (let k = 0; k < 3; k++) {
      const e = relError(ours[k], ref[k]);
      expect(e, `${['y', 'dx', 'dw'][k]} for ${name(c)}`).toBeLessThan(1e-4);
    }
  });

  it('dilated forward matches the pure-JS backend', async () => {
    const c: Case = { x: [1, 9, 8, 9, 2], w: [3, 3, 3, 2, 3], strides: 1, pad: 'same', dilations: 2 };
    const f = (): tf.Tensor[] => {
      const x = tf.tensor(randomValues(tf.util.sizeFromShape(c.x), 3), c.x) as tf.Tensor5D;
      const w = tf.tensor(randomValues(tf.util.sizeFromShape(c.w), 4), c.w) as tf.Tensor5D;
      return [tf.conv3d(x, w, 1, 'same', 'NDHWC', 2)];
    };
    const [ref] = await onBackend('cpu', f);
    const [ours] = await onBackend('wasm', f);
    expect(relError(ours, ref)).toBeLessThan(1e-4);
  });

  it('rejects a dy whose shape does not match the convolution with VoxshiftError', () => {
    const dy = tf.zeros([1, 3, 3, 3, 2]);
    const filter = tf.zeros([3, 3, 3, 1, 2]);
    const x = tf.zeros([1, 4, 4, 4, 1]);
    const attrs = { strides: 1, pad: 'same' } as unknown as tf.NamedAttrMap;
    expect(() => tf.engine().runKernel('Conv3DBackpropInputV2', { dy, filter }, { ...attrs, inputShape: [1, 4, 4, 4, 1] })).toThrow(
      expect.objectContaining({ code: 'VOXSHIFT_E_INVALID_ARGUMENT', param: 'dy' }),
    );
    expect(() => tf.engine().runKernel('Conv3DBackpropFilterV2', { x, dy }, { ...attrs, filterShape: [3, 3, 3, 1, 2] })).toThrow(
      expect.objectContaining({ code: 'VOXSHIFT_E_INVALID_ARGUMENT', param: 'dy' }),
    );
    tf.dispose([dy, filter, x]);
  });

  it('frees the cached filter taps, and what the 2-D kernels cache for them, with the filter', () => {
    const backend = tf.backend() as unknown as { numDataIds(): number };
    const before = backend.numDataIds();
    const c = cases[0];
    const x = tf.tensor(randomValues(tf.util.sizeFromShape(c.x), 7), c.x) as tf.Tensor5D;
    const w = tf.tensor(randomValues(tf.util.sizeFromShape(c.w), 8), c.w) as tf.Tensor5D;
    const run = (): Float32Array =>
      tf.tidy(() => tf.grad((a: tf.Tensor) => tf.sum(tf.square(tf.conv3d(a as tf.Tensor5D, w, 1, 'same'))))(x).dataSync() as Float32Array);
    const first = run();
    const cachedIds = backend.numDataIds();
    expect(cachedIds).toBeGreaterThan(before + 2); // the taps (and the 2-D kernels' transforms) stay
    expect(Array.from(run())).toEqual(Array.from(first)); // cache hits give the same numbers
    expect(backend.numDataIds()).toBe(cachedIds);
    tf.dispose([x, w]);
    expect(backend.numDataIds()).toBe(before);
  });

  it('does not leak tensors or bytes across repeated forward + backward passes', async () => {
    const c = cases[1];
    const x = tf.tensor(randomValues(tf.util.sizeFromShape(c.x), 5), c.x) as tf.Tensor5D;
    const w = tf.tensor(randomValues(tf.util.sizeFromShape(c.w), 6), c.w) as tf.Tensor5D;
    const step = (): void => {
      const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.conv3d(a as tf.Tensor5D, b as tf.Tensor5D, c.strides, c.pad)))([x, w]);
      tf.dispose([dx, dw]);
    };
    step();
    const backend = tf.backend() as unknown as { numDataIds(): number };
    const before = { ...tf.memory(), ids: backend.numDataIds() };
    for (let i = 0; i < 3; i++) step();
    expect(tf.memory().numTensors).toBe(before.numTensors);
    expect(tf.memory().numBytes).toBe(before.numBytes);
    expect(backend.numDataIds()).toBe(before.ids);
    tf.dispose([x, w]);
  });
});

describe("Conv3D and its gradients on onnxruntime's CPU kernels (convEngine 'onnxruntime')", () => {
  beforeAll(() => initBothBackendsOn('onnxruntime'));

  it.each(cases)('forward, input and filter gradients match the pure-JS backend: %s', async (c) => {
    const seed = c.x.reduce((a, b) => a * 17 + b, 3);
    const ref = await onBackend('cpu', forwardAndGrads(c, seed));
    const ours = await onBackend('wasm', forwardAndGrads(c, seed));
    for (let k = 0; k < 3; k++) expect(relError(ours[k], ref[k]), `${['y', 'dx', 'dw'][k]} for ${name(c)}`).toBeLessThan(1e-4);
  });

  it("runs a 64³ generator's first and last layers' filter gradients, first forward and last input gradient on onnxruntime, shifting their narrow side", () => {
    const geo = (x: S5, w: S5, strides: number, pad: Pad) => geometry3d(tf.backend_util.computeConv3DInfo(x, w, strides, 1, pad));
    const first = geo([1, 70, 70, 70, 1], [7, 7, 7, 1, 16], 1, 'valid');
    const last = geo([1, 70, 70, 70, 16], [7, 7, 7, 16, 1], 1, 'valid');
    const patchFirst = geo([1, 66, 66, 66, 1], [4, 4, 4, 1, 64], 2, 'valid');
    expect([filterGradForm(first), filterGradForm(last), filterGradForm(patchFirst)]).toEqual(['narrow-x', 'narrow-dy', 'narrow-x']);
    // with blocked kernels the narrow-x ones take depth slabs as channels (nchwc3d-graphs)
    const narrowX = convEngineInfo().nchwcBlock > 0 ? 'onnxruntime-blocked' : 'onnxruntime';
    expect([first, last, patchFirst].map((g) => convRoute('backprop-filter', g))).toEqual([narrowX, 'onnxruntime', narrowX]);
    // the first layer's forward (360 MB of im2col) and the last layer's input gradient: blocked 2-D
    // convolutions per depth tap, or without blocked kernels from their narrow operand's views
    const narrowRoute = convEngineInfo().nchwcBlock > 0 ? 'onnxruntime-blocked' : 'onnxruntime';
    expect(convRoute('forward', first)).toBe(narrowRoute);
    expect(convRoute('backprop-input', last)).toBe(narrowRoute);
    // residual blocks (channels a multiple of the block): forward and input gradients blocked per
    // depth tap (stride 2 by phases); odd sizes' stride-2 input gradients stay on the wasm kernels
    if (convEngineInfo().nchwcBlock > 0) {
      const res = geo([1, 16, 16, 16, 64], [3, 3, 3, 64, 64], 1, 'same');
      expect([convRoute('forward', res), convRoute('backprop-input', res)]).toEqual(['onnxruntime-blocked', 'onnxruntime-blocked']);
      expect(convRoute('forward', geo([1, 32, 32, 32, 64], [4, 4, 4, 64, 128], 2, 'same'))).toBe('onnxruntime-blocked');
      expect(convRoute('backprop-input', geo([1, 32, 32, 32, 32], [3, 3, 3, 32, 64], 2, 'same'))).toBe('onnxruntime-blocked');
      expect(convRoute('backprop-input', geo([1, 33, 32, 32, 32], [3, 3, 3, 32, 64], 2, 'same'))).toBe('wasm');
    }
    // wide layers: im2col on small maps, plane-tap views times depth-shifted dy on larger ones; few
    // output channels with stride 2 stay on the wasm kernels
    expect(filterGradForm(geo([1, 18, 18, 18, 64], [3, 3, 3, 64, 64], 1, 'valid'))).toBe('outer-shifted');
    expect(filterGradForm(geo([1, 10, 10, 10, 64], [3, 3, 3, 64, 64], 1, 'valid'))).toBe('im2col');
    expect(convRoute('backprop-filter', geo([1, 9, 9, 9, 16], [4, 4, 4, 16, 1], 2, 'valid'))).toBe('wasm');
  });

  it('reuses one session per geometry and leaks no tensor across steps', () => {
    const c = cases[1];
    const x = tf.tensor(randomValues(tf.util.sizeFromShape(c.x), 5), c.x) as tf.Tensor5D;
    const w = tf.tensor(randomValues(tf.util.sizeFromShape(c.w), 6), c.w) as tf.Tensor5D;
    const step = (): void => {
      tf.dispose(tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.conv3d(a as tf.Tensor5D, b as tf.Tensor5D, c.strides, c.pad)))([x, w]));
    };
    releaseConvSessions();
    step();
    const sessions = convSessionCount();
    // forward and filter gradient as 3-D sessions; the input gradient's per-tap 2-D convolutions as others
    expect(sessions).toBeGreaterThanOrEqual(3);
    const before = tf.memory();
    for (let i = 0; i < 3; i++) step();
    expect(convSessionCount()).toBe(sessions);
    expect(tf.memory().numTensors).toBe(before.numTensors);
    expect(tf.memory().numBytes).toBe(before.numBytes);
    tf.dispose([x, w]);
  });
});
