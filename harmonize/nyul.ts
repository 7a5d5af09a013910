/**
 * Nyúl–Udupa piecewise-linear histogram standardisation (Nyúl, Udupa & Zhang, IEEE TMI 2000).
 *
 * Landmarks are foreground percentiles: pc1, a set of intermediate percentiles, pc2 (default 1,
 * the deciles 10..90, 99). Training on the reference site: each image's [pc1, pc2] is mapped linearly
 * onto the standard range [s1, s2] and its landmarks' positions there are averaged into the standard
 * scale. s1, s2 are the mean pc1, pc2 of the reference images, so the standard scale is in the
 * reference site's units. Applying: the image's own landmarks are mapped piecewise-linearly onto
 * the standard scale (piecewise.ts: beyond pc1/pc2 the map continues with its overall slope).
 */
import { VoxshiftError } from '../volumes/errors.ts';
import type { Volume } from '../volumes/volume.ts';
import { checkIntensityVolume, checkModality, foregroundMask, maskedValues, volumeName } from './foreground.ts';
import type { NyulModel } from './model.ts';
import { applyMap, monotoneMap, percentilesOfSorted, sortedCopy } from './piecewise.ts';
import { harmonizedVolume, intensityHeader, prepareSites, type SiteVolumes } from './sites.ts';

export const NYUL_PERCENTILES: readonly number[] = [1, 10, 20, 30, 40, 50, 60, 70, 80, 90, 99];

export interface NyulOptions {
  percentiles?: readonly number[];
}

function checkPercentiles(p: readonly number[]): number[] {
  const ok = Array.isArray(p) && p.length >= 2 && p.every((x) => Number.isFinite(x) && x >= 0 && x <= 100) && p.every((x, i) => i === 0 || x > p[i - 1]);
  if (!ok) {
    throw new VoxshiftError('INVALID_ARGUMENT', `percentiles must be at least 2 strictly ascending numbers in [0, 100], got ${JSON.stringify(p)}`, { param: 'percentiles' });
  }
  return [...p];
}

/** The image's landmarks (foreground percentiles). */
export function landmarksOf(volume: Volume, mask: Uint8Array, percentiles: readonly number[]): number[] {
  return percentilesOfSorted(sortedCopy(maskedValues(volume, mask)), percentiles);
}

export function fitNyul(sites: SiteVolumes, reference: string, options: NyulOptions = {}): NyulModel {
  const percentiles = checkPercentiles(options.percentiles ?? NYUL_PERCENTILES);
  const p = prepareSites(sites, reference);
  const ref = p.bySite.get(reference) ?? [];
  const landmarks = ref.map((s) => {
    const l = landmarksOf(s.volume, s.mask(), percentiles);
    if (!(l[l.length - 1] > l[0])) {
      throw new VoxshiftError('INVALID_VOLUME', `${s.name}: the foreground is constant between the ${percentiles[0]} and ${percentiles[percentiles.length - 1]} percentiles`, {
        param: 'volume',
        details: { name: s.name },
      });
    }
    return l;
  });
  const last = percentiles.length - 1;
  const s1 = landmarks.reduce((a, l) => a + l[0], 0) / landmarks.length;
  const s2 = landmarks.reduce((a, l) => a + l[last], 0) / landmarks.length;
  const standard = percentiles.map((_, k) => landmarks.reduce((a, l) => a + s1 + ((l[k] - l[0]) * (s2 - s1)) / (l[last] - l[0]), 0) / landmarks.length);
  for (let k = 1; k < standard.length; k++) {
    if (!(standard[k] > standard[k - 1])) {
      throw new VoxshiftError('INVALID_VOLUME', `the reference images' landmarks at the ${percentiles[k - 1]} and ${percentiles[k]} percentiles coincide; use fewer landmarks`, {
        param: 'percentiles',
      });
    }
  }
  return { ...intensityHeader(p), method: 'nyul', parameters: { percentiles, standard } };
}

export function applyNyul(model: NyulModel, volume: Volume, options: { mask?: Volume | Uint8Array } = {}): Volume<Float32Array> {
  const name = volumeName(volume, 'volume');
  checkIntensityVolume(volume, name);
  checkModality(volume, model.modality, name);
  const { percentiles, standard } = model.parameters;
  const landmarks = landmarksOf(volume, foregroundMask(volume, name, options.mask), percentiles);
  const map = monotoneMap(landmarks, standard, name);
  return harmonizedVolume(volume, applyMap(map, volume.data), model, { landmarks });
}
