/**
 * Reads the fixed NIfTI-1 / NIfTI-2 / Analyze 7.5 header into plain numbers.
 *
 * nifti-reader-js parses most fields correctly, so we use it for those. We read ourselves what it gets
 * wrong or skips: the version/byte-order/magic detection (it throws plain Errors), the srow_* rows (it
 * only fills its `affine` with them when it prefers the sform, and prefers the qform when
 * qform_code > sform_code, unlike the standard), NIfTI-2 int64 fields (its big-endian int64 reader
 * mixes up the words), strings (it skips NULs instead of stopping at the first one) and extensions
 * (its walker can throw or loop on a bad esize).
 */
import { NIFTI1, NIFTI2 } from 'nifti-reader-js';
import { VoxshiftError } from '../errors.ts';

export type NiftiFlavour = 'nifti1' | 'nifti2' | 'analyze';

export interface NiftiExtensionInfo {
  code: number;
  size: number;
}

export interface NiftiHeader {
  flavour: NiftiFlavour;
  version: 1 | 2;
  /** Header size in bytes: 348 (NIfTI-1, Analyze) or 540 (NIfTI-2). */
  sizeofHdr: 348 | 540;
  littleEndian: boolean;
  /** true for .hdr/.img pairs (magic ni1/ni2, or Analyze). */
  pair: boolean;
  magic: string;
  /** dim[0..7] as stored. */
  dims: number[];
  datatype: number;
  bitpix: number;
  /** pixdim[0..7] as stored. */
  pixdim: number[];
  voxOffset: number;
  sclSlope: number;
  sclInter: number;
  xyztUnits: number;
  intentCode: number;
  intentName: string;
  description: string;
  qformCode: number;
  sformCode: number;
  /** quatern_b, quatern_c, quatern_d. */
  quatern: [number, number, number];
  qoffset: [number, number, number];
  /** srow_x, srow_y, srow_z (12 numbers, row-major 3×4). */
  srow: number[];
  extensions: NiftiExtensionInfo[];
}

const NIFTI1_SIZE = 348;
const NIFTI2_SIZE = 540;
const NIFTI2_MAGIC_TAIL = [0x00, 0x0d, 0x0a, 0x1a, 0x0a];

function cString(bytes: Uint8Array, start: number, length: number): string {
  let out = '';
  for (let i = start; i < start + length; i++) {
    const c = bytes[i];
    if (c === 0) break;
    out += String.fromCharCode(c);
  }
  return out;
}

function int64(view: DataView, offset: number, littleEndian: boolean): number {
  const lo = view.getUint32(offset + (littleEndian ? 0 : 4), littleEndian);
  const hi = view.getInt32(offset + (littleEndian ? 4 : 0), littleEndian);
  return hi * 2 ** 32 + lo;
}

/** Copies the header bytes into their own ArrayBuffer (nifti-reader-js wants an ArrayBuffer). */
function headerBuffer(bytes: Uint8Array, size: number): ArrayBuffer {
  const copy = new Uint8Array(size);
  copy.set(bytes.subarray(0, size));
  return copy.buffer;
}

interface Detected {
  sizeofHdr: 348 | 540;
  littleEndian: boolean;
}

function detect(bytes: Uint8Array, file: string): Detected {
  if (bytes.length < 4) {
    throw new VoxshiftError('NOT_NIFTI', `only ${bytes.length} bytes, too short for a NIfTI header`, { file });
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const littleEndian of [true, false]) {
    const size = view.getInt32(0, littleEndian);
    if (size === NIFTI1_SIZE || size === NIFTI2_SIZE) {
      if (bytes.length < size) {
        throw new VoxshiftError('TRUNCATED_FILE', `header says sizeof_hdr=${size} but the file has only ${bytes.length} bytes`, {
          file,
          details: { expectedBytes: size, actualBytes: bytes.length },
        });
      }
      return { sizeofHdr: size, littleEndian };
    }
  }
  throw new VoxshiftError(
    'NOT_NIFTI',
    `not a NIfTI or Analyze file: sizeof_hdr is ${view.getInt32(0, true)} (expected 348 or 540 in either byte order)`,
    { file },
  );
}

function readExtensions(bytes: Uint8Array, start: number, end: number, littleEndian: boolean): NiftiExtensionInfo[] {
  // Extensions are optional metadata: a malformed list is reported by stopping, never by failing the read.
  const out: NiftiExtensionInfo[] = [];
  if (start + 4 > bytes.length || bytes[start] === 0) return out;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let p = start + 4;
  const limit = Math.min(end, bytes.length);
  while (p + 8 <= limit) {
    const size = view.getInt32(p, littleEndian);
    if (size < 16 || size % 16 !== 0 || p + size > limit) break;
    out.push({ code: view.getInt32(p + 4, littleEndian), size });
    p += size;
  }
  return out;
}

/** Parses the header at the start of `bytes` (already decompressed). */
export function readNiftiHeader(bytes: Uint8Array, file: string): NiftiHeader {
  const { sizeofHdr, littleEndian } = detect(bytes, file);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (sizeofHdr === NIFTI1_SIZE) {
    const magic = cString(bytes, 344, 4);
    const flavour: NiftiFlavour = magic === 'n+1' || magic === 'ni1' ? 'nifti1' : 'analyze';
    const h = new NIFTI1();
    try {
      h.readHeader(headerBuffer(bytes, NIFTI1_SIZE));
    } catch (e) {
      throw new VoxshiftError('MALFORMED_HEADER', `cannot parse the NIfTI-1 header: ${(e as Error).message}`, { file, cause: e });
    }
    const srow: number[] = [];
    for (let i = 0; i < 12; i++) srow.push(view.getFloat32(280 + i * 4, littleEndian));
    const voxOffset = view.getFloat32(108, littleEndian);
    return {
      flavour,
      version: 1,
      sizeofHdr,
      littleEndian,
      pair: flavour === 'analyze' || magic === 'ni1',
      magic,
      dims: h.dims.slice(0, 8),
      datatype: h.datatypeCode,
      bitpix: h.numBitsPerVoxel,
      pixdim: h.pixDims.slice(0, 8),
      voxOffset,
      sclSlope: h.scl_slope,
      sclInter: h.scl_inter,
      xyztUnits: h.xyzt_units,
      intentCode: h.intent_code,
      intentName: cString(bytes, 328, 16),
      description: cString(bytes, 148, 80),
      qformCode: flavour === 'analyze' ? 0 : h.qform_code,
      sformCode: flavour === 'analyze' ? 0 : h.sform_code,
      quatern: [h.quatern_b, h.quatern_c, h.quatern_d],
      qoffset: [h.qoffset_x, h.qoffset_y, h.qoffset_z],
      srow,
      extensions:
        flavour === 'analyze' ? [] : readExtensions(bytes, NIFTI1_SIZE, magic === 'ni1' ? bytes.length : voxOffset, littleEndian),
    };
  }
  const magicOk = cString(bytes, 4, 4);
  const tailOk = NIFTI2_MAGIC_TAIL.every((b, i) => bytes[7 + i] === b);
  if ((magicOk !== 'n+2' && magicOk !== 'ni2') || !tailOk) {
    throw new VoxshiftError('NOT_NIFTI', `sizeof_hdr is 540 but the NIfTI-2 magic is missing (found "${magicOk}")`, { file });
  }
  const h = new NIFTI2();
  try {
    h.readHeader(headerBuffer(bytes, NIFTI2_SIZE));
  } catch (e) {
    throw new VoxshiftError('MALFORMED_HEADER', `cannot parse the NIfTI-2 header: ${(e as Error).message}`, { file, cause: e });
  }
  const dims: number[] = [];
  for (let i = 0; i < 8; i++) dims.push(int64(view, 16 + i * 8, littleEndian));
  const srow: number[] = [];
  for (let i = 0; i < 12; i++) srow.push(view.getFloat64(400 + i * 8, littleEndian));
  const voxOffset = int64(view, 168, littleEndian);
  return {
    flavour: 'nifti2',
    version: 2,
    sizeofHdr,
    littleEndian,
    pair: magicOk === 'ni2',
    magic: magicOk,
    dims,
    datatype: h.datatypeCode,
    bitpix: h.numBitsPerVoxel,
    pixdim: h.pixDims.slice(0, 8),
    voxOffset,
    sclSlope: h.scl_slope,
    sclInter: h.scl_inter,
    xyztUnits: h.xyzt_units,
    intentCode: h.intent_code,
    intentName: cString(bytes, 508, 16),
    description: cString(bytes, 240, 80),
    qformCode: h.qform_code,
    sformCode: h.sform_code,
    quatern: [h.quatern_b, h.quatern_c, h.quatern_d],
    qoffset: [h.qoffset_x, h.qoffset_y, h.qoffset_z],
    srow,
    extensions: readExtensions(bytes, NIFTI2_SIZE, magicOk === 'ni2' ? bytes.length : voxOffset, littleEndian),
  };
}

/** Header size in bytes if `bytes` starts like a NIfTI/Analyze header, else undefined (no throw). */
export function sniffHeaderSize(bytes: Uint8Array): 348 | 540 | undefined {
  if (bytes.length < 4) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const le of [true, false]) {
    const size = view.getInt32(0, le);
    if (size === NIFTI1_SIZE || size === NIFTI2_SIZE) return size;
  }
  return undefined;
}
