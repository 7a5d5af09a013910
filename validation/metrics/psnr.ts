/**
 * Peak signal-to-noise ratio as the SynthRAD 2023 evaluation computes it with
 * `use_population_range=True`: both images clipped to the data range [lo, hi] (default
 * [−1024, 3000] HU), MSE over the voxels in the mask, PSNR = 10·log10((hi − lo)² / MSE)
 * (skimage's peak_signal_noise_ratio with data_range = hi − lo). Identical images give +Infinity.
 */
import type { Volume } from '../../volumes/volume.ts';
import { checkDataRange } from './data-range.ts';
import type { DataRange } from './data-range.ts';
import { resolveMask } from './resolve-mask.ts';
import type { MaskOption } from './resolve-mask.ts';

export interface PsnrOptions {
  mask?: MaskOption;
  dataRange?: DataRange;
}

export function psnr(pred: Volume, ref: Volume, options: PsnrOptions = {}): number {
  const [lo, hi] = checkDataRange(options.dataRange);
  const m = resolveMask(pred, ref, options.mask);
  const p = pred.data;
  const r = ref.data;
  let sq = 0;
  let count = 0;
  for (let i = 0; i < p.length; i++) {
    if (m !== null && m[i] === 0) continue;
    const a = p[i] < lo ? lo : p[i] > hi ? hi : p[i];
    const b = r[i] < lo ? lo : r[i] > hi ? hi : r[i];
    sq += (a - b) * (a - b);
    count++;
  }
  const mse = sq / count;
  return 10 * Math.log10(((hi - lo) * (hi - lo)) / mse);
}
