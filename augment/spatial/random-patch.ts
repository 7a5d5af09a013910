/**
 * A random patch of every volume (MONAI's RandCropByPosNegLabel / RandSpatialCrop): the start is
 * drawn by volumes/patches.ts randomPatchStart — centred on a voxel of `labelKey` > 0 with
 * probability `foregroundProb`, uniform otherwise — and handed to the `Crop` twin (invertible by Pad).
 */
import { VoxshiftError } from '../../volumes/errors.ts';
import { randomPatchStart } from '../../volumes/patches.ts';
import { OptionReader } from '../options.ts';
import type { Vec3 } from '../options.ts';
import { subjectGrid } from '../subject.ts';
import { defineRandom } from '../transform.ts';
import type { Transform } from '../transform.ts';
import { Crop } from './crop-pad.ts';

export interface RandomPatchOptions {
  patchSize: Vec3;
  /** Probability of centring on foreground. Default 0.5 (0 without labelKey). */
  foregroundProb?: number;
  /** The label map whose non-zero voxels are foreground. */
  labelKey?: string;
  p?: number;
}

export function RandomPatch(options: RandomPatchOptions, where = 'RandomPatch'): Transform {
  const r = new OptionReader(where, options, ['patchSize', 'foregroundProb', 'labelKey', 'p']);
  const patchSize = r.int3('patchSize', undefined, 1);
  const rawKey = r.raw('labelKey');
  if (rawKey !== undefined && typeof rawKey !== 'string') r.fail('labelKey', 'expected the name of a label map', rawKey);
  const labelKey = rawKey as string | undefined;
  const fgProb = r.prob('foregroundProb', labelKey === undefined ? 0 : 0.5);
  return defineRandom('RandomPatch', r.prob('p', 1), (subject, rng) => {
    const shape = subjectGrid(subject).shape;
    const fg = labelKey === undefined ? undefined : subject[labelKey];
    if (labelKey !== undefined && (fg === undefined || fg.kind !== 'label')) {
      throw new VoxshiftError('INVALID_ARGUMENT', `${where}.labelKey: the subject has no label map "${labelKey}"`, { param: `${where}.labelKey` });
    }
    const start = randomPatchStart(shape, patchSize, rng, fg, fg ? fgProb : 0);
    return Crop({ before: start, after: [0, 1, 2].map((a) => shape[a] - start[a] - patchSize[a]) as Vec3 });
  });
}
