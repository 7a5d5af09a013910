/**
 * Masked z-score: each image is standardised by its own foreground mean and standard deviation,
 * then put on the reference site's scale: out = μ_ref + σ_ref · (x − μ)/σ, where μ_ref, σ_ref are
 * the means of the reference subjects' foreground means and standard deviations. It removes global
 * scale and offset differences only; contrast (gamma, curves) and noise differences remain.
 */
import type { Volume } from '../volumes/volume.ts';
import { checkIntensityVolume, checkModality, foregroundMask, maskedValues, volumeName } from './foreground.ts';
import type { ZScoreModel } from './model.ts';
import { harmonizedVolume, intensityHeader, prepareSites, type SiteVolumes } from './sites.ts';
import { VoxshiftError } from '../volumes/errors.ts';

export interface ImageMoments {
  mean: number;
  std: number;
}

/** Foreground mean and population standard deviation; a constant foreground is an error. */
export function foregroundMoments(values: Float64Array, name: string): ImageMoments {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i];
  const mean = sum / values.length;
  let ss = 0;
  for (let i = 0; i < values.length; i++) ss += (values[i] - mean) ** 2;
  const std = Math.sqrt(ss / values.length);
  if (!(std > 0)) {
    throw new VoxshiftError('INVALID_VOLUME', `${name}: the foreground is constant (${mean}); cannot standardise`, { param: 'volume', details: { name, value: mean } });
  }
  return { mean, std };
}

export function fitZScore(sites: SiteVolumes, reference: string): ZScoreModel {
  const p = prepareSites(sites, reference);
  const ref = p.bySite.get(reference) ?? [];
  const moments = ref.map((s) => foregroundMoments(maskedValues(s.volume, s.mask()), s.name));
  const mean = moments.reduce((a, m) => a + m.mean, 0) / moments.length;
  const std = moments.reduce((a, m) => a + m.std, 0) / moments.length;
  return { ...intensityHeader(p), method: 'zscore', parameters: { mean, std } };
}

export function applyZScore(model: ZScoreModel, volume: Volume, options: { mask?: Volume | Uint8Array } = {}): Volume<Float32Array> {
  const name = volumeName(volume, 'volume');
  checkIntensityVolume(volume, name);
  checkModality(volume, model.modality, name);
  const m = foregroundMoments(maskedValues(volume, foregroundMask(volume, name, options.mask)), name);
  const { mean, std } = model.parameters;
  const src = volume.data;
  const out = new Float32Array(src.length);
  const k = std / m.std;
  for (let p = 0; p < src.length; p++) out[p] = mean + (src[p] - m.mean) * k;
  return harmonizedVolume(volume, out, model, { mean: m.mean, std: m.std });
}
