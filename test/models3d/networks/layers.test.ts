import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { avgPool, conv, convTranspose, instanceNorm, poolSize, reflectPad, spectralNormalize, spectralPowerIteration } from '../../../models3d/networks/layers.ts';
import { createRng } from '../../../models3d/networks/rng.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const rng = createRng(7);
const randn = (shape: number[]): tf.Tensor => tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal()), shape);

/** Strides of a row-major (channels-last) shape. */
function strides(shape: number[]): number[] {
  const s = shape.map(() => 1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1] * shape[i + 1];
  return s;
}

/** All multi-indices of a shape, row-major. */
function* indices(shape: number[]): Generator<number[]> {
  const idx = shape.map(() => 0);
  const total = shape.reduce((a, b) => a * b, 1);
  for (let n = 0; n < total; n++) {
    yield idx.slice();
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
}

/** PyTorch ConvTranspose semantics, batch 1, channels last; w is [...k, out, in]. */
function naiveConvTranspose(x: tf.Tensor, w: tf.Tensor, s: number, p: number, op: number): { data: Float32Array; shape: number[] } {
  const dims = x.rank - 2;
  const xs = x.shape.slice(1, -1);
  const cin = x.shape[x.rank - 1];
  const k = w.shape[0];
  const cout = w.shape[dims];
  const outSp = xs.map((n) => (n - 1) * s - 2 * p + k + op);
  const shape = [1, ...outSp, cout];
  const out = new Float32Array(shape.reduce((a, b) => a * b, 1));
  const xd = x.dataSync();
  const wd = w.dataSync();
  const xst = strides(x.shape);
  const wst = strides(w.shape);
  const ost = strides(shape);
  for (const i of indices(xs)) {
    for (const kk of indices(Array<number>(dims).fill(k))) {
      const o = i.map((v, d) => v * s - p + kk[d]);
      if (o.some((v, d) => v < 0 || v >= outSp[d])) continue;
      for (let co = 0; co < cout; co++) {
        let acc = 0;
        for (let ci = 0; ci < cin; ci++) {
          const xv = xd[i.reduce((a, v, d) => a + v * xst[d + 1], 0) + ci];
          const wv = wd[kk.reduce((a, v, d) => a + v * wst[d], 0) + co * wst[dims] + ci];
          acc += xv * wv;
        }
        out[o.reduce((a, v, d) => a + v * ost[d + 1], 0) + co] += acc;
      }
    }
  }
  return { data: out, shape };
}

function maxRelErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    m = Math.max(m, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return m / Math.max(scale, 1e-12);
}

describe('convTranspose (PyTorch ConvTranspose semantics)', () => {
  const cases = [
    { dims: 2, n: 5, k: 3, s: 2, p: 1, op: 1 },
    { dims: 2, n: 4, k: 4, s: 2, p: 1, op: 0 },
    { dims: 2, n: 3, k: 3, s: 1, p: 0, op: 0 },
    { dims: 3, n: 3, k: 3, s: 2, p: 1, op: 1 },
    { dims: 3, n: 2, k: 4, s: 2, p: 1, op: 0 },
  ];
  for (const c of cases) {
    it(`${c.dims}-D n=${c.n} k=${c.k} s=${c.s} p=${c.p} op=${c.op}`, () => {
      const x = randn([1, ...Array<number>(c.dims).fill(c.n), 3]);
      const w = randn([...Array<number>(c.dims).fill(c.k), 2, 3]);
      const ref = naiveConvTranspose(x, w, c.s, c.p, c.op);
      const y = convTranspose(x, w, c.s, c.p, c.op);
      expect(y.shape).toEqual(ref.shape);
      expect(maxRelErr(y.dataSync(), ref.data)).toBeLessThan(1e-5);
    });
  }

  it('3-D gradient matches the adjoint (⟨convT(x), r⟩ = ⟨x, conv(r)⟩ and filter gradient by finite differences)', () => {
    const x = randn([1, 3, 3, 3, 2]);
    const w = randn([3, 3, 3, 2, 2]);
    const r = randn([1, 6, 6, 6, 2]);
    const f = (xx: tf.Tensor, ww: tf.Tensor): tf.Scalar => tf.sum(tf.mul(convTranspose(xx, ww, 2, 1, 1), r));
    const [gx, gw] = tf.grads(f)([x, w]);
    // d/dx of ⟨convT(x), r⟩ is the forward conv of r with the same filter and geometry.
    const expectGx = conv(r, w, 2, 1);
    expect(maxRelErr(gx.dataSync(), expectGx.dataSync())).toBeLessThan(1e-5);
    const wd = w.dataSync().slice();
    const eps = 1e-2;
    for (const i of [0, 17, 53, 107]) {
      const plus = wd.slice();
      plus[i] += eps;
      const minus = wd.slice();
      minus[i] -= eps;
      const fd = (f(x, tf.tensor(plus, w.shape)).dataSync()[0] - f(x, tf.tensor(minus, w.shape)).dataSync()[0]) / (2 * eps);
      expect(Math.abs(fd - gw.dataSync()[i])).toBeLessThan(2e-2 * Math.max(1, Math.abs(fd)));
    }
  });
});

describe('conv (PyTorch zero padding)', () => {
  it('2-D and 3-D stride-2 padding-1 convs pad both sides like PyTorch (a 1-voxel impulse lands symmetric)', () => {
    for (const dims of [2, 3] as const) {
      const n = 4;
      const sp = Array<number>(dims).fill(n);
      // All-ones filter on an all-ones input: output voxel counts how many taps hit the input.
      const x = tf.ones([1, ...sp, 1]);
      const w = tf.ones([...Array<number>(dims).fill(3), 1, 1]);
      const y = conv(x, w, 2, 1);
      expect(y.shape).toEqual([1, ...Array<number>(dims).fill(2), 1]);
      // PyTorch: output 0 covers input [-1, 1] (2 taps in range), output 1 covers [1, 3] (3 taps).
      const d = y.dataSync();
      expect(d[0]).toBe(2 ** dims);
      expect(d[d.length - 1]).toBe(3 ** dims);
    }
  });
});

describe('reflectPad', () => {
  const reflect = (j: number, n: number, p: number): number => {
    const i = j - p;
    if (i < 0) return -i;
    if (i >= n) return 2 * (n - 1) - i;
    return i;
  };
  for (const dims of [2, 3] as const) {
    it(`${dims}-D values and gradient (border gradient folds back onto its source)`, () => {
      const sp = dims === 2 ? [5, 4] : [4, 5, 4];
      const p = 3;
      const x = randn([1, ...sp, 2]);
      const y = reflectPad(x, p);
      const ysp = sp.map((n) => n + 2 * p);
      expect(y.shape).toEqual([1, ...ysp, 2]);
      const r = randn(y.shape);
      const g = tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(reflectPad(xx, p), r)))(x);
      const xd = x.dataSync();
      const yd = y.dataSync();
      const rd = r.dataSync();
      const expectG = new Float32Array(xd.length);
      const xst = strides(x.shape);
      const yst = strides(y.shape);
      for (const j of indices(ysp)) {
        const i = j.map((v, d) => reflect(v, sp[d], p));
        for (let c = 0; c < 2; c++) {
          const yi = j.reduce((a, v, d) => a + v * yst[d + 1], 0) + c;
          const xi = i.reduce((a, v, d) => a + v * xst[d + 1], 0) + c;
          expect(yd[yi]).toBe(xd[xi]);
          expectG[xi] += rd[yi];
        }
      }
      expect(maxRelErr(g.dataSync(), expectG)).toBeLessThan(1e-5);
    });
  }
});

describe('instanceNorm', () => {
  it('normalises each channel of each sample over the spatial axes (biased variance, eps 1e-5)', () => {
    const x = randn([2, 3, 4, 5, 2]);
    const y = instanceNorm(x, 1e-5);
    const xd = x.dataSync();
    const yd = y.dataSync();
    const per = 3 * 4 * 5;
    for (let b = 0; b < 2; b++) {
      for (let c = 0; c < 2; c++) {
        const vals = Array.from({ length: per }, (_, i) => xd[b * per * 2 + i * 2 + c]);
        const mean = vals.reduce((a, v) => a + v, 0) / per;
        const variance = vals.reduce((a, v) => a + (v - mean) ** 2, 0) / per;
        for (let i = 0; i < per; i++) {
          expect(yd[b * per * 2 + i * 2 + c]).toBeCloseTo((vals[i] - mean) / Math.sqrt(variance + 1e-5), 4);
        }
      }
    }
  });
});

describe('avgPool (PyTorch AvgPool, count_include_pad=False)', () => {
  /** Naive reference: the mean of the in-range voxels of each window; also returns each window's count. */
  function naiveAvgPool(x: tf.Tensor, k: number, s: number, p: number): { data: Float32Array; shape: number[]; windows: number[][][] } {
    const dims = x.rank - 2;
    const sp = x.shape.slice(1, -1);
    const ch = x.shape[x.rank - 1];
    const outSp = sp.map((n) => poolSize(n, k, s, p));
    const shape = [1, ...outSp, ch];
    const xd = x.dataSync();
    const xst = strides(x.shape);
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    const windows: number[][][] = [];
    let o = 0;
    for (const out of indices(outSp)) {
      const members: number[][] = [];
      for (const kk of indices(Array<number>(dims).fill(k))) {
        const i = out.map((v, d) => v * s - p + kk[d]);
        if (i.every((v, d) => v >= 0 && v < sp[d])) members.push(i);
      }
      windows.push(members);
      for (let c = 0; c < ch; c++) {
        let acc = 0;
        for (const i of members) acc += xd[i.reduce((a, v, d) => a + v * xst[d + 1], 0) + c];
        data[o++] = acc / members.length;
      }
    }
    return { data, shape, windows };
  }

  for (const sp of [[5, 4], [6, 7], [4, 5, 3], [3, 3, 6]]) {
    it(`${sp.length}-D ${sp.join('×')}: values and gradient (each output spreads 1/count over its window)`, () => {
      const x = randn([1, ...sp, 2]);
      const ref = naiveAvgPool(x, 3, 2, 1);
      const y = avgPool(x, 3, 2, 1);
      expect(y.shape).toEqual(ref.shape);
      expect(maxRelErr(y.dataSync(), ref.data)).toBeLessThan(1e-6);
      const r = randn(y.shape);
      const g = tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(avgPool(xx, 3, 2, 1), r)))(x);
      const expectG = new Float32Array(x.size);
      const xst = strides(x.shape);
      const rd = r.dataSync();
      ref.windows.forEach((members, o) => {
        for (const i of members) for (let c = 0; c < 2; c++) expectG[i.reduce((a, v, d) => a + v * xst[d + 1], 0) + c] += rd[o * 2 + c] / members.length;
      });
      expect(maxRelErr(g.dataSync(), expectG)).toBeLessThan(1e-5);
    });
  }
});

describe('spectral normalisation (Miyato et al. 2018, as torch.nn.utils.spectral_norm)', () => {
  /** Largest singular value of the [rows, cols] row-major matrix by 2000 power iterations on MᵀM (float64). */
  function sigmaMax(m: ArrayLike<number>, rows: number, cols: number): number {
    let x = Float64Array.from({ length: cols }, (_, i) => 1 + 0.1 * Math.sin(i));
    let sigma = 0;
    for (let it = 0; it < 2000; it++) {
      const mx = new Float64Array(rows);
      for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) mx[r] += m[r * cols + c] * x[c];
      const y = new Float64Array(cols);
      for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) y[c] += m[r * cols + c] * mx[r];
      const norm = Math.sqrt(y.reduce((a, v) => a + v * v, 0));
      sigma = Math.sqrt(norm / Math.sqrt(x.reduce((a, v) => a + v * v, 0)));
      x = y.map((v) => v / norm);
    }
    return sigma;
  }

  for (const shape of [[4, 4, 3, 5], [3, 3, 3, 2, 4]]) {
    it(`weight ${shape.join('×')}: σ estimate converges to the largest singular value and W/σ has σ ≈ 1`, () => {
      const w = randn(shape);
      const out = shape[shape.length - 1];
      const rows = w.size / out;
      const sigmaRef = sigmaMax(w.dataSync(), rows, out);
      let u = tf.tensor1d(Float32Array.from({ length: out }, () => rng.normal()));
      let v = tf.zeros([rows]) as tf.Tensor1D;
      const before = tf.memory().numTensors;
      for (let i = 0; i < 100; i++) {
        const next = spectralPowerIteration(w, u);
        tf.dispose([u, v]);
        ({ u, v } = next);
      }
      expect(tf.memory().numTensors).toBe(before);
      expect(u.shape).toEqual([out]);
      expect(v.shape).toEqual([rows]);
      const wsn = spectralNormalize(w, u, v);
      const sigmaEst = w.dataSync()[0] / wsn.dataSync()[0];
      expect(Math.abs(sigmaEst / sigmaRef - 1)).toBeLessThan(1e-4);
      expect(Math.abs(sigmaMax(wsn.dataSync(), rows, out) - 1)).toBeLessThan(1e-4);
    });
  }

  it('the gradient treats u and v as constants: G/σ − ⟨G, W⟩/σ² · v uᵀ', () => {
    const w = randn([3, 3, 2, 4]);
    const u = tf.tensor1d(Float32Array.from({ length: 4 }, () => rng.normal()));
    const { u: u1, v: v1 } = spectralPowerIteration(w, u);
    const gOut = randn(w.shape);
    const g = tf.grad((ww: tf.Tensor) => tf.sum(tf.mul(spectralNormalize(ww, u1, v1), gOut)))(w);
    const wd = w.dataSync();
    const gd = gOut.dataSync();
    const ud = u1.dataSync();
    const vd = v1.dataSync();
    let sigma = 0;
    for (let r = 0; r < 18; r++) for (let c = 0; c < 4; c++) sigma += vd[r] * wd[r * 4 + c] * ud[c];
    let dot = 0;
    for (let i = 0; i < gd.length; i++) dot += gd[i] * wd[i];
    const expectG = Float32Array.from(gd, (x, i) => x / sigma - (dot / sigma ** 2) * vd[Math.floor(i / 4)] * ud[i % 4]);
    expect(maxRelErr(g.dataSync(), expectG)).toBeLessThan(1e-4);
  });
});
