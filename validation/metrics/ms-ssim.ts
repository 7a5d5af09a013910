/**
 * Multi-scale SSIM (Wang, Simoncelli & Bovik 2003) in 3-D:
 *   MS-SSIM = Π_{j<M} max(cs_j, 0)^{w_j} · max(ssim_M, 0)^{w_M},
 * with the standard weights [0.0448, 0.2856, 0.3001, 0.2363, 0.1333] (M = 5), cs_j the mean
 * contrast-structure map and ssim_M the mean SSIM map at the coarsest scale. Negative means are
 * clamped to 0 as pytorch-msssim does, so the power is defined.
 * Scale j+1 is scale j averaged over 2×2×2 blocks (an odd last voxel is dropped; axes of one voxel
 * are not downsampled). Each scale uses ssim-map.ts (Gaussian σ = 1.5 by default, 'reflect'
 * borders) on the clipped-and-shifted images, and its mean is over the volume cropped by the
 * window half-width on each side where the axis is long enough (at least the central voxel kept).
 * Unlike the reference 2-D implementations, which need ≥ 161 pixels per side for 5 scales, small
 * volumes are accepted as long as every axis of more than one voxel has ≥ 2^(M−1) voxels.
 * No mask: MS-SSIM is a whole-volume score.
 */
import { VoxshiftError } from '../../volumes/errors.ts';
import type { Shape3, Volume } from '../../volumes/volume.ts';
import { checkPair } from './check-inputs.ts';
import { checkDataRange, clipShift } from './data-range.ts';
import type { DataRange } from './data-range.ts';
import { croppedMean, ssimMaps } from './ssim-map.ts';
import type { SsimWindowOptions } from './ssim-map.ts';

export const MS_SSIM_WEIGHTS = [0.0448, 0.2856, 0.3001, 0.2363, 0.1333] as const;

export interface MsSsimOptions extends SsimWindowOptions {
  dataRange?: DataRange;
  /** One weight per scale; default MS_SSIM_WEIGHTS (5 scales). */
  weights?: readonly number[];
}

/** 2×2×2 block average (axes of size 1 kept). */
export function downsample2(data: Float64Array, shape: Shape3): { data: Float64Array; shape: Shape3 } {
  const f = shape.map((s) => (s > 1 ? 2 : 1));
  const ns = shape.map((s, a) => Math.floor(s / f[a])) as unknown as Shape3;
  const out = new Float64Array(ns[0] * ns[1] * ns[2]);
  const [nx, ny] = shape;
  const norm = 1 / (f[0] * f[1] * f[2]);
  let q = 0;
  for (let k = 0; k < ns[2]; k++) {
    for (let j = 0; j < ns[1]; j++) {
      for (let i = 0; i < ns[0]; i++, q++) {
        let s = 0;
        for (let c = 0; c < f[2]; c++) {
          for (let b = 0; b < f[1]; b++) {
            const row = nx * (j * f[1] + b + ny * (k * f[2] + c));
            for (let a = 0; a < f[0]; a++) s += data[row + i * f[0] + a];
          }
        }
        out[q] = s * norm;
      }
    }
  }
  return { data: out, shape: ns };
}

export function msSsim(pred: Volume, ref: Volume, options: MsSsimOptions = {}): number {
  checkPair(pred, ref);
  const range = checkDataRange(options.dataRange);
  const weights = options.weights ?? MS_SSIM_WEIGHTS;
  if (weights.length < 1 || !weights.every((w) => Number.isFinite(w) && w >= 0)) {
    throw new VoxshiftError('INVALID_ARGUMENT', `weights must be one or more non-negative numbers, got ${JSON.stringify(weights)}`, {
      param: 'weights',
    });
  }
  const need = 2 ** (weights.length - 1);
  if (ref.shape.some((s) => s > 1 && s < need)) {
    throw new VoxshiftError(
      'INVALID_ARGUMENT',
      `MS-SSIM with ${weights.length} scales needs ≥ ${need} voxels along every axis longer than 1, got shape ${ref.shape.join('×')}`,
      { param: 'weights', details: { shape: [...ref.shape] } },
    );
  }
  const R = range[1] - range[0];
  let x = clipShift(pred.data, range);
  let y = clipShift(ref.data, range);
  let shape: Shape3 = ref.shape;
  let result = 1;
  for (let j = 0; j < weights.length; j++) {
    const axes = shape.map((s) => s > 1);
    const maps = ssimMaps(x, y, shape, R, axes, options);
    const pad = (maps.winSize - 1) / 2;
    const last = j === weights.length - 1;
    const v = croppedMean(last ? maps.ssim : maps.cs, shape, pad, axes);
    result *= Math.max(v, 0) ** weights[j];
    if (!last) {
      const dx = downsample2(x, shape);
      y = downsample2(y, shape).data;
      x = dx.data;
      shape = dx.shape;
    }
  }
  return result;
}
