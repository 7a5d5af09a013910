/**
 * The SSIM map of two float64 images, computed as scikit-image's `structural_similarity` does
 * (skimage/metrics/_structural_similarity.py):
 *   μx = W∗x, μy = W∗y, vx = c·(W∗x² − μx²), vy = c·(W∗y² − μy²), vxy = c·(W∗xy − μxμy),
 *   S = (2μxμy + C1)(2vxy + C2) / ((μx² + μy² + C1)(vx + vy + C2)),  C1 = (K1·R)², C2 = (K2·R)²,
 * with W a Gaussian (σ = 1.5, truncate 3.5 → 11 taps; c = 1) or a uniform box (7 taps; c = N/(N−1)
 * with N = 7^ndim, the sample covariance) in scipy's 'reflect' border mode. The scalar SSIM is the
 * mean of S after cropping (win − 1)/2 voxels from both ends of every filtered axis.
 * `axes` picks the filtered axes: all three for 3-D SSIM, the two in-plane ones for per-slice SSIM
 * (which is then exactly skimage on each 2-D slice).
 */
import type { Shape3 } from '../../volumes/volume.ts';
import { boxKernel, gaussianKernel, separableFilter } from './separable-filter.ts';

export interface SsimWindowOptions {
  /** 'gaussian' (default; skimage gaussian_weights=True) or 'uniform' (skimage's default window). */
  window?: 'gaussian' | 'uniform';
  /** Gaussian σ in voxels (default 1.5). */
  sigma?: number;
  /** Uniform window size (odd, default 7). */
  winSize?: number;
  /** Sample (N−1) covariance; default false for 'gaussian' and true for 'uniform', as skimage. */
  useSampleCovariance?: boolean;
  k1?: number;
  k2?: number;
}

export interface SsimMaps {
  /** The SSIM map S. */
  ssim: Float64Array;
  /** The contrast-structure map (2vxy + C2)/(vx + vy + C2), for MS-SSIM. */
  cs: Float64Array;
  /** Taps of the window along each filtered axis. */
  winSize: number;
}

export function ssimWindow(options: SsimWindowOptions): { kernel: Float64Array; covNorm: (ndim: number) => number } {
  const window = options.window ?? 'gaussian';
  if (window === 'gaussian') {
    const kernel = gaussianKernel(options.sigma ?? 1.5, 3.5);
    const sample = options.useSampleCovariance ?? false;
    return { kernel, covNorm: (ndim) => (sample ? kernel.length ** ndim / (kernel.length ** ndim - 1) : 1) };
  }
  const size = options.winSize ?? 7;
  const sample = options.useSampleCovariance ?? true;
  return { kernel: boxKernel(size), covNorm: (ndim) => (sample ? size ** ndim / (size ** ndim - 1) : 1) };
}

export function ssimMaps(
  x: Float64Array,
  y: Float64Array,
  shape: Shape3,
  dataRange: number,
  axes: readonly boolean[],
  options: SsimWindowOptions = {},
): SsimMaps {
  const { kernel, covNorm } = ssimWindow(options);
  const kernels = axes.map((on) => (on ? kernel : null));
  const c = covNorm(axes.filter(Boolean).length);
  const n = x.length;
  const xx = new Float64Array(n);
  const yy = new Float64Array(n);
  const xy = new Float64Array(n);
  for (let p = 0; p < n; p++) {
    xx[p] = x[p] * x[p];
    yy[p] = y[p] * y[p];
    xy[p] = x[p] * y[p];
  }
  const ux = separableFilter(x, shape, kernels);
  const uy = separableFilter(y, shape, kernels);
  const uxx = separableFilter(xx, shape, kernels);
  const uyy = separableFilter(yy, shape, kernels);
  const uxy = separableFilter(xy, shape, kernels);
  const c1 = ((options.k1 ?? 0.01) * dataRange) ** 2;
  const c2 = ((options.k2 ?? 0.03) * dataRange) ** 2;
  const ssim = xx; // reuse buffers
  const cs = yy;
  for (let p = 0; p < n; p++) {
    const mx = ux[p];
    const my = uy[p];
    const vx = c * (uxx[p] - mx * mx);
    const vy = c * (uyy[p] - my * my);
    const vxy = c * (uxy[p] - mx * my);
    const a2 = 2 * vxy + c2;
    const b2 = vx + vy + c2;
    cs[p] = a2 / b2;
    ssim[p] = ((2 * mx * my + c1) * a2) / ((mx * mx + my * my + c1) * b2);
  }
  return { ssim, cs, winSize: kernel.length };
}

/**
 * Mean of `map` over the box that drops `pad` voxels at both ends of each axis where `crop[axis]`,
 * as skimage's crop(S, pad).mean(). A pad larger than fits leaves at least the central voxel(s).
 */
export function croppedMean(map: Float64Array, shape: Shape3, pad: number, crop: readonly boolean[]): number {
  const lo = shape.map((s, a) => (crop[a] ? Math.min(pad, Math.floor((s - 1) / 2)) : 0));
  const hi = shape.map((s, a) => s - lo[a]);
  const [nx, ny] = shape;
  let sum = 0;
  let count = 0;
  for (let k = lo[2]; k < hi[2]; k++) {
    for (let j = lo[1]; j < hi[1]; j++) {
      const row = nx * (j + ny * k);
      for (let i = lo[0]; i < hi[0]; i++) sum += map[row + i];
      count += hi[0] - lo[0];
    }
  }
  return sum / count;
}
