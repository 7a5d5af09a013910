/**
 * The intensity window of PSNR and SSIM. SynthRAD scores synthetic CT with the fixed range
 * [−1024, 3000] HU: values are clipped to it and the range width is the "data range" R.
 */
import { VoxshiftError } from '../../volumes/errors.ts';
import type { VoxelArray } from '../../volumes/volume.ts';

export type DataRange = readonly [number, number];

export const CT_DATA_RANGE: DataRange = [-1024, 3000];

export function checkDataRange(range: DataRange | undefined): DataRange {
  const r = range ?? CT_DATA_RANGE;
  if (!Array.isArray(r) || r.length !== 2 || !Number.isFinite(r[0]) || !Number.isFinite(r[1]) || !(r[1] > r[0])) {
    throw new VoxshiftError('INVALID_ARGUMENT', `dataRange must be [low, high] with finite low < high, got ${JSON.stringify(r)}`, {
      param: 'dataRange',
    });
  }
  return [r[0], r[1]];
}

/**
 * float64 copy of `data` clipped to the range and shifted so the range starts at 0 (SynthRAD's
 * SSIM input); voxels outside `fillOutside` (a mask) are set to the range's low end (0 after the shift).
 */
export function clipShift(data: VoxelArray, range: DataRange, fillOutside?: VoxelArray | null): Float64Array {
  const [lo, hi] = range;
  const out = new Float64Array(data.length);
  for (let p = 0; p < data.length; p++) {
    const v = data[p];
    out[p] = fillOutside && fillOutside[p] === 0 ? 0 : (v < lo ? lo : v > hi ? hi : v) - lo;
  }
  return out;
}
