/**
 * Where a metric is evaluated. `mask` is a volume on the images' grid (non-zero = inside), 'body'
 * (the default: bodyMask of the reference, see validation/masks.ts) or 'none' (every voxel).
 * Checks the inputs on the way (same grid, finite, non-empty mask).
 */
import { VoxshiftError } from '../../volumes/errors.ts';
import type { Volume, VoxelArray } from '../../volumes/volume.ts';
import { bodyMask } from '../masks.ts';
import { checkMaskNotEmpty, checkPair } from './check-inputs.ts';

export type MaskOption = Volume | 'body' | 'none';

/** The mask's voxels (null for 'none') after checking pred, ref and the mask. */
export function resolveMask(pred: Volume, ref: Volume, mask: MaskOption | undefined): VoxelArray | null {
  if (mask === 'none') {
    checkPair(pred, ref);
    return null;
  }
  if (mask === undefined || mask === 'body') {
    checkPair(pred, ref);
    const body = bodyMask(ref);
    checkMaskNotEmpty(body.data, 'mask (the body mask of ref)');
    return body.data;
  }
  if (typeof mask !== 'object' || !('data' in mask)) {
    throw new VoxshiftError('INVALID_ARGUMENT', `mask must be a Volume, 'body' or 'none', got ${String(mask)}`, { param: 'mask' });
  }
  checkPair(pred, ref, mask);
  checkMaskNotEmpty(mask.data);
  return mask.data;
}
