import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { backendInfo, initBackend } from '../../../models3d/engine/backend.ts';
import { configureConvEngine, convEngineInfo, convRoute, convSessionCount, geometry2d } from '../../../models3d/engine/native-conv/native-conv.ts';
import { loadOrtSync, type OrtNativeSession } from '../../../models3d/engine/native-conv/ort-binding.ts';
import { setFilterGradMethod, type FilterGradMethod } from '../../../models3d/engine/kernels/conv2d-backprop-filter.ts';
import { cachedFilterCount } from '../../../models3d/engine/kernels/conv2d-filter-cache.ts';
import { nativeOutputBlockSize, outputBlockSize } from '../../../models3d/engine/kernels/conv2d-forward.ts';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

type Pad = 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];

interface Case {
  name: string;
  x: [number, number, number, number];
  f: [number, number, number, number];
  stride: number;
  pad: Pad;
  dilation?: number;
}

/** Deterministic values in [-1, 1). */
function values(n: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

function size(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** max |a − ref| / max |ref| */
function relErr(a: Float32Array, ref: Float32Array): number {
  expect(a.length).toBe(ref.length);
  let m = 0;
  let e = 0;
  for (let i = 0; i < ref.length; i++) {
    m = Math.max(m, Math.abs(ref[i]));
    e = Math.max(e, Math.abs(a[i] - ref[i]));
  }
  expect(m).toBeGreaterThan(0);
  return e / m;
}

/** y = conv2d(x, f); loss = Σ y·g (g fixed random) → dx = BackpropInput(g), df = BackpropFilter(x, g). */
function convGrads(backend: string, c: Case, seed: number): Float32Array[] {
  tf.setBackend(backend);
  return tf.tidy(() => {
    const x = tf.tensor4d(values(size(c.x), seed), c.x);
    const f = tf.tensor4d(values(size(c.f), seed + 1), c.f);
    const y = tf.conv2d(x, f, c.stride, c.pad, 'NHWC', c.dilation ?? 1);
    const g = tf.tensor(values(size(y.shape), seed + 2), y.shape);
    const grad = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad), g)),
    );
    const [dx, df] = grad([x, f]);
    return [y.dataSync() as Float32Array, dx.dataSync() as Float32Array, df.dataSync() as Float32Array];
  });
}

/** conv2dTranspose forward (it runs Conv2DBackpropInput) */
function transposeConv(backend: string, x: [number, number, number, number], f: [number, number, number, number], outShape: [number, number, number, number], stride: number, pad: 'same' | 'valid', seed: number): Float32Array {
  tf.setBackend(backend);
  return tf.tidy(() => {
    const xs = tf.tensor4d(values(size(x), seed), x);
    const fs = tf.tensor4d(values(size(f), seed + 1), f);
    return tf.conv2dTranspose(xs, fs, outShape, stride, pad).dataSync() as Float32Array;
  });
}

const CASES: Case[] = [
  { name: '7×7 1→4 same, odd size', x: [1, 11, 9, 1], f: [7, 7, 1, 4], stride: 1, pad: 'same' },
  { name: '3×3 3→5 stride 2 same, batch 2, odd', x: [2, 9, 7, 3], f: [3, 3, 3, 5], stride: 2, pad: 'same' },
  { name: '4×4 2→6 stride 2 explicit pad 1 (PatchGAN)', x: [2, 10, 10, 2], f: [4, 4, 2, 6], stride: 2, pad: [[0, 0], [1, 1], [1, 1], [0, 0]] },
  { name: '4×4 4→3 stride 2 valid, odd size', x: [1, 11, 9, 4], f: [4, 4, 4, 3], stride: 2, pad: 'valid' },
  { name: '4×4 3→2 stride 1 same (even kernel)', x: [1, 8, 7, 3], f: [4, 4, 3, 2], stride: 1, pad: 'same' },
  { name: '3×3 40→36 stride 1 same, batch 2', x: [2, 6, 5, 40], f: [3, 3, 40, 36], stride: 1, pad: 'same' },
  { name: '3×3 33→34 stride 2 same', x: [1, 9, 8, 33], f: [3, 3, 33, 34], stride: 2, pad: 'same' },
  { name: '1×1 5→3 stride 2 valid (phases without taps)', x: [1, 7, 6, 5], f: [1, 1, 5, 3], stride: 2, pad: 'valid' },
  { name: '3×3 2→3 stride 1 explicit asymmetric', x: [1, 6, 7, 2], f: [3, 3, 2, 3], stride: 1, pad: [[0, 0], [2, 0], [0, 1], [0, 0]] },
  { name: '7×7 9→1 valid (generator output layer)', x: [1, 12, 10, 9], f: [7, 7, 9, 1], stride: 1, pad: 'valid' },
  { name: '3×3 12→2 same, batch 2, odd size (blocked forward)', x: [2, 7, 9, 12], f: [3, 3, 12, 2], stride: 1, pad: 'same' },
  { name: '5×5 2→2 stride 1 numeric pad 2', x: [2, 7, 6, 2], f: [5, 5, 2, 2], stride: 1, pad: 2 },
  // Channel counts that onnxruntime's blocked (NCHWc) kernels take, forward and stride-1 input gradient.
  { name: '3×3 16→16 stride 1 same, batch 2 (blocked)', x: [2, 6, 5, 16], f: [3, 3, 16, 16], stride: 1, pad: 'same' },
  { name: '3×3 16→32 stride 2 same (blocked forward)', x: [1, 9, 8, 16], f: [3, 3, 16, 32], stride: 2, pad: 'same' },
  { name: '7×7 1→16 valid (first layer: blocked, NCHW input)', x: [1, 12, 11, 1], f: [7, 7, 1, 16], stride: 1, pad: 'valid' },
  { name: '7×7 16→1 valid (output layer: blocked input gradient)', x: [1, 12, 10, 16], f: [7, 7, 16, 1], stride: 1, pad: 'valid' },
  { name: '4×4 32→16 stride 1 explicit asymmetric (blocked both ways)', x: [1, 7, 6, 32], f: [4, 4, 32, 16], stride: 1, pad: [[0, 0], [1, 2], [2, 1], [0, 0]] },
  { name: '3×3 5→20 same (blocked, 5 NCHW input channels, 20 outputs padded)', x: [1, 6, 7, 5], f: [3, 3, 5, 20], stride: 1, pad: 'same' },
  // Stride-2 input gradients on the blocked kernels as four phase convolutions (even input sizes).
  { name: '3×3 16→32 stride 2 same, batch 2, even (blocked input gradient by phases)', x: [2, 10, 8, 16], f: [3, 3, 16, 32], stride: 2, pad: 'same' },
  { name: '4×4 32→16 stride 2 explicit pad 1 (PatchGAN; blocked by phases)', x: [1, 12, 10, 32], f: [4, 4, 32, 16], stride: 2, pad: [[0, 0], [1, 1], [1, 1], [0, 0]] },
  { name: '3×3 16→16 stride 2 valid, a row never read (blocked by phases)', x: [1, 10, 12, 16], f: [3, 3, 16, 16], stride: 2, pad: 'valid' },
  { name: '4×4 16→16 stride 2 valid (blocked by phases)', x: [1, 10, 12, 16], f: [4, 4, 16, 16], stride: 2, pad: 'valid' },
  { name: '3×3 4→16 stride 2 same (phases from 16 dy channels onto 4: not blocked)', x: [1, 8, 8, 4], f: [3, 3, 4, 16], stride: 2, pad: 'same' },
  // Filter gradients of large maps with few channels: one blocked convolution, batch and channels swapped.
  { name: '3×3 16→16 same, batch 2, 34×32 (blocked swapped filter gradient)', x: [2, 34, 32, 16], f: [3, 3, 16, 16], stride: 1, pad: 'same' },
  { name: '4×4 16→32 stride 2 same, 66×64 (blocked swapped filter gradient, dilated by the stride)', x: [1, 66, 64, 16], f: [4, 4, 16, 32], stride: 2, pad: 'same' },
];

describe('2-D convolution kernels on wasm against the pure-JS reference', () => {
  beforeAll(async () => {
    await initBackend('cpu');
    await initBackend('wasm', { threads: 2, convEngine: 'xnnpack' });
  });
  afterAll(() => {
    setFilterGradMethod(undefined);
  });

  for (const method of ['conv', 'im2col', 'conv-swapped'] as FilterGradMethod[]) {
    describe(`filter gradient by ${method}`, () => {
      CASES.forEach((c, k) => {
        it(c.name, () => {
          setFilterGradMethod(method);
          const [y, dx, df] = convGrads('wasm', c, 10 * k + 1);
          const [yRef, dxRef, dfRef] = convGrads('cpu', c, 10 * k + 1);
          expect(relErr(y, yRef)).toBeLessThan(1e-4);
          expect(relErr(dx, dxRef)).toBeLessThan(1e-4);
          expect(relErr(df, dfRef)).toBeLessThan(1e-4);
        });
      });
    });
  }

  it('the cost rule picks a way per shape and gives the same numbers', () => {
    setFilterGradMethod(undefined);
    for (const c of [CASES[0], CASES[5]]) {
      const [, dx, df] = convGrads('wasm', c, 77);
      const [, dxRef, dfRef] = convGrads('cpu', c, 77);
      expect(relErr(dx, dxRef)).toBeLessThan(1e-4);
      expect(relErr(df, dfRef)).toBeLessThan(1e-4);
    }
  });

  it('blocks the output pixels of 1–2 channel convolutions, and only those', () => {
    const info = (x: number[], f: number[], stride = 1, dilation = 1) =>
      tf.backend_util.computeConv2DInfo(x as [number, number, number, number], f as [number, number, number, number], stride, dilation, 'same');
    expect(outputBlockSize(info([1, 64, 64, 32], [7, 7, 32, 1]))).toBe(3);
    expect(outputBlockSize(info([1, 64, 64, 32], [7, 7, 32, 2]))).toBe(2);
    expect(outputBlockSize(info([1, 64, 64, 32], [3, 3, 32, 4]))).toBe(1);
    expect(outputBlockSize(info([1, 64, 64, 4], [7, 7, 4, 1]))).toBe(1);
    expect(outputBlockSize(info([1, 64, 64, 32], [7, 7, 32, 1], 2))).toBe(1);
    expect(outputBlockSize(info([1, 64, 64, 32], [3, 3, 32, 1], 1, 2))).toBe(1);
    // onnxruntime's blocked kernels: B²·CO = one channel block, at most ~2× the multiply-adds
    expect(nativeOutputBlockSize(info([1, 64, 64, 16], [7, 7, 16, 1]), 16)).toBe(4);
    expect(nativeOutputBlockSize(info([1, 64, 64, 32], [7, 7, 32, 1]), 8)).toBe(0);
    expect(nativeOutputBlockSize(info([1, 64, 64, 32], [3, 3, 32, 1]), 16)).toBe(0);
    expect(nativeOutputBlockSize(info([1, 64, 64, 9], [7, 7, 9, 1]), 16)).toBe(0);
    expect(nativeOutputBlockSize(info([1, 64, 64, 16], [7, 7, 16, 1]), 0)).toBe(0);
  });

  it('forward Conv2D with dilation 2 matches (XNNPACK kernel)', () => {
    const c: Case = { name: 'dilated', x: [1, 12, 11, 3], f: [3, 3, 3, 4], stride: 1, pad: 'same', dilation: 2 };
    const run = (backend: string) => {
      tf.setBackend(backend);
      return tf.tidy(() =>
        tf.conv2d(tf.tensor4d(values(size(c.x), 5), c.x), tf.tensor4d(values(size(c.f), 6), c.f), 1, 'same', 'NHWC', 2).dataSync() as Float32Array,
      );
    };
    expect(relErr(run('wasm'), run('cpu'))).toBeLessThan(1e-4);
  });

  it('conv2dTranspose (forward Conv2DBackpropInput) matches for stride 2 same/valid, odd output', () => {
    const cases: Array<[[number, number, number, number], [number, number, number, number], [number, number, number, number], 'same' | 'valid']> = [
      [[2, 5, 4, 8], [3, 3, 6, 8], [2, 10, 8, 6], 'same'],
      [[1, 5, 5, 4], [3, 3, 3, 4], [1, 9, 9, 3], 'same'],
      [[1, 4, 3, 2], [4, 4, 1, 2], [1, 10, 8, 1], 'valid'],
    ];
    cases.forEach(([x, f, out, pad], k) => {
      expect(relErr(transposeConv('wasm', x, f, out, 2, pad, 40 + k), transposeConv('cpu', x, f, out, 2, pad, 40 + k))).toBeLessThan(1e-4);
    });
  });

  it('gradients of conv2dTranspose (stride 2, batch 2) match, and a grad step leaks no tensor', () => {
    const grads = (backend: string): Float32Array[] => {
      tf.setBackend(backend);
      return tf.tidy(() => {
        const x = tf.tensor4d(values(2 * 5 * 6 * 6, 91), [2, 5, 6, 6]);
        const f = tf.tensor4d(values(4 * 4 * 3 * 6, 92), [4, 4, 3, 6]);
        const g = tf.tensor4d(values(2 * 10 * 12 * 3, 93), [2, 10, 12, 3]);
        const loss = (a: tf.Tensor, b: tf.Tensor) =>
          tf.sum(tf.mul(tf.conv2dTranspose(a as tf.Tensor4D, b as tf.Tensor4D, [2, 10, 12, 3], 2, 'same'), g));
        const [dx, df] = tf.grads(loss)([x, f]);
        return [dx.dataSync() as Float32Array, df.dataSync() as Float32Array];
      });
    };
    tf.setBackend('wasm');
    const before = tf.memory().numTensors;
    const ours = grads('wasm');
    tf.setBackend('wasm');
    expect(tf.memory().numTensors).toBe(before);
    const ref = grads('cpu');
    expect(relErr(ours[0], ref[0])).toBeLessThan(1e-4);
    expect(relErr(ours[1], ref[1])).toBeLessThan(1e-4);
  });

  it('caches filter transforms per filter and frees them with the filter (no tensor leak)', () => {
    tf.setBackend('wasm');
    const backend = tf.backend() as unknown as BackendWasm;
    const before = cachedFilterCount(backend);
    const numTensors = tf.memory().numTensors;
    const dy = tf.tensor4d(values(2 * 4 * 4 * 6, 3), [2, 4, 4, 6]);
    const f = tf.tensor4d(values(3 * 3 * 5 * 6, 4), [3, 3, 5, 6]);
    const a = tf.conv2dTranspose(dy, f, [2, 8, 8, 5], 2, 'same');
    expect(cachedFilterCount(backend)).toBe(before + 1);
    const b = tf.conv2dTranspose(dy, f, [2, 8, 8, 5], 2, 'same');
    expect(cachedFilterCount(backend)).toBe(before + 1);
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
    // New weights (as after an optimizer step) are a new tensor: no stale transform is used.
    const f2 = tf.mul(f, 2);
    const c = tf.conv2dTranspose(dy, f2 as tf.Tensor4D, [2, 8, 8, 5], 2, 'same');
    const doubled = tf.tidy(() => tf.mul(a, 2).dataSync() as Float32Array);
    expect(relErr(c.dataSync() as Float32Array, doubled)).toBeLessThan(1e-6);
    tf.dispose([a, b, c, f, f2, dy]);
    expect(cachedFilterCount(backend)).toBe(before);
    expect(tf.memory().numTensors).toBe(numTensors);
  });
});

describe("2-D convolutions on onnxruntime's CPU kernels (convEngine 'onnxruntime') against the pure-JS reference", () => {
  beforeAll(async () => {
    await initBackend('cpu');
    await initBackend('wasm', { threads: 2, convEngine: 'onnxruntime' });
  });

  CASES.forEach((c, k) => {
    it(c.name, () => {
      const [y, dx, df] = convGrads('wasm', c, 10 * k + 3);
      const [yRef, dxRef, dfRef] = convGrads('cpu', c, 10 * k + 3);
      expect(relErr(y, yRef)).toBeLessThan(1e-4);
      expect(relErr(dx, dxRef)).toBeLessThan(1e-4);
      expect(relErr(df, dfRef)).toBeLessThan(1e-4);
    });
  });

  it('an output layer whose im2col is over 64 MiB runs as output blocks on the blocked kernels and matches', () => {
    const x = [2, 111, 109, 16];
    const f = [7, 7, 16, 1];
    const forward = (backend: string) => {
      tf.setBackend(backend);
      return tf.tidy(() => tf.conv2d(tf.tensor4d(values(size(x), 8), x as [number, number, number, number]), tf.tensor4d(values(size(f), 9), f as [number, number, number, number]), 1, 'same').dataSync() as Float32Array);
    };
    const geo = geometry2d(tf.backend_util.computeConv2DInfo(x as [number, number, number, number], f as [number, number, number, number], 1, 1, 'same'));
    expect(convRoute('forward', geo)).toBe('wasm');
    const sessions = convSessionCount();
    expect(relErr(forward('wasm'), forward('cpu'))).toBeLessThan(1e-4);
    // with AVX-512's 16-channel blocks: 4×4 output blocks, one new session for the blocked convolution
    if (convEngineInfo().nchwcBlock === 16) expect(convSessionCount()).toBe(sessions + 1);
  });

  it('conv2dTranspose and a dilated forward match; the wasm backend names the engine', () => {
    expect(backendInfo()?.convEngine?.engine).toBe('onnxruntime');
    expect(backendInfo()?.description).toMatch(/convolutions on onnxruntime-node/);
    const out = transposeConv('wasm', [2, 5, 4, 8], [3, 3, 6, 8], [2, 10, 8, 6], 2, 'same', 50);
    expect(relErr(out, transposeConv('cpu', [2, 5, 4, 8], [3, 3, 6, 8], [2, 10, 8, 6], 2, 'same', 50))).toBeLessThan(1e-4);
    // a generator's up-sampling (32 → 16 channels, doubling the size): the blocked phase graphs
    const up = transposeConv('wasm', [1, 6, 5, 32], [3, 3, 16, 32], [1, 12, 10, 16], 2, 'same', 51);
    expect(relErr(up, transposeConv('cpu', [1, 6, 5, 32], [3, 3, 16, 32], [1, 12, 10, 16], 2, 'same', 51))).toBeLessThan(1e-4);
    const dilated = (backend: string) => {
      tf.setBackend(backend);
      return tf.tidy(() => tf.conv2d(tf.tensor4d(values(1 * 12 * 11 * 3, 5), [1, 12, 11, 3]), tf.tensor4d(values(3 * 3 * 3 * 4, 6), [3, 3, 3, 4]), 1, 'same', 'NHWC', 2).dataSync() as Float32Array);
    };
    expect(relErr(dilated('wasm'), dilated('cpu'))).toBeLessThan(1e-4);
  });

  it('routes 2-D forward and stride-1 input gradients with suitable channels to the blocked kernels', () => {
    const block = convEngineInfo().nchwcBlock;
    if (process.arch === 'x64') expect(block).toBeGreaterThanOrEqual(8);
    if (block === 0) return;
    const geo = (x: number[], f: number[], stride: number, pad: 'same' | 'valid') =>
      geometry2d(tf.backend_util.computeConv2DInfo(x as [number, number, number, number], f as [number, number, number, number], stride, 1, pad));
    expect(convRoute('forward', geo([1, 16, 16, 128], [3, 3, 128, 128], 1, 'same'))).toBe('onnxruntime-blocked');
    expect(convRoute('backprop-input', geo([1, 16, 16, 128], [3, 3, 128, 128], 1, 'same'))).toBe('onnxruntime-blocked');
    expect(convRoute('forward', geo([1, 70, 70, 1], [7, 7, 1, 32], 1, 'valid'))).toBe('onnxruntime-blocked');
    expect(convRoute('backprop-input', geo([1, 70, 70, 32], [7, 7, 32, 1], 1, 'valid'))).toBe('onnxruntime-blocked');
    // stride-2 input gradients of even-sized inputs (and so a generator's conv2dTranspose) by phases
    expect(convRoute('backprop-input', geo([1, 64, 64, 32], [3, 3, 32, 64], 2, 'same'))).toBe('onnxruntime-blocked');
    expect(convRoute('backprop-input', geo([1, 66, 66, 64], [4, 4, 64, 128], 2, 'valid'))).toBe('onnxruntime-blocked');
    expect(convRoute('backprop-input', geo([1, 10, 12, 16], [3, 3, 16, 16], 2, 'valid'))).toBe('onnxruntime-blocked'); // a row never read
    expect(convRoute('backprop-input', geo([2, 10, 8, 16], [3, 3, 16, 32], 2, 'same'))).toBe('onnxruntime-blocked');
    // odd input sizes, filter gradients, one output channel, channels off the block: not blocked
    expect(convRoute('backprop-input', geo([1, 63, 64, 32], [3, 3, 32, 64], 2, 'same'))).toBe('onnxruntime');
    expect(convRoute('backprop-filter', geo([1, 16, 16, 128], [3, 3, 128, 128], 1, 'same'))).toBe('onnxruntime');
    // filter gradients of large maps with few channels: the swapped blocked convolution
    expect(convRoute('backprop-filter', geo([1, 128, 128, 32], [3, 3, 32, 64], 2, 'same'))).toBe('onnxruntime-blocked');
    expect(convRoute('backprop-filter', geo([1, 64, 64, 64], [3, 3, 64, 128], 2, 'same'))).toBe('onnxruntime');
    expect(convRoute('forward', geo([1, 64, 64, 32], [7, 7, 32, 1], 1, 'valid'))).toBe('onnxruntime');
    expect(convRoute('forward', geo([2, 6, 5, 40], [3, 3, 40, 36], 1, 'same'))).toBe(block === 8 ? 'onnxruntime-blocked' : 'onnxruntime');
  });

  it('a dilated forward convolution on the blocked kernels matches', () => {
    const run = (backend: string) => {
      tf.setBackend(backend);
      return tf.tidy(() => tf.conv2d(tf.tensor4d(values(1 * 13 * 12 * 16, 8), [1, 13, 12, 16]), tf.tensor4d(values(3 * 3 * 16 * 16, 9), [3, 3, 16, 16]), 1, 'same', 'NHWC', 2).dataSync() as Float32Array);
    };
    expect(relErr(run('wasm'), run('cpu'))).toBeLessThan(1e-4);
  });

  it('a gradient step leaks no tensor and reuses its sessions', () => {
    tf.setBackend('wasm');
    const c = CASES[2];
    const step = () => tf.dispose(convGrads('wasm', c, 7).map((a) => tf.tensor(a)));
    step();
    const sessions = convSessionCount();
    const before = tf.memory().numTensors;
    step();
    step();
    expect(tf.memory().numTensors).toBe(before);
    expect(convSessionCount()).toBe(sessions);
  });
});

describe('the onnxruntime engine failing at run time', () => {
  beforeAll(async () => {
    await initBackend('cpu');
    await initBackend('wasm', { threads: 2, convEngine: 'auto' });
  });

  it('auto: moves the convolutions to XNNPACK with a warning and the same numbers; onnxruntime by name: BACKEND_UNAVAILABLE', () => {
    const ort = loadOrtSync().ort;
    expect(ort).toBeDefined();
    if (ort === undefined) return;
    const original = ort.newSession;
    const broken = (): OrtNativeSession => {
      const s = original();
      return {
        loadModel: (...args) => s.loadModel(...args),
        dispose: () => s.dispose(),
        run: () => {
          throw new Error('binding changed');
        },
      };
    };
    const c = CASES[1];
    try {
      ort.newSession = broken;
      configureConvEngine('onnxruntime', 2);
      tf.setBackend('wasm');
      expect(() => tf.tidy(() => tf.conv2d(tf.zeros(c.x) as tf.Tensor4D, tf.zeros(c.f) as tf.Tensor4D, c.stride, c.pad))).toThrow(
        expect.objectContaining({ code: 'VOXSHIFT_E_BACKEND_UNAVAILABLE', param: 'convEngine' }),
      );
      configureConvEngine('auto', 2);
      const warnings: string[] = [];
      const onWarning = (w: Error): void => void warnings.push(w.message);
      process.on('warning', onWarning);
      const [y, dx, df] = convGrads('wasm', c, 5);
      const [yRef, dxRef, dfRef] = convGrads('cpu', c, 5);
      expect(relErr(y, yRef)).toBeLessThan(1e-4);
      expect(relErr(dx, dxRef)).toBeLessThan(1e-4);
      expect(relErr(df, dfRef)).toBeLessThan(1e-4);
      expect(convEngineInfo().engine).toBe('xnnpack');
      expect(convEngineInfo().description).toMatch(/onnxruntime failed on a \S+ convolution: binding changed/);
      process.off('warning', onWarning);
    } finally {
      ort.newSession = original;
      configureConvEngine('auto', 2);
    }
    expect(convEngineInfo().engine).toBe('onnxruntime');
  });
});
