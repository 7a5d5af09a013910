/**
 * Histogram matching to the reference site: each image's foreground quantile function is mapped
 * onto the reference site's pooled foreground quantile function (all reference subjects' foreground
 * voxels together) at `levels` percentile levels evenly spaced over [pLow, pHigh] — by default 1025
 * over [0, 100], the whole range, so the output's foreground histogram is the reference's up to the
 * interpolation between knots (a narrower range leaves the tails to the map's linear continuation).
 * This is Nyúl–Udupa with dense landmarks and the reference's own quantiles as the standard scale.
 * Per image, so it also removes each subject's own histogram shape (e.g. more or less fat): the
 * price of its perfect histogram agreement is some anatomical distortion.
 */
import { VoxshiftError } from '../volumes/errors.ts';
import type { Volume } from '../volumes/volume.ts';
import { checkIntensityVolume, checkModality, foregroundMask, maskedValues, volumeName } from './foreground.ts';
import type { HistMatchModel } from './model.ts';
import { applyMap, evenLevels, monotoneMap, percentilesOfSorted, sortedCopy } from './piecewise.ts';
import { harmonizedVolume, intensityHeader, prepareSites, type SiteVolumes } from './sites.ts';

export interface HistMatchOptions {
  levels?: number;
  pLow?: number;
  pHigh?: number;
}

/** Pooled values beyond this many are subsampled with a fixed stride (deterministic). */
const MAX_POOLED = 8_000_000;

export function fitHistMatch(sites: SiteVolumes, reference: string, options: HistMatchOptions = {}): HistMatchModel {
  const levels = options.levels ?? 1025;
  const pLow = options.pLow ?? 0;
  const pHigh = options.pHigh ?? 100;
  if (!(pLow >= 0 && pHigh <= 100 && pLow < pHigh)) {
    throw new VoxshiftError('INVALID_ARGUMENT', `pLow, pHigh must satisfy 0 ≤ pLow < pHigh ≤ 100, got ${pLow}, ${pHigh}`, { param: 'pLow' });
  }
  if (!(Number.isInteger(levels) && levels >= 2 && levels <= 100_000)) {
    throw new VoxshiftError('INVALID_ARGUMENT', `levels must be an integer in [2, 100000], got ${JSON.stringify(levels)}`, { param: 'levels' });
  }
  const p = prepareSites(sites, reference);
  const ref = p.bySite.get(reference) ?? [];
  const parts = ref.map((s) => maskedValues(s.volume, s.mask()));
  const total = parts.reduce((a, v) => a + v.length, 0);
  const stride = Math.max(1, Math.ceil(total / MAX_POOLED));
  const pooled = new Float64Array(Math.ceil(total / stride) + parts.length);
  let k = 0;
  let g = 0;
  for (const part of parts) {
    for (let i = 0; i < part.length; i++, g++) if (g % stride === 0) pooled[k++] = part[i];
  }
  const sorted = sortedCopy(pooled.subarray(0, k));
  const percentiles = evenLevels(pLow, pHigh, levels);
  const quantiles = percentilesOfSorted(sorted, percentiles);
  if (!(quantiles[quantiles.length - 1] > quantiles[0])) {
    throw new VoxshiftError('INVALID_VOLUME', `the reference site's foreground intensities are constant (${quantiles[0]})`, { param: 'sites' });
  }
  return { ...intensityHeader(p), method: 'histmatch', parameters: { percentiles, quantiles } };
}

export function applyHistMatch(model: HistMatchModel, volume: Volume, options: { mask?: Volume | Uint8Array } = {}): Volume<Float32Array> {
  const name = volumeName(volume, 'volume');
  checkIntensityVolume(volume, name);
  checkModality(volume, model.modality, name);
  const { percentiles, quantiles } = model.parameters;
  const own = percentilesOfSorted(sortedCopy(maskedValues(volume, foregroundMask(volume, name, options.mask))), percentiles);
  const map = monotoneMap(own, quantiles, name);
  return harmonizedVolume(volume, applyMap(map, volume.data), model, { knots: map.x.length, range: [own[0], own[own.length - 1]] });
}
