/**
 * Voxel-wise errors of a prediction against a reference, in the images' units (HU for CT), inside
 * a mask: MAE = mean|p − r|, mean error (bias) = mean(p − r), RMSE = √mean((p − r)²). No clipping
 * (as SynthRAD's MAE).
 */
import type { Volume } from '../../volumes/volume.ts';
import { resolveMask } from './resolve-mask.ts';
import type { MaskOption } from './resolve-mask.ts';

export interface IntensityErrors {
  mae: number;
  meanError: number;
  rmse: number;
  /** Voxels scored. */
  count: number;
}

export function intensityErrors(pred: Volume, ref: Volume, options: { mask?: MaskOption } = {}): IntensityErrors {
  const m = resolveMask(pred, ref, options.mask);
  const p = pred.data;
  const r = ref.data;
  let abs = 0;
  let sum = 0;
  let sq = 0;
  let count = 0;
  for (let i = 0; i < p.length; i++) {
    if (m !== null && m[i] === 0) continue;
    const d = p[i] - r[i];
    abs += Math.abs(d);
    sum += d;
    sq += d * d;
    count++;
  }
  return { mae: abs / count, meanError: sum / count, rmse: Math.sqrt(sq / count), count };
}
