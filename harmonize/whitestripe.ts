/**
 * WhiteStripe (Shinohara et al., NeuroImage Clin 2014): standardise a T1 image by the mean and
 * standard deviation of its normal-appearing white matter, found as a "stripe" of quantiles around
 * the white-matter peak of the smoothed histogram.
 *
 * Per image, following the WhiteStripe R package's steps:
 * 1. a `bins`-bin histogram of the foreground over its 0.5th..99.5th percentiles, smoothed with a
 *    Gaussian of σ = `smoothing` bins (the package smooths with a spline);
 * 2. its peaks (local maxima) above the `voiPercentile` percentile of the foreground (the package
 *    looks only at the brain voxels above their mean; here the whole histogram is kept so a peak
 *    straddling the cut keeps both flanks), and of those the ones at least `rarePeak` × the tallest:
 *    white matter is the tallest ('largest') or the brightest ('last', the package's T1 rule on a
 *    skull-stripped brain);
 * 3. u = the fraction of foreground voxels below the peak; the stripe is the foreground voxels
 *    between the quantiles u − `width` and u + `width`; μ_ws, σ_ws are its mean and (n − 1)
 *    standard deviation; the image is mapped to z = (x − μ_ws)/σ_ws.
 * Here z is then put on the reference site's scale, out = μ_ref + σ_ref · z (μ_ref, σ_ref: means of
 * the reference subjects' μ_ws, σ_ws), so every harmonizer's output is in reference units.
 *
 * Defaults differ from the package for whole-head images (no skull stripping): the brightest tall
 * peak of a head is scalp fat, not white matter, so the default is the tallest peak above the
 * foreground median — on T1 white matter is the most common tissue brighter than the median.
 */
import { VoxshiftError } from '../volumes/errors.ts';
import type { Volume } from '../volumes/volume.ts';
import { checkIntensityVolume, checkModality, foregroundMask, maskedValues, volumeName } from './foreground.ts';
import type { WhiteStripeModel, WhiteStripeParameters } from './model.ts';
import { percentilesOfSorted, sortedCopy } from './piecewise.ts';
import { harmonizedVolume, intensityHeader, prepareSites, type SiteVolumes } from './sites.ts';

export type WhiteStripeOptions = Partial<Pick<WhiteStripeParameters, 'peak' | 'voiPercentile' | 'width' | 'bins' | 'smoothing' | 'rarePeak'>>;

export const WHITESTRIPE_DEFAULTS: Required<WhiteStripeOptions> = {
  peak: 'largest',
  voiPercentile: 50,
  width: 0.05,
  bins: 128,
  smoothing: 2,
  rarePeak: 0.2,
};

export interface WhiteStripe {
  /** The white-matter peak (intensity). */
  peak: number;
  /** Stripe bounds (intensities) and the quantiles of the voxels of interest they sit at. */
  lower: number;
  upper: number;
  quantile: number;
  mean: number;
  std: number;
  voxels: number;
}

function resolveOptions(o: WhiteStripeOptions): Required<WhiteStripeOptions> {
  const r = { ...WHITESTRIPE_DEFAULTS, ...o };
  const bad = (param: string, what: string, v: unknown): never => {
    throw new VoxshiftError('INVALID_ARGUMENT', `${param} must be ${what}, got ${JSON.stringify(v)}`, { param });
  };
  if (r.peak !== 'largest' && r.peak !== 'last') bad('peak', "'largest' or 'last'", r.peak);
  if (!(r.voiPercentile >= 0 && r.voiPercentile < 100)) bad('voiPercentile', 'a number in [0, 100)', r.voiPercentile);
  if (!(r.width > 0 && r.width <= 0.5)) bad('width', 'a number in (0, 0.5]', r.width);
  if (!(Number.isInteger(r.bins) && r.bins >= 16 && r.bins <= 65536)) bad('bins', 'an integer in [16, 65536]', r.bins);
  if (!(r.smoothing >= 0 && r.smoothing <= r.bins / 4)) bad('smoothing', `a number in [0, bins/4]`, r.smoothing);
  if (!(r.rarePeak >= 0 && r.rarePeak <= 1)) bad('rarePeak', 'a number in [0, 1]', r.rarePeak);
  return r;
}

function smooth(h: Float64Array, sigma: number): Float64Array {
  if (sigma === 0) return Float64Array.from(h);
  const radius = Math.ceil(3 * sigma);
  const w = Array.from({ length: 2 * radius + 1 }, (_, t) => Math.exp(-0.5 * ((t - radius) / sigma) ** 2));
  const out = new Float64Array(h.length);
  for (let b = 0; b < h.length; b++) {
    let acc = 0;
    let norm = 0;
    for (let t = -radius; t <= radius; t++) {
      const q = b + t;
      if (q < 0 || q >= h.length) continue;
      acc += w[t + radius] * h[q];
      norm += w[t + radius];
    }
    out[b] = acc / norm;
  }
  return out;
}

/** Finds the white stripe of one image's foreground values (see the module comment). */
export function findWhiteStripe(values: Float64Array, options: WhiteStripeOptions, name: string): WhiteStripe {
  const o = resolveOptions(options);
  const sorted = sortedCopy(values);
  if (sorted.length < 10) {
    throw new VoxshiftError('INVALID_VOLUME', `${name}: only ${sorted.length} foreground voxels; WhiteStripe needs a histogram`, { param: 'volume', details: { name } });
  }
  const [thr, lo, hi] = percentilesOfSorted(sorted, [o.voiPercentile, 0.5, 99.5]);
  if (!(hi > lo)) {
    throw new VoxshiftError('INVALID_VOLUME', `${name}: the foreground is constant (${lo}); no white-matter peak to find`, { param: 'volume', details: { name } });
  }
  // The histogram covers the whole foreground so a peak straddling the threshold keeps both flanks;
  // only its position must lie above the threshold.
  const counts = new Float64Array(o.bins);
  const scale = o.bins / (hi - lo);
  for (let i = 0; i < sorted.length; i++) {
    const v = sorted[i];
    if (v < lo || v > hi) continue;
    counts[Math.min(o.bins - 1, Math.floor((v - lo) * scale))]++;
  }
  const s = smooth(counts, o.smoothing);
  const centre = (b: number): number => lo + (b + 0.5) / scale;
  const peaks: number[] = [];
  for (let b = 1; b < o.bins - 1; b++) if (s[b] > s[b - 1] && s[b] >= s[b + 1] && centre(b) > thr) peaks.push(b);
  let best: number;
  if (peaks.length === 0) {
    // No peak above the threshold (a monotone tail): the tallest bin above it.
    best = -1;
    for (let b = 0; b < o.bins; b++) if (centre(b) > thr && (best < 0 || s[b] > s[best])) best = b;
    if (best < 0) best = o.bins - 1;
  } else {
    const tallest = Math.max(...peaks.map((b) => s[b]));
    const tall = peaks.filter((b) => s[b] >= o.rarePeak * tallest);
    best = o.peak === 'last' ? tall[tall.length - 1] : tall.reduce((a, b) => (s[b] > s[a] ? b : a));
  }
  const peak = centre(best);
  let below = 0;
  while (below < sorted.length && sorted[below] < peak) below++;
  const u = below / sorted.length;
  const [lower, upper] = percentilesOfSorted(sorted, [Math.max(u - o.width, 0) * 100, Math.min(u + o.width, 1) * 100]);
  let n = 0;
  let sum = 0;
  for (let i = 0; i < sorted.length; i++) {
    const v = sorted[i];
    if (v > lower && v < upper) {
      n++;
      sum += v;
    }
  }
  if (n < 2) {
    throw new VoxshiftError('INVALID_VOLUME', `${name}: the white stripe holds ${n} voxel(s); the image's intensities are too coarse for WhiteStripe`, {
      param: 'volume',
      details: { name, lower, upper },
    });
  }
  const mean = sum / n;
  let ss = 0;
  for (let i = 0; i < sorted.length; i++) {
    const v = sorted[i];
    if (v > lower && v < upper) ss += (v - mean) ** 2;
  }
  const std = Math.sqrt(ss / (n - 1));
  if (!(std > 0)) {
    throw new VoxshiftError('INVALID_VOLUME', `${name}: the white stripe is constant (${mean})`, { param: 'volume', details: { name } });
  }
  return { peak, lower, upper, quantile: u, mean, std, voxels: n };
}

export function fitWhiteStripe(sites: SiteVolumes, reference: string, options: WhiteStripeOptions = {}): WhiteStripeModel {
  const o = resolveOptions(options);
  const p = prepareSites(sites, reference);
  const ref = p.bySite.get(reference) ?? [];
  const stripes = ref.map((s) => findWhiteStripe(maskedValues(s.volume, s.mask()), o, s.name));
  const mean = stripes.reduce((a, w) => a + w.mean, 0) / stripes.length;
  const std = stripes.reduce((a, w) => a + w.std, 0) / stripes.length;
  return { ...intensityHeader(p), method: 'whitestripe', parameters: { ...o, mean, std } };
}

export function applyWhiteStripe(model: WhiteStripeModel, volume: Volume, options: { mask?: Volume | Uint8Array } = {}): Volume<Float32Array> {
  const name = volumeName(volume, 'volume');
  checkIntensityVolume(volume, name);
  checkModality(volume, model.modality, name);
  const { mean, std, ...o } = model.parameters;
  const w = findWhiteStripe(maskedValues(volume, foregroundMask(volume, name, options.mask)), o, name);
  const src = volume.data;
  const out = new Float32Array(src.length);
  const k = std / w.std;
  for (let p = 0; p < src.length; p++) out[p] = mean + (src[p] - w.mean) * k;
  return harmonizedVolume(volume, out, model, { stripe: w });
}
