/**
 * SSIM of every 2-D slice across `axis` (default 2): each slice compared as skimage does for a 2-D
 * image (in-plane window only, crop (win − 1)/2 from the four in-plane borders), after the same
 * clip-and-shift as ssim.ts. With a mask, `masked[s]` is SynthRAD's masked SSIM of slice s
 * (outside set to lo, map averaged over the slice's mask voxels), NaN for slices with no mask voxel.
 */
import { VoxshiftError } from '../../volumes/errors.ts';
import type { Shape3, Volume } from '../../volumes/volume.ts';
import { checkDataRange, clipShift } from './data-range.ts';
import { resolveMask } from './resolve-mask.ts';
import { checkWindowFits } from './ssim.ts';
import type { SsimOptions } from './ssim.ts';
import { ssimMaps } from './ssim-map.ts';

export interface SsimPerSliceResult {
  axis: 0 | 1 | 2;
  values: Float64Array;
  masked: Float64Array | null;
}

function perSliceMean(map: Float64Array, shape: Shape3, axis: number, pad: number, mask: ArrayLike<number> | null): Float64Array {
  const [nx, ny] = shape;
  const out = new Float64Array(shape[axis]);
  const cnt = new Float64Array(shape[axis]);
  const lo = shape.map((s, a) => (a === axis || mask ? 0 : pad));
  const hi = shape.map((s, a) => s - lo[a]);
  for (let k = lo[2]; k < hi[2]; k++) {
    for (let j = lo[1]; j < hi[1]; j++) {
      for (let i = lo[0]; i < hi[0]; i++) {
        const p = i + nx * (j + ny * k);
        if (mask && mask[p] === 0) continue;
        const s = axis === 0 ? i : axis === 1 ? j : k;
        out[s] += map[p];
        cnt[s]++;
      }
    }
  }
  for (let s = 0; s < out.length; s++) out[s] = cnt[s] > 0 ? out[s] / cnt[s] : NaN;
  return out;
}

export function ssimPerSlice(pred: Volume, ref: Volume, options: SsimOptions & { axis?: 0 | 1 | 2 } = {}): SsimPerSliceResult {
  const axis = options.axis ?? 2;
  if (axis !== 0 && axis !== 1 && axis !== 2) {
    throw new VoxshiftError('INVALID_ARGUMENT', `axis must be 0, 1 or 2, got ${String(axis)}`, { param: 'axis' });
  }
  const range = checkDataRange(options.dataRange);
  const m = resolveMask(pred, ref, options.mask);
  const inPlane = [0, 1, 2].filter((a) => a !== axis);
  checkWindowFits(ref.shape, inPlane, options);
  const axes = [0, 1, 2].map((a) => a !== axis);
  const R = range[1] - range[0];
  const full = ssimMaps(clipShift(pred.data, range), clipShift(ref.data, range), ref.shape, R, axes, options);
  const values = perSliceMean(full.ssim, ref.shape, axis, (full.winSize - 1) / 2, null);
  if (m === null) return { axis, values, masked: null };
  const mm = ssimMaps(clipShift(pred.data, range, m), clipShift(ref.data, range, m), ref.shape, R, axes, options);
  return { axis, values, masked: perSliceMean(mm.ssim, ref.shape, axis, 0, m) };
}
