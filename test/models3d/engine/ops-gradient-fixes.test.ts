import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { gradientFixConfigs } from '../../../models3d/engine/kernels/op-gradient-fixes.ts';
import { initBothBackends, onBackend, randomValues, relError } from './conv3d-helpers.ts';

type Mode = 'reflect' | 'symmetric';

/** Expected MirrorPad input gradient by brute force: every padded element adds its g to its source. */
function foldByLoops(g: Float32Array, xShape: number[], pads: [number, number][], mode: Mode): Float32Array {
  const pShape = xShape.map((n, i) => n + pads[i][0] + pads[i][1]);
  const out = new Float32Array(tf.util.sizeFromShape(xShape));
  const xStrides = [...tf.util.computeStrides(xShape), 1];
  const pStrides = [...tf.util.computeStrides(pShape), 1];
  const src = (j: number, axis: number): number => {
    const n = xShape[axis];
    const b = pads[axis][0];
    const k = j - b;
    if (k < 0) return mode === 'reflect' ? -k : -k - 1;
    if (k >= n) return mode === 'reflect' ? 2 * n - 2 - k : 2 * n - 1 - k;
    return k;
  };
  for (let flat = 0; flat < g.length; flat++) {
    let rest = flat;
    let target = 0;
    for (let axis = 0; axis < pShape.length; axis++) {
      const j = Math.floor(rest / pStrides[axis]);
      rest -= j * pStrides[axis];
      target += src(j, axis) * xStrides[axis];
    }
    out[target] += g[flat];
  }
  return out;
}

const padCases: { x: number[]; pads: [number, number][]; mode: Mode }[] = [
  { x: [2, 7, 6, 3], pads: [[0, 0], [3, 3], [3, 3], [0, 0]], mode: 'reflect' },
  { x: [1, 5, 8, 2], pads: [[0, 0], [1, 2], [2, 1], [0, 0]], mode: 'reflect' },
  { x: [1, 4, 3, 1], pads: [[0, 0], [3, 3], [2, 2], [0, 0]], mode: 'reflect' },
  { x: [2, 5, 6, 2], pads: [[0, 0], [2, 3], [1, 1], [0, 0]], mode: 'symmetric' },
  { x: [1, 3, 4, 2], pads: [[0, 0], [3, 3], [4, 2], [0, 0]], mode: 'symmetric' },
  { x: [1, 5, 6, 4, 2], pads: [[0, 0], [1, 1], [3, 2], [2, 3], [0, 0]], mode: 'reflect' },
  { x: [2, 4, 5, 6, 1], pads: [[0, 0], [1, 1], [1, 1], [1, 1], [0, 0]], mode: 'symmetric' },
  // channel counts with whole SIMD vectors and with a tail (the one-pass wasm kernel)
  { x: [2, 9, 8, 16], pads: [[0, 0], [3, 3], [3, 3], [0, 0]], mode: 'reflect' },
  { x: [1, 6, 5, 4, 5], pads: [[0, 0], [1, 2], [2, 1], [1, 1], [0, 0]], mode: 'symmetric' },
];

function padLossGrad(c: (typeof padCases)[number]): () => tf.Tensor[] {
  return () => {
    const x = tf.tensor(randomValues(tf.util.sizeFromShape(c.x), 11), c.x);
    const pShape = c.x.map((n, i) => n + c.pads[i][0] + c.pads[i][1]);
    const g = tf.tensor(randomValues(tf.util.sizeFromShape(pShape), 12), pShape);
    return [tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.mirrorPad(a, c.pads, c.mode), g)))(x), g];
  };
}

describe('MirrorPad gradient fix', () => {
  beforeAll(initBothBackends);

  it('is registered by initBackend', () => {
    for (const g of gradientFixConfigs) expect(tf.getGradient(g.kernelName)).toBe(g);
  });

  it.each(padCases)('folds the border gradient back, on cpu and wasm: %o', async (c) => {
    const [dxCpu, g] = await onBackend('cpu', padLossGrad(c));
    const expected = foldByLoops(g, c.x, c.pads, c.mode);
    expect(relError(dxCpu, expected)).toBeLessThan(1e-6);
    const [dxWasm] = await onBackend('wasm', padLossGrad(c));
    expect(relError(dxWasm, expected)).toBeLessThan(1e-6);
  });

  it('runs as one wasm kernel (no slab slices or concats) and leaks no tensor', async () => {
    await tf.setBackend('wasm');
    const c = padCases[padCases.length - 2];
    const run = (): void => tf.dispose(tf.tidy(padLossGrad(c)));
    const info = await tf.profile(run);
    const names = info.kernels.map((k) => k.name);
    expect(names).toContain('VoxshiftMirrorPadGrad');
    expect(names).not.toContain('Concat');
    const before = tf.memory().numTensors;
    run();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('agrees with central finite differences of a nonlinear loss (cpu)', async () => {
    await tf.setBackend('cpu');
    const shape = [1, 4, 5, 3, 1];
    const pads: [number, number][] = [[0, 0], [2, 1], [1, 2], [2, 2], [0, 0]];
    const xv = randomValues(tf.util.sizeFromShape(shape), 21);
    const loss = (a: tf.Tensor): tf.Scalar => tf.sum(tf.square(tf.sin(tf.mirrorPad(a, pads, 'reflect'))));
    const analytic = tf.tidy(() => tf.grad(loss)(tf.tensor(xv, shape)).dataSync() as Float32Array);
    const evalAt = (v: Float32Array): number => tf.tidy(() => loss(tf.tensor(v, shape)).dataSync()[0]);
    const eps = 1e-2;
    for (let i = 0; i < xv.length; i += 3) {
      const plus = xv.slice();
      const minus = xv.slice();
      plus[i] += eps;
      minus[i] -= eps;
      const fd = (evalAt(plus) - evalAt(minus)) / (2 * eps);
      expect(Math.abs(fd - analytic[i]), `element ${i}`).toBeLessThan(2e-3 * Math.max(1, Math.abs(fd)));
    }
    await tf.setBackend('wasm');
  });
});

describe('conv3dTranspose gradient (Conv3DBackpropInputV2)', () => {
  beforeAll(initBothBackends);

  const tCases: { x: [number, number, number, number, number]; w: [number, number, number, number, number]; out: [number, number, number, number, number]; s: number; pad: 'same' | 'valid' }[] = [
    { x: [2, 3, 4, 3, 3], w: [3, 3, 3, 2, 3], out: [2, 6, 8, 6, 2], s: 2, pad: 'same' },
    { x: [1, 4, 3, 4, 2], w: [4, 4, 4, 1, 2], out: [1, 8, 6, 8, 1], s: 2, pad: 'same' },
    { x: [1, 4, 4, 3, 2], w: [3, 3, 3, 2, 2], out: [1, 6, 6, 5, 2], s: 1, pad: 'valid' },
  ];

  function transposeGrads(c: (typeof tCases)[number]): () => tf.Tensor[] {
    return () => {
      const x = tf.tensor(randomValues(tf.util.sizeFromShape(c.x), 31), c.x) as tf.Tensor5D;
      const w = tf.tensor(randomValues(tf.util.sizeFromShape(c.w), 32), c.w) as tf.Tensor5D;
      const g = tf.tensor(randomValues(tf.util.sizeFromShape(c.out), 33), c.out);
      const f = (a: tf.Tensor, b: tf.Tensor): tf.Scalar =>
        tf.sum(tf.mul(tf.conv3dTranspose(a as tf.Tensor5D, b as tf.Tensor5D, c.out, c.s, c.pad), g));
      const y = tf.conv3dTranspose(x, w, c.out, c.s, c.pad);
      return [y, ...tf.grads(f)([x, w])];
    };
  }

  it.each(tCases)('wasm value and gradients match the pure-JS backend: %o', async (c) => {
    const ref = await onBackend('cpu', transposeGrads(c));
    const ours = await onBackend('wasm', transposeGrads(c));
    for (let k = 0; k < 3; k++) expect(relError(ours[k], ref[k]), ['y', 'dx', 'dw'][k]).toBeLessThan(1e-4);
  });

  it('gradients agree with finite differences (cpu)', async () => {
    const c = tCases[0];
    await tf.setBackend('cpu');
    const xv = randomValues(tf.util.sizeFromShape(c.x), 41);
    const wv = randomValues(tf.util.sizeFromShape(c.w), 42);
    const gv = randomValues(tf.util.sizeFromShape(c.out), 43);
    const loss = (xa: Float32Array, wa: Float32Array): number =>
      tf.tidy(() =>
        tf.sum(tf.mul(tf.conv3dTranspose(tf.tensor(xa, c.x) as tf.Tensor5D, tf.tensor(wa, c.w) as tf.Tensor5D, c.out, c.s, c.pad), tf.tensor(gv, c.out))).dataSync()[0],
      );
    const [dx, dw] = tf.tidy(() => {
      const f = (a: tf.Tensor, b: tf.Tensor): tf.Scalar =>
        tf.sum(tf.mul(tf.conv3dTranspose(a as tf.Tensor5D, b as tf.Tensor5D, c.out, c.s, c.pad), tf.tensor(gv, c.out)));
      return tf.grads(f)([tf.tensor(xv, c.x), tf.tensor(wv, c.w)]).map((t) => t.dataSync() as Float32Array);
    });
    const eps = 0.25; // the loss is linear in each argument
    for (let i = 0; i < xv.length; i += 7) {
      const p = xv.slice();
      const m = xv.slice();
      p[i] += eps;
      m[i] -= eps;
      expect((loss(p, wv) - loss(m, wv)) / (2 * eps)).toBeCloseTo(dx[i], 3);
    }
    for (let i = 0; i < wv.length; i += 5) {
      const p = wv.slice();
      const m = wv.slice();
      p[i] += eps;
      m[i] -= eps;
      expect((loss(xv, p) - loss(xv, m)) / (2 * eps)).toBeCloseTo(dw[i], 3);
    }
    await tf.setBackend('wasm');
  });
});
