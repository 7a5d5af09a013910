/**
 * Intensity normalisations with an exact inverse. A normalisation is a small JSON-serialisable
 * object (stored in model checkpoints) that maps an interval [low, high] of the input linearly onto
 * [−1, 1] and clips values outside it:
 *
 *   y = clamp(2·(x − low)/(high − low) − 1, −1, 1)        x = low + (y + 1)·(high − low)/2
 *
 * - `ct-window`: low/high are fixed Hounsfield units (e.g. −1024..3000).
 * - `mr-percentile`: low/high are the p[0] and p[1] percentiles of the foreground voxels, fitted
 *   per volume by fitNormalization (robust scaling, as nnU-Net / TorchIO's RescaleIntensity with
 *   percentiles do).
 *
 * Clipping is the only loss: invert(apply(x)) = x up to float32 rounding for x inside [low, high],
 * and = low or high for x outside.
 */
import { VoxshiftError } from './errors.ts';
import { intensityStats } from './stats.ts';
import type { Mask } from './stats.ts';
import { deriveVolume } from './volume.ts';
import type { IntensityUnits, Volume } from './volume.ts';

export interface CtWindowNormalization {
  type: 'ct-window';
  lower: number;
  upper: number;
}

export interface MrPercentileNormalization {
  type: 'mr-percentile';
  /** Percentiles (in [0, 100]) that were mapped to −1 and 1. */
  p: [number, number];
  /** The fitted intensities at those percentiles. */
  low: number;
  high: number;
}

export type Normalization = CtWindowNormalization | MrPercentileNormalization;

/** What to fit: a CT window is already complete; a percentile spec needs a volume. */
export type NormalizationSpec =
  | CtWindowNormalization
  | {
      type: 'mr-percentile';
      p?: readonly [number, number];
      /** Foreground = voxels strictly above this value when no mask is given (default 0, nnU-Net's "nonzero"). */
      threshold?: number;
    };

export const DEFAULT_CT_WINDOW: CtWindowNormalization = { type: 'ct-window', lower: -1024, upper: 3000 };
export const DEFAULT_MR_PERCENTILES: readonly [number, number] = [0.5, 99.5];

function bad(message: string, received: unknown): VoxshiftError {
  return new VoxshiftError('INVALID_ARGUMENT', message, { param: 'normalization', details: { received } });
}

/** Checks an object (e.g. read from a checkpoint manifest) and returns it as a Normalization. */
export function validateNormalization(value: unknown): Normalization {
  const v = value as Record<string, unknown> | null;
  if (v === null || typeof v !== 'object') throw bad(`normalization must be an object, got ${JSON.stringify(value)}`, value);
  if (v.type === 'ct-window') {
    const { lower, upper } = v;
    if (typeof lower !== 'number' || typeof upper !== 'number' || !Number.isFinite(lower) || !Number.isFinite(upper) || !(upper > lower)) {
      throw bad(`ct-window needs finite lower < upper, got lower=${String(lower)}, upper=${String(upper)}`, value);
    }
    return { type: 'ct-window', lower, upper };
  }
  if (v.type === 'mr-percentile') {
    const { p, low, high } = v;
    if (!Array.isArray(p) || p.length !== 2 || !(p[0] >= 0 && p[0] < p[1] && p[1] <= 100)) {
      throw bad(`mr-percentile needs p = [lo, hi] with 0 <= lo < hi <= 100, got ${JSON.stringify(p)}`, value);
    }
    if (typeof low !== 'number' || typeof high !== 'number' || !Number.isFinite(low) || !Number.isFinite(high) || !(high > low)) {
      throw bad(`mr-percentile needs finite low < high, got low=${String(low)}, high=${String(high)}`, value);
    }
    return { type: 'mr-percentile', p: [p[0], p[1]], low, high };
  }
  throw bad(`normalization type must be 'ct-window' or 'mr-percentile', got ${JSON.stringify(v.type)}`, value);
}

function bounds(norm: Normalization): [number, number] {
  return norm.type === 'ct-window' ? [norm.lower, norm.upper] : [norm.low, norm.high];
}

/**
 * Completes a spec into a Normalization. For 'mr-percentile', low/high are the percentiles of the
 * voxels inside `mask` (non-zero) or, without a mask, of the voxels above `threshold`.
 * Throws INVALID_VOLUME when there is no foreground or it is constant.
 */
export function fitNormalization(vol: Volume, spec: NormalizationSpec, mask?: Mask): Normalization {
  if (spec === null || typeof spec !== 'object') throw bad(`normalization spec must be an object`, spec);
  if (spec.type === 'ct-window') return validateNormalization(spec);
  if (spec.type !== 'mr-percentile') return validateNormalization(spec);
  if (vol.kind === 'label') {
    throw new VoxshiftError('INVALID_ARGUMENT', 'cannot fit an intensity normalization to a label volume', { param: 'volume' });
  }
  const p = spec.p ?? DEFAULT_MR_PERCENTILES;
  const threshold = spec.threshold ?? 0;
  let fg: Mask;
  if (mask !== undefined) fg = mask;
  else {
    const n = vol.shape[0] * vol.shape[1] * vol.shape[2];
    const m = new Uint8Array(n);
    const d = vol.data;
    for (let i = 0; i < n; i++) m[i] = d[i] > threshold ? 1 : 0;
    fg = m;
  }
  const stats = intensityStats(vol, fg);
  if (stats.count === 0) {
    throw new VoxshiftError('INVALID_VOLUME', `no foreground voxels to fit the normalization (${mask ? 'mask is empty' : `no value > ${threshold}`})`, {
      param: 'volume',
      ...(vol.meta.source !== undefined ? { file: vol.meta.source } : {}),
    });
  }
  const [low, high] = stats.percentiles([p[0], p[1]]);
  if (!(high > low)) {
    throw new VoxshiftError('INVALID_VOLUME', `foreground intensities are constant between the ${p[0]} and ${p[1]} percentiles (${low}); cannot scale`, {
      param: 'volume',
      ...(vol.meta.source !== undefined ? { file: vol.meta.source } : {}),
    });
  }
  return validateNormalization({ type: 'mr-percentile', p: [p[0], p[1]], low, high });
}

/** Maps the volume to [−1, 1] (float32, units 'normalized'); see the file comment. */
export function applyNormalization(vol: Volume, norm: Normalization): Volume<Float32Array> {
  const nrm = validateNormalization(norm);
  if (vol.kind === 'label') {
    throw new VoxshiftError('INVALID_ARGUMENT', 'cannot apply an intensity normalization to a label volume', { param: 'volume' });
  }
  const [low, high] = bounds(nrm);
  // (2x − (low + high))/(high − low): exact at low, high and the centre (no 1 − 1 cancellation).
  const sum = low + high;
  const range = high - low;
  const src = vol.data;
  const out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const y = (2 * src[i] - sum) / range;
    // NaN stays NaN (neither comparison holds); assertFinite is the place to reject it.
    out[i] = y < -1 ? -1 : y > 1 ? 1 : y;
  }
  return deriveVolume<Float32Array>(vol, { data: out, meta: { ...vol.meta, units: 'normalized' } }, { op: 'normalize', params: { ...nrm } });
}

/**
 * Maps normalised values back to intensities (float32). Units default to 'HU' for ct-window and
 * 'arbitrary' for mr-percentile. Values outside [−1, 1] are mapped linearly too (not clipped), so a
 * model's slight overshoot stays visible.
 */
export function invertNormalization(vol: Volume, norm: Normalization, options: { units?: IntensityUnits } = {}): Volume<Float32Array> {
  const nrm = validateNormalization(norm);
  const [low, high] = bounds(nrm);
  const sum = low + high;
  const range = high - low;
  const src = vol.data;
  const out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = (range * src[i] + sum) / 2;
  const units = options.units ?? (nrm.type === 'ct-window' ? 'HU' : 'arbitrary');
  return deriveVolume<Float32Array>(vol, { data: out, meta: { ...vol.meta, units } }, { op: 'denormalize', params: { ...nrm, units } });
}
