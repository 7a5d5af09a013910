/**
 * How voxel values become 16-bit stored pixel values: real = stored × RescaleSlope + RescaleIntercept.
 * Integer data that fits int16 or uint16 is stored as is (slope 1, intercept 0); integer data whose
 * range fits 65536 values is stored as uint16 with the minimum as intercept; both are lossless.
 * Anything else (fractions, wider ranges) is quantised: uint16 with slope ≈ range / 65000, so the
 * error is at most slope / 2 and is reported.
 */
import { VoxshiftError } from '../errors.ts';
import type { VolumeKind, VoxelArray } from '../volume.ts';
import { formatDs } from './dicom-writer-encode.ts';

export interface PixelEncoding {
  signed: boolean;
  slope: number;
  intercept: number;
  /** The DS strings written for slope and intercept (the values above are these, parsed). */
  slopeDs: string;
  interceptDs: string;
  lossless: boolean;
  /** Largest |decoded − original| over all voxels (0 when lossless). */
  maxAbsError: number;
  min: number;
  max: number;
}

/** Steps used by the quantised encoding; below 65535 so DS rounding of slope/intercept cannot overflow. */
const QUANT_STEPS = 65000;

function scan(data: VoxelArray, param: string): { min: number; max: number; integers: boolean } {
  let min = Infinity;
  let max = -Infinity;
  let integers = true;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (!Number.isFinite(v)) {
      throw new VoxshiftError('NON_FINITE_VALUES', `voxel ${i} is ${v}; DICOM pixel data must be finite`, {
        param,
        details: { index: i, value: String(v) },
      });
    }
    if (v < min) min = v;
    if (v > max) max = v;
    if (integers && !Number.isInteger(v)) integers = false;
  }
  return { min, max, integers };
}

function exact(signed: boolean, min: number, max: number, intercept = 0): PixelEncoding {
  return { signed, slope: 1, intercept, slopeDs: '1', interceptDs: formatDs(intercept), lossless: true, maxAbsError: 0, min, max };
}

export function choosePixelEncoding(data: VoxelArray, kind: VolumeKind, param = 'vol.data'): PixelEncoding {
  const { min, max, integers } = scan(data, param);
  if (integers && min >= -32768 && max <= 32767) return exact(true, min, max);
  if (integers && min >= 0 && max <= 65535) return exact(false, min, max);
  if (kind === 'label') {
    throw new VoxshiftError(
      'INVALID_VOLUME',
      integers
        ? `label values span ${min}..${max}; DICOM labels must fit int16 (-32768..32767) or uint16 (0..65535)`
        : 'label volume holds non-integer values; labels must be integers',
      { param, details: { min, max } },
    );
  }
  if (integers && max - min <= 65535 && Number.isSafeInteger(min)) return exact(false, min, max, min);
  const interceptDs = formatDs(min);
  const intercept = Number(interceptDs);
  const range = max - min;
  let slopeDs = formatDs(range > 0 ? range / QUANT_STEPS : 1);
  if (Number(slopeDs) <= 0) slopeDs = formatDs(Number.MIN_VALUE * 1e10);
  const slope = Number(slopeDs);
  let maxAbsError = 0;
  for (let i = 0; i < data.length; i++) {
    const s = Math.min(65535, Math.max(0, Math.round((data[i] - intercept) / slope)));
    const err = Math.abs(s * slope + intercept - data[i]);
    if (err > maxAbsError) maxAbsError = err;
  }
  return { signed: false, slope, intercept, slopeDs, interceptDs, lossless: maxAbsError === 0, maxAbsError, min, max };
}

/** The stored 16-bit values of voxels [start, start + count) as little-endian bytes. */
export function encodePixels(data: VoxelArray, start: number, count: number, enc: PixelEncoding): Uint8Array {
  const out = new Uint8Array(count * 2);
  const dv = new DataView(out.buffer);
  const lo = enc.signed ? -32768 : 0;
  const hi = enc.signed ? 32767 : 65535;
  for (let n = 0; n < count; n++) {
    const stored = Math.min(hi, Math.max(lo, Math.round((data[start + n] - enc.intercept) / enc.slope)));
    if (enc.signed) dv.setInt16(n * 2, stored, true);
    else dv.setUint16(n * 2, stored, true);
  }
  return out;
}
