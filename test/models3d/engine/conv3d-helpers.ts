import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../models3d/engine/backend.ts';
import type { ConvEngine } from '../../../models3d/engine/native-conv/native-conv.ts';

/**
 * Starts the pure-JS and the wasm backend (one thread) the way the product does — initBackend
 * registers every voxshift kernel on wasm and the gradient fixes — and leaves wasm active, its
 * convolutions on `convEngine` (default XNNPACK, the WebAssembly kernels these tests are about).
 */
export function initBothBackends(): Promise<void> {
  return initBothBackendsOn('xnnpack');
}

export async function initBothBackendsOn(convEngine: ConvEngine): Promise<void> {
  await initBackend('cpu');
  await initBackend('wasm', { threads: 1, convEngine });
}

/** Deterministic pseudo-random values in [-1, 1). */
export function randomValues(n: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/** Runs `f` on the named backend and returns its outputs as plain arrays. */
export async function onBackend(name: string, f: () => tf.Tensor[]): Promise<Float32Array[]> {
  const previous = tf.getBackend();
  await tf.setBackend(name);
  try {
    const outs = tf.tidy(f);
    const vals = outs.map((t) => t.dataSync() as Float32Array);
    tf.dispose(outs);
    return vals;
  } finally {
    await tf.setBackend(previous);
  }
}

/** max |a − b| / max |b| (falls back to absolute error where the reference is all zeros). */
export function relError(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return den === 0 ? num : num / den;
}

export type Shape5 = [number, number, number, number, number];

/**
 * Forward value, input gradient and filter gradient of Σ conv3d(x, w)·dy on the current backend (the
 * pure-JS one as the reference), as flat arrays.
 */
export function conv3dReference(
  xShape: Shape5,
  wShape: Shape5,
  strides: number | [number, number, number],
  pad: 'same' | 'valid',
  x: Float32Array,
  w: Float32Array,
  dy: Float32Array,
): Float32Array[] {
  return tf.tidy(() => {
    const xt = tf.tensor(x, xShape) as tf.Tensor5D;
    const wt = tf.tensor(w, wShape) as tf.Tensor5D;
    const y = tf.conv3d(xt, wt, strides, pad);
    const dyt = tf.tensor(dy, y.shape);
    const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv3d(a as tf.Tensor5D, b as tf.Tensor5D, strides, pad), dyt)))([xt, wt]);
    return [y, dx, dw].map((t) => t.dataSync() as Float32Array);
  });
}
