/**
 * Separable 3-D correlation with scipy.ndimage's 'reflect' border (d c b a | a b c d | d c b a), in
 * float64, and the two windows SSIM uses: scipy's Gaussian (weights exp(-x²/2σ²) normalised, radius
 * int(truncate·σ + 0.5)) and the uniform box of odd size.
 */
import type { Shape3 } from '../../volumes/volume.ts';

/** scipy.ndimage._gaussian_kernel1d(sigma, 0, int(truncate * sigma + 0.5)). */
export function gaussianKernel(sigma: number, truncate = 3.5): Float64Array {
  const r = Math.floor(truncate * sigma + 0.5);
  const w = new Float64Array(2 * r + 1);
  let sum = 0;
  for (let x = -r; x <= r; x++) {
    w[x + r] = Math.exp((-0.5 / (sigma * sigma)) * x * x);
    sum += w[x + r];
  }
  for (let i = 0; i < w.length; i++) w[i] /= sum;
  return w;
}

export function boxKernel(size: number): Float64Array {
  return new Float64Array(size).fill(1 / size);
}

/** Index into [0, n) for scipy's 'reflect' mode (period 2n). */
function reflect(i: number, n: number): number {
  const period = 2 * n;
  let m = i % period;
  if (m < 0) m += period;
  return m < n ? m : period - 1 - m;
}

/**
 * Correlates `data` (x fastest) with `kernels[axis]` along each axis whose kernel is given (odd
 * length, centred); axes with `null` are left alone. Returns a new array.
 */
export function separableFilter(data: Float64Array, shape: Shape3, kernels: readonly (Float64Array | null)[]): Float64Array {
  const [nx, ny] = shape;
  const strides = [1, nx, nx * ny];
  let src: Float64Array = data;
  let out: Float64Array = new Float64Array(data.length);
  let first = true;
  for (let axis = 0; axis < 3; axis++) {
    const w = kernels[axis];
    if (!w) continue;
    const n = shape[axis];
    const r = (w.length - 1) / 2;
    const stride = strides[axis];
    const line = new Float64Array(n + 2 * r);
    const lut = new Int32Array(n + 2 * r);
    for (let t = 0; t < lut.length; t++) lut[t] = reflect(t - r, n);
    // Each line along `axis` starts at a voxel whose coordinate on that axis is 0.
    const others = shape.map((s, a) => (a === axis ? 1 : s));
    for (let c = 0; c < others[2]; c++) {
      for (let b = 0; b < others[1]; b++) {
        for (let a = 0; a < others[0]; a++) {
          const base = a + nx * (b + ny * c);
          for (let t = 0; t < lut.length; t++) line[t] = src[base + lut[t] * stride];
          for (let q = 0; q < n; q++) {
            let s = 0;
            for (let t = 0; t < w.length; t++) s += w[t] * line[q + t];
            out[base + q * stride] = s;
          }
        }
      }
    }
    if (first) {
      src = out;
      out = new Float64Array(data.length);
      first = false;
    } else {
      const tmp = src;
      src = out;
      out = tmp;
    }
  }
  return first ? Float64Array.from(data) : src;
}
