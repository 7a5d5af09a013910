/**
 * Turns the raw NIfTI payload into a voxshift typed array: one byte-swap loop when the byte order
 * differs from the host, a typed-array view (no copy) when the bytes are ours and aligned, planar
 * channels for RGB, float64 for 64-bit integers, and the scl_slope/scl_inter scaling.
 */
import type { VolumeWarning, VoxelArray } from '../volume.ts';
import type { NiftiDatatype } from './nifti-datatypes.ts';

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Reverses the bytes of each `size`-byte element in place (`bytes` must be `size`-aligned). */
export function swapBytesInPlace(bytes: Uint8Array, size: number): void {
  if (size === 1) return;
  const count = bytes.length / size;
  if (size === 2) {
    const u = new Uint16Array(bytes.buffer, bytes.byteOffset, count);
    for (let i = 0; i < count; i++) {
      const v = u[i];
      u[i] = ((v & 0xff) << 8) | (v >>> 8);
    }
    return;
  }
  const u = new Uint32Array(bytes.buffer, bytes.byteOffset, (count * size) / 4);
  if (size === 4) {
    for (let i = 0; i < count; i++) {
      const v = u[i];
      u[i] = ((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24);
    }
    return;
  }
  // 8 bytes: swap each 32-bit half and exchange the halves.
  for (let i = 0; i < u.length; i += 2) {
    const a = u[i];
    const b = u[i + 1];
    u[i] = ((b & 0xff) << 24) | ((b & 0xff00) << 8) | ((b >>> 8) & 0xff00) | (b >>> 24);
    u[i + 1] = ((a & 0xff) << 24) | ((a & 0xff00) << 8) | ((a >>> 8) & 0xff00) | (a >>> 24);
  }
}

function typedView(dtype: NonNullable<NiftiDatatype['dtype']>, buffer: ArrayBufferLike, offset: number, length: number): VoxelArray {
  switch (dtype) {
    case 'uint8':
      return new Uint8Array(buffer, offset, length);
    case 'int8':
      return new Int8Array(buffer, offset, length);
    case 'uint16':
      return new Uint16Array(buffer, offset, length);
    case 'int16':
      return new Int16Array(buffer, offset, length);
    case 'uint32':
      return new Uint32Array(buffer, offset, length);
    case 'int32':
      return new Int32Array(buffer, offset, length);
    case 'float32':
      return new Float32Array(buffer, offset, length);
    case 'float64':
      return new Float64Array(buffer, offset, length);
  }
}

/** Planar channels from interleaved components (RGBRGB... per volume, volumes in turn). */
function deinterleave(src: Uint8Array, components: number, voxels: number, volumes: number): Uint8Array {
  const out = new Uint8Array(src.length);
  for (let t = 0; t < volumes; t++) {
    const base = t * voxels * components;
    for (let c = 0; c < components; c++) {
      const dst = (t * components + c) * voxels;
      for (let v = 0, s = base + c; v < voxels; v++, s += components) out[dst + v] = src[s];
    }
  }
  return out;
}

function int64ToFloat64(words: Uint32Array, count: number, signed: boolean): { data: Float64Array; lossy: boolean } {
  const out = new Float64Array(count);
  let lossy = false;
  // |value| <= 2^53 is exact in a double: the high word must lie in [-2^21, 2^21).
  const limit = 2 ** 21;
  for (let i = 0; i < count; i++) {
    const lo = words[2 * i];
    const hi = signed ? words[2 * i + 1] | 0 : words[2 * i + 1];
    if (hi >= limit || hi < -limit) lossy = true;
    out[i] = hi * 4294967296 + lo;
  }
  return { data: out, lossy };
}

export interface DecodeInput {
  /** Exactly the payload bytes (voxels × bytes per voxel). */
  payload: Uint8Array;
  datatype: NiftiDatatype;
  littleEndian: boolean;
  /** Voxels per volume (nx·ny·nz). */
  voxels: number;
  /** Volumes (product of dims 4..7). */
  volumes: number;
  /** The payload's memory belongs to us: it may be swapped in place and viewed without a copy. */
  owned: boolean;
}

export function decodeVoxels(input: DecodeInput, warnings: VolumeWarning[]): VoxelArray {
  const { datatype: dt, voxels, volumes } = input;
  const count = voxels * volumes;
  if (dt.components !== undefined) return deinterleave(input.payload, dt.components, voxels, volumes);
  const size = dt.bytes;
  let bytes = input.payload;
  const swap = input.littleEndian !== HOST_LITTLE_ENDIAN && size > 1;
  if (!input.owned || bytes.byteOffset % size !== 0) bytes = bytes.slice();
  if (swap) swapBytesInPlace(bytes, size);
  if (dt.int64 !== undefined) {
    const words = new Uint32Array(bytes.buffer, bytes.byteOffset, count * 2);
    const { data, lossy } = int64ToFloat64(words, count, dt.int64 === 'signed');
    warnings.push({
      code: lossy ? 'NIFTI_INT64_PRECISION_LOST' : 'NIFTI_INT64_AS_FLOAT64',
      message: lossy
        ? `${dt.name} voxels were converted to float64 and some exceed 2^53, so they lost precision`
        : `${dt.name} voxels were converted to float64 (all values are exact)`,
    });
    return data;
  }
  return typedView(dt.dtype ?? 'uint8', bytes.buffer, bytes.byteOffset, count);
}

/** value·slope + inter into float32 (float64 when the source is float64). */
export function applyScaling(raw: VoxelArray, slope: number, inter: number): Float32Array | Float64Array {
  const out = raw instanceof Float64Array ? new Float64Array(raw.length) : new Float32Array(raw.length);
  const n = raw.length;
  for (let i = 0; i < n; i++) out[i] = raw[i] * slope + inter;
  return out;
}
