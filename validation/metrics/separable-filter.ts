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
 * length, centred, symmetric); axes with `null` are left alone. Returns a new array.
 */
export function separableFilter(data: Float64Array, shape: Shape3, kernels: readonly (Float64Array | null)[]): Float64Array {
  const [nx, ny] = shape;
  let src: Float64Array = data;
  let out: Float64Array = new Float64Array(data.length);
  let first = true;
  for (let axis = 0; axis < 3; axis++) {
    const w = kernels[axis];
    if (!w) continue;
    if (axis === 0) filterX(src, out, shape, w);
    else filterOuter(src, out, w, axis === 1 ? nx : nx * ny, axis === 1 ? ny : shape[2], axis === 1 ? nx : nx * ny, axis === 1 ? shape[2] : 1);
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

/** Along x: each row copied with its reflected margins, then correlated (symmetric taps paired). */
function filterX(src: Float64Array, out: Float64Array, shape: Shape3, w: Float64Array): void {
  const n = shape[0];
  const r = (w.length - 1) / 2;
  const wc = w[r];
  const line = new Float64Array(n + 2 * r);
  const lut = new Int32Array(n + 2 * r);
  for (let t = 0; t < lut.length; t++) lut[t] = reflect(t - r, n);
  const rows = shape[1] * shape[2];
  for (let row = 0, base = 0; row < rows; row++, base += n) {
    for (let t = 0; t < lut.length; t++) line[t] = src[base + lut[t]];
    for (let q = 0; q < n; q++) {
      let s = wc * line[q + r];
      for (let t = 0; t < r; t++) s += w[t] * (line[q + t] + line[q + 2 * r - t]);
      out[base + q] = s;
    }
  }
}

/**
 * Along y or z: whole contiguous runs (a row of x for y, a slice for z) are weighted and summed,
 * which keeps memory access sequential. `run` values per step, `n` steps along the axis, `blocks`
 * independent blocks of `n · run` values.
 */
function filterOuter(src: Float64Array, out: Float64Array, w: Float64Array, run: number, n: number, step: number, blocks: number): void {
  const r = (w.length - 1) / 2;
  const blockSize = n * step;
  for (let b = 0; b < blocks; b++) {
    const base = b * blockSize;
    for (let q = 0; q < n; q++) {
      const dst = base + q * step;
      out.fill(0, dst, dst + run);
      for (let t = 0; t < w.length; t++) {
        const from = base + reflect(q + t - r, n) * step;
        const wt = w[t];
        for (let x = 0; x < run; x++) out[dst + x] += wt * src[from + x];
      }
    }
  }
}
