/**
 * Window/level to 8-bit grey for display (PNG montages), with DICOM's VOI LUT formula
 * (PS3.3 C.11.2.1.2.1, linear): with c = center, w = width (w >= 1),
 *   x <= c − 0.5 − (w − 1)/2  → 0
 *   x >  c − 0.5 + (w − 1)/2  → 255
 *   else                      → round(((x − (c − 0.5))/(w − 1) + 0.5) · 255)
 * NaN maps to 0.
 */
import { VoxshiftError } from './errors.ts';
import type { VoxelArray } from './volume.ts';

/** Common windows (center, width) in HU. */
export const CT_WINDOWS = {
  brain: { center: 40, width: 80 },
  softTissue: { center: 40, width: 400 },
  bone: { center: 400, width: 1800 },
  lung: { center: -600, width: 1500 },
} as const;

/** One uint8 per value of `image.data` (a volume, a slice, anything with voxels). */
export function windowLevel(image: { data: VoxelArray }, center: number, width: number): Uint8Array {
  if (!Number.isFinite(center)) {
    throw new VoxshiftError('INVALID_ARGUMENT', `window center must be finite, got ${center}`, { param: 'center' });
  }
  if (!(Number.isFinite(width) && width >= 1)) {
    throw new VoxshiftError('INVALID_ARGUMENT', `window width must be a finite number >= 1, got ${width}`, { param: 'width' });
  }
  const src = image.data;
  const out = new Uint8Array(src.length);
  const lo = center - 0.5 - (width - 1) / 2;
  const hi = center - 0.5 + (width - 1) / 2;
  const c = center - 0.5;
  const scale = width > 1 ? 255 / (width - 1) : 0;
  for (let i = 0; i < src.length; i++) {
    const x = src[i];
    if (x > hi) out[i] = 255;
    else if (x > lo) out[i] = Math.round((x - c) * scale + 127.5);
    // x <= lo and NaN stay 0.
  }
  return out;
}
