/**
 * The foreground the intensity harmonizers fit and measure in, and the checks every harmonizer
 * makes on its input volumes (intensity, one channel, finite, one modality, a non-empty mask).
 *
 * Foreground: the caller's mask (non-zero voxels) when given, else validation/masks.ts's bodyMask
 * (Otsu's threshold, largest component, holes filled per slice). Background air carries no site
 * information worth matching and would dominate every histogram, so it is left out of fitting; the
 * fitted map is still applied to every voxel, so the output has no seam at the mask border.
 */
import { bodyMask } from '../validation/masks.ts';
import { VoxshiftError } from '../volumes/errors.ts';
import type { Modality, Volume } from '../volumes/volume.ts';
import { voxelCount } from '../volumes/volume.ts';

/** How an intensity harmonizer finds the voxels it fits to (stored in the model). */
export type MaskSpec = { type: 'body' };

export const DEFAULT_MASK: MaskSpec = { type: 'body' };

/** The name used in error messages: the file the volume came from, else `fallback`. */
export function volumeName(vol: Volume, fallback: string): string {
  return vol.meta.source ?? fallback;
}

/** Refuses label maps, several channels and non-finite voxels, naming the volume. */
export function checkIntensityVolume(vol: Volume, name: string): void {
  if (vol === null || typeof vol !== 'object' || !ArrayBuffer.isView(vol.data)) {
    throw new VoxshiftError('INVALID_ARGUMENT', `${name}: expected a Volume`, { param: 'volume', details: { name } });
  }
  if (vol.kind === 'label') {
    throw new VoxshiftError('INVALID_ARGUMENT', `${name} is a label map; harmonizers take intensity images`, { param: 'volume', details: { name } });
  }
  if (vol.channels !== 1) {
    throw new VoxshiftError('INVALID_ARGUMENT', `${name} has ${vol.channels} channels; harmonizers take one-channel volumes`, {
      param: 'volume',
      details: { name, channels: vol.channels },
    });
  }
  const d = vol.data;
  for (let p = 0; p < d.length; p++) {
    const v = d[p];
    if (v - v !== 0) {
      throw new VoxshiftError('NON_FINITE_VALUES', `${name}: voxel ${p} is ${v}; harmonizers need finite intensities`, {
        param: 'volume',
        details: { name, index: p, value: String(v) },
      });
    }
  }
}

/**
 * The modality all `volumes` share ('unknown' ones take the others'); different known modalities
 * are an error naming the first that differs.
 */
export function commonModality(volumes: readonly { name: string; volume: Volume }[]): Modality {
  let found: { name: string; modality: Modality } | undefined;
  for (const { name, volume } of volumes) {
    const m = volume.modality;
    if (m === 'unknown') continue;
    if (found === undefined) found = { name, modality: m };
    else if (found.modality !== m) {
      throw new VoxshiftError(
        'INVALID_ARGUMENT',
        `mismatched modalities: ${found.name} is ${found.modality} but ${name} is ${m}; harmonize volumes of one modality (and contrast) at a time`,
        { param: 'volumes', details: { first: found.modality, other: m, name } },
      );
    }
  }
  return found?.modality ?? 'unknown';
}

/** Checks an input volume against the modality a model was fitted on. */
export function checkModality(vol: Volume, expected: Modality, name: string): void {
  if (expected !== 'unknown' && vol.modality !== 'unknown' && vol.modality !== expected) {
    throw new VoxshiftError('INVALID_ARGUMENT', `${name} is ${vol.modality} but the harmonizer was fitted on ${expected} images`, {
      param: 'volume',
      details: { expected, received: vol.modality, name },
    });
  }
}

/**
 * The foreground mask (1 inside) of `vol`: `given` (same voxel count, non-zero = inside) or the
 * body mask. An empty mask is an error: there is nothing to fit or standardise.
 */
export function foregroundMask(vol: Volume, name: string, given?: Volume | Uint8Array): Uint8Array {
  const n = voxelCount(vol.shape);
  let mask: Uint8Array;
  if (given !== undefined) {
    const data = ArrayBuffer.isView(given) ? given : given.data;
    if (data.length !== n) {
      throw new VoxshiftError('GEOMETRY_MISMATCH', `${name}: the mask has ${data.length} voxels but the volume has ${n} (${vol.shape.join('×')})`, {
        param: 'mask',
        details: { name, maskVoxels: data.length, volumeVoxels: n },
      });
    }
    mask = new Uint8Array(n);
    for (let p = 0; p < n; p++) mask[p] = data[p] !== 0 ? 1 : 0;
  } else {
    mask = bodyMask(vol).data;
  }
  let count = 0;
  for (let p = 0; p < n; p++) count += mask[p];
  if (count === 0) {
    throw new VoxshiftError('INVALID_VOLUME', `${name}: the foreground mask is empty; nothing to fit or standardise (is the image constant or all background?)`, {
      param: 'mask',
      details: { name },
    });
  }
  return mask;
}

/** The masked voxel values as float64 (in voxel order). */
export function maskedValues(vol: Volume, mask: Uint8Array): Float64Array {
  let count = 0;
  for (let p = 0; p < mask.length; p++) count += mask[p];
  const out = new Float64Array(count);
  const d = vol.data;
  let k = 0;
  for (let p = 0; p < mask.length; p++) if (mask[p] !== 0) out[k++] = d[p];
  return out;
}
