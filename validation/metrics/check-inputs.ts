/**
 * Input checks shared by the metrics: every volume on one grid (shape and affine), one channel,
 * finite voxels, and a non-empty mask. Errors name both inputs so a caller scoring a dataset can
 * tell which file is at fault.
 */
import { affineOf, sameGeometry } from '../../volumes/affine.ts';
import { VoxshiftError } from '../../volumes/errors.ts';
import type { Volume, VoxelArray } from '../../volumes/volume.ts';

export interface NamedVolume {
  vol: Volume;
  /** The parameter name used in error messages (`pred`, `ref`, `mask`...). */
  name: string;
}

function describe(v: Volume): string {
  const a = affineOf(v).slice(0, 12).map((x) => +x.toFixed(4));
  return `shape ${v.shape.join('×')}, affine [${a.join(', ')}]`;
}

/** Throws GEOMETRY_MISMATCH unless every volume has the first one's shape and affine (1e-3 mm). */
export function checkSameGrid(...vols: NamedVolume[]): void {
  const [first, ...rest] = vols;
  for (const other of rest) {
    if (!sameGeometry(first.vol, other.vol)) {
      throw new VoxshiftError(
        'GEOMETRY_MISMATCH',
        `${other.name} and ${first.name} are not on the same voxel grid: ${other.name} has ${describe(other.vol)}, ${first.name} has ${describe(first.vol)}; resample one onto the other first`,
        { param: other.name, details: { [first.name]: describe(first.vol), [other.name]: describe(other.vol) } },
      );
    }
  }
  for (const { vol, name } of vols) {
    if (vol.channels !== 1) {
      throw new VoxshiftError('INVALID_ARGUMENT', `${name} must have one channel, got ${vol.channels}`, { param: name });
    }
  }
}

/** Throws NON_FINITE_VALUES when a voxel is NaN or ±Inf (naming the first one). */
export function checkFinite({ vol, name }: NamedVolume): void {
  const d = vol.data;
  if (!(d instanceof Float32Array || d instanceof Float64Array)) return;
  for (let p = 0; p < d.length; p++) {
    const v = d[p];
    if (v - v !== 0) {
      const [nx, ny] = vol.shape;
      const ijk = [p % nx, Math.floor(p / nx) % ny, Math.floor(p / (nx * ny))];
      throw new VoxshiftError('NON_FINITE_VALUES', `${name} has a non-finite value (${v}) at voxel [${ijk.join(', ')}]`, {
        param: name,
        details: { voxel: ijk, value: String(v) },
      });
    }
  }
}

/** Number of non-zero voxels; throws INVALID_ARGUMENT when there is none. */
export function checkMaskNotEmpty(mask: VoxelArray, name = 'mask'): number {
  let n = 0;
  for (let p = 0; p < mask.length; p++) if (mask[p] !== 0) n++;
  if (n === 0) {
    throw new VoxshiftError('INVALID_ARGUMENT', `${name} is empty (no non-zero voxel): there is nothing to score inside it`, {
      param: name,
    });
  }
  return n;
}

/** The usual pair check: same grid (with the mask when given), finite values. */
export function checkPair(pred: Volume, ref: Volume, mask?: Volume): void {
  const vols: NamedVolume[] = [{ vol: ref, name: 'ref' }, { vol: pred, name: 'pred' }];
  if (mask) vols.push({ vol: mask, name: 'mask' });
  checkSameGrid(...vols);
  checkFinite({ vol: pred, name: 'pred' });
  checkFinite({ vol: ref, name: 'ref' });
  if (mask) checkFinite({ vol: mask, name: 'mask' });
}
