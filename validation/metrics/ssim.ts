/**
 * 3-D SSIM of a prediction against a reference.
 *
 * Both images are clipped to the data range [lo, hi] (default [−1024, 3000] HU) and shifted by −lo,
 * then compared with skimage's structural_similarity(x, y, data_range = hi − lo, ...) using by
 * default gaussian_weights=True, sigma=1.5, use_sample_covariance=False (see ssim-map.ts):
 * - `ssim`: skimage's scalar, the mean SSIM map after cropping 5 voxels (the 11-tap window's
 *   half-width) from each face; the whole volume, not masked.
 * - `maskedSsim` (when a mask applies): SynthRAD's masked SSIM — voxels outside the mask are set to
 *   lo in both images before the map is computed, and the map is averaged over the mask voxels
 *   (no cropping). null with mask 'none'.
 * Every axis must have at least as many voxels as the window has taps (11; 7 for 'uniform'), as
 * skimage requires.
 */
import { VoxshiftError } from '../../volumes/errors.ts';
import type { Volume, VoxelArray } from '../../volumes/volume.ts';
import { checkDataRange, clipShift } from './data-range.ts';
import type { DataRange } from './data-range.ts';
import { resolveMask } from './resolve-mask.ts';
import type { MaskOption } from './resolve-mask.ts';
import { croppedMean, ssimMaps, ssimWindow } from './ssim-map.ts';
import type { SsimWindowOptions } from './ssim-map.ts';

export interface SsimOptions extends SsimWindowOptions {
  dataRange?: DataRange;
  mask?: MaskOption;
}

export interface SsimResult {
  ssim: number;
  maskedSsim: number | null;
}

export function checkWindowFits(shape: readonly number[], axes: readonly number[], options: SsimWindowOptions): void {
  const taps = ssimWindow(options).kernel.length;
  for (const a of axes) {
    if (shape[a] < taps) {
      throw new VoxshiftError(
        'INVALID_ARGUMENT',
        `SSIM needs at least ${taps} voxels along axis ${a} (the window size), the volume has ${shape[a]} (shape ${shape.join('×')})`,
        { param: 'pred', details: { shape: [...shape], window: taps } },
      );
    }
  }
}

/** Mean of `map` where `mask` is non-zero. */
export function maskedMean(map: Float64Array, mask: VoxelArray): number {
  let s = 0;
  let n = 0;
  for (let p = 0; p < map.length; p++) {
    if (mask[p] !== 0) {
      s += map[p];
      n++;
    }
  }
  return s / n;
}

export function ssim(pred: Volume, ref: Volume, options: SsimOptions = {}): SsimResult {
  const range = checkDataRange(options.dataRange);
  const m = resolveMask(pred, ref, options.mask);
  checkWindowFits(ref.shape, [0, 1, 2], options);
  const R = range[1] - range[0];
  const all = [true, true, true];
  const full = ssimMaps(clipShift(pred.data, range), clipShift(ref.data, range), ref.shape, R, all, options);
  const pad = (full.winSize - 1) / 2;
  const value = croppedMean(full.ssim, ref.shape, pad, all);
  if (m === null) return { ssim: value, maskedSsim: null };
  const masked = ssimMaps(clipShift(pred.data, range, m), clipShift(ref.data, range, m), ref.shape, R, all, options);
  return { ssim: value, maskedSsim: maskedMean(masked.ssim, m) };
}
