/**
 * How a spatial transform resamples each kind of volume (decided by `kind`, never per call site):
 * images 'linear' (default) or 'nearest'; label maps 'label' (one-hot/argmax, default) or 'nearest'.
 */
import type { OptionReader } from '../options.ts';
import type { Subject } from '../subject.ts';
import type { Volume } from '../../volumes/volume.ts';
import { warpVolume } from './warp.ts';
import type { Displacement, ImageInterpolation, LabelInterpolation } from './warp.ts';

export interface InterpolationOptions {
  imageInterpolation?: ImageInterpolation;
  labelInterpolation?: LabelInterpolation;
}

export const INTERPOLATION_KEYS = ['imageInterpolation', 'labelInterpolation'] as const;

export function readInterpolation(r: OptionReader): Required<InterpolationOptions> {
  return {
    imageInterpolation: r.choice('imageInterpolation', 'linear', ['linear', 'nearest'] as const),
    labelInterpolation: r.choice('labelInterpolation', 'label', ['nearest', 'label'] as const),
  };
}

/** The same voxel mapping applied to every volume of the subject. */
export function warpSubject(
  subject: Subject,
  m: readonly number[],
  displacement: Displacement | null,
  interp: Required<InterpolationOptions>,
): Record<string, Volume> {
  const out: Record<string, Volume> = {};
  for (const key of Object.keys(subject)) {
    const v = subject[key];
    out[key] = warpVolume(v, m, displacement, v.kind === 'label' ? interp.labelInterpolation : interp.imageInterpolation);
  }
  return out;
}
