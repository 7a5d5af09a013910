/**
 * A training volume of one domain (e.g. MR or CT) ready for patch sampling: one channel, normalised
 * to [−1, 1] (the generators end in tanh), with its body mask for foreground-weighted sampling and
 * the normalization that produced it (stored in checkpoints, inverted at inference).
 */
import { bodyMask } from '../../validation/masks.ts';
import { VoxshiftError } from '../../volumes/errors.ts';
import { applyNormalization, DEFAULT_CT_WINDOW, DEFAULT_MR_PERCENTILES, fitNormalization, validateNormalization } from '../../volumes/normalize.ts';
import type { Normalization, NormalizationSpec } from '../../volumes/normalize.ts';
import type { Modality, Volume } from '../../volumes/volume.ts';
import { encodeLabelMap, isLabelEncoding, labelEncodingNormalization, type DomainNormalizationSpec, type LabelEncodingSpec } from './label-encoding.ts';

export interface DomainVolume {
  /** Names the volume in errors and in batch picks (a file path or subject id). */
  name: string;
  /** Normalised voxels in [−1, 1], one channel, x fastest. */
  data: Float32Array;
  shape: [number, number, number];
  spacing: [number, number, number];
  /** 1 = body (validation/masks bodyMask of the original), 0 = background; same layout as `data`. */
  foreground: Uint8Array;
  normalization: Normalization;
  /** The original volume, for geometry checks. */
  source: Volume;
}

/** CT: the default HU window; any other modality: robust percentiles [0.5, 99.5]. */
export function defaultNormalizationSpec(modality: Modality): NormalizationSpec {
  if (modality === 'CT') return { ...DEFAULT_CT_WINDOW };
  return { type: 'mr-percentile', p: [DEFAULT_MR_PERCENTILES[0], DEFAULT_MR_PERCENTILES[1]] };
}

function invalid(name: string, message: string, details?: Record<string, unknown>): VoxshiftError {
  return new VoxshiftError('INVALID_VOLUME', `${name}: ${message}`, { param: 'volume', details: { name, ...details } });
}

/**
 * Checks, masks and normalises a volume for training. Refuses label volumes, more than one channel
 * and non-finite voxels (each error names `name`). For an 'mr-percentile' spec without an explicit
 * `threshold`, the percentiles are taken inside the body mask (so background noise does not set the
 * low end); with a threshold, over the voxels above it, as fitNormalization does.
 *
 * A `{ type: 'labels', classes }` spec takes an integer label map instead (kind 'label' or
 * 'intensity'; values outside `classes` are refused): see label-encoding.ts. Its foreground is every
 * voxel not of the first class.
 */
export function prepareDomainVolume(volume: Volume, spec: DomainNormalizationSpec, name: string): DomainVolume {
  if (typeof name !== 'string' || name.length === 0) {
    throw new VoxshiftError('INVALID_ARGUMENT', `name must be a non-empty string, got ${JSON.stringify(name)}`, { param: 'name' });
  }
  if (volume === null || typeof volume !== 'object' || !ArrayBuffer.isView(volume.data) || !Array.isArray(volume.shape)) {
    throw new VoxshiftError('INVALID_ARGUMENT', `${name}: expected a Volume (data, shape, ...)`, { param: 'volume', details: { name } });
  }
  if (isLabelEncoding(spec)) return prepareLabelDomainVolume(volume, spec, name);
  if (volume.kind === 'label') {
    throw invalid(name, 'is a label volume; training domains need intensity volumes (kind "intensity")', { kind: volume.kind });
  }
  if (volume.channels !== 1) {
    throw invalid(name, `has ${volume.channels} channels; a domain volume has exactly 1 (split the channels first)`, {
      channels: volume.channels,
    });
  }
  const [nx, ny] = volume.shape;
  const src = volume.data;
  for (let p = 0; p < src.length; p++) {
    const v = src[p];
    if (v - v !== 0) {
      const ijk = [p % nx, Math.floor(p / nx) % ny, Math.floor(p / (nx * ny))];
      throw new VoxshiftError('NON_FINITE_VALUES', `${name}: voxel [${ijk.join(', ')}] is ${v}; training volumes must be finite`, {
        param: 'volume',
        details: { name, index: ijk, value: String(v) },
      });
    }
  }
  const foreground = bodyMask(volume).data;
  const useMask = spec !== null && typeof spec === 'object' && spec.type === 'mr-percentile' && spec.threshold === undefined;
  let normalization: Normalization;
  try {
    normalization = fitNormalization(volume, spec, useMask ? foreground : undefined);
  } catch (e) {
    if (e instanceof VoxshiftError) {
      throw new VoxshiftError(e.shortCode, `${name}: ${e.message}`, {
        ...(e.param !== undefined ? { param: e.param } : {}),
        details: { name, ...e.details },
        cause: e,
      });
    }
    throw e;
  }
  // applyNormalization clips to [−1, 1].
  return domainVolume(name, volume, applyNormalization(volume, normalization).data, foreground, normalization);
}

function domainVolume(name: string, volume: Volume, data: Float32Array, foreground: Uint8Array, normalization: DomainVolume['normalization']): DomainVolume {
  return {
    name,
    data,
    shape: [volume.shape[0], volume.shape[1], volume.shape[2]],
    spacing: [volume.spacing[0], volume.spacing[1], volume.spacing[2]],
    foreground,
    normalization,
    source: volume,
  };
}

function prepareLabelDomainVolume(volume: Volume, spec: LabelEncodingSpec, name: string): DomainVolume {
  const data = encodeLabelMap(volume, spec, name);
  const foreground = new Uint8Array(data.length);
  for (let p = 0; p < data.length; p++) foreground[p] = data[p] > -1 ? 1 : 0;
  return domainVolume(name, volume, data, foreground, labelEncodingNormalization(spec));
}

function median(values: number[]): number {
  const s = [...values].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * The one normalization of a domain, which inference inverts with: for 'ct-window' every window must
 * be the same; for 'mr-percentile' every p must be the same and low/high are the medians of the
 * per-volume values. Mixed types are an error.
 */
export function referenceNormalization(norms: Normalization[]): Normalization {
  if (!Array.isArray(norms) || norms.length === 0) {
    throw new VoxshiftError('INVALID_ARGUMENT', `norms must be a non-empty array of normalizations, got ${JSON.stringify(norms)}`, {
      param: 'norms',
    });
  }
  const all = norms.map((n) => validateNormalization(n));
  const first = all[0];
  const mixed = all.findIndex((n) => n.type !== first.type);
  if (mixed >= 0) {
    throw new VoxshiftError(
      'INVALID_ARGUMENT',
      `norms mix types: norms[0] is '${first.type}', norms[${mixed}] is '${all[mixed].type}'; one domain needs one normalization type`,
      { param: 'norms', details: { index: mixed } },
    );
  }
  if (first.type === 'ct-window') {
    for (let i = 1; i < all.length; i++) {
      const n = all[i];
      if (n.type === 'ct-window' && (n.lower !== first.lower || n.upper !== first.upper)) {
        throw new VoxshiftError(
          'INVALID_ARGUMENT',
          `norms[${i}] is the CT window [${n.lower}, ${n.upper}] but norms[0] is [${first.lower}, ${first.upper}]; every CT volume of a domain needs the same window`,
          { param: 'norms', details: { index: i } },
        );
      }
    }
    return { ...first };
  }
  const mr = all.filter((n) => n.type === 'mr-percentile');
  const p = mr[0].p;
  const other = mr.findIndex((n) => n.p[0] !== p[0] || n.p[1] !== p[1]);
  if (other >= 0) {
    throw new VoxshiftError(
      'INVALID_ARGUMENT',
      `norms[${other}] uses percentiles [${mr[other].p.join(', ')}] but norms[0] uses [${p.join(', ')}]; they must match`,
      { param: 'norms', details: { index: other } },
    );
  }
  // Each high > its low, so the median of the highs exceeds the median of the lows.
  return validateNormalization({ type: 'mr-percentile', p: [p[0], p[1]], low: median(mr.map((n) => n.low)), high: median(mr.map((n) => n.high)) });
}
