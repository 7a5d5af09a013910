/**
 * Volume → NIfTI-1 single-file bytes (.nii, or .nii.gz with `gzip`).
 *
 * - sform and qform both set: codes from meta.nifti when the volume came from a NIfTI file (a code of
 *   0 there takes the other's code), else 1 (scanner).
 * - qform quaternion from the direction (nifti_mat44_to_quatern); improper rotations get qfac = -1.
 * - vox_offset 352, no extensions, scl_slope 1 / scl_inter 0, xyzt_units mm, little-endian.
 * - kind 'label' → intent_code NIFTI_INTENT_LABEL (1002), which the reader maps back to 'label'.
 * - channels > 1 → dim[0] = 4 with nt = channels (planar order is NIfTI's file order).
 * NIfTI-1 stores geometry as float32, so it round-trips to float32 precision (~1e-7 relative).
 */
import { Gzip } from 'fflate';
import { affineOf, lpsToRasAffine } from '../affine.ts';
import { VoxshiftError } from '../errors.ts';
import { dtypeOf, type Volume } from '../volume.ts';
import { DATATYPE_CODE } from './nifti-datatypes.ts';
import { swapBytesInPlace } from './nifti-voxels.ts';

export interface EncodeNiftiOptions {
  gzip?: boolean;
  /** descrip field (79 ASCII characters at most); default meta.description. */
  description?: string;
}

const HEADER_BYTES = 352;
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export interface Quaternion {
  b: number;
  c: number;
  d: number;
  qfac: 1 | -1;
}

/** Quaternion (b, c, d) and qfac of a 3×3 row-major RAS direction matrix (columns = axis cosines). */
export function quaternionOf(dir: readonly number[]): Quaternion {
  const [r11, r12, s13, r21, r22, s23, r31, r32, s33] = dir;
  const det = r11 * (r22 * s33 - s23 * r32) - r12 * (r21 * s33 - s23 * r31) + s13 * (r21 * r32 - r22 * r31);
  // An improper rotation (det < 0) is stored as a proper one with the third column negated, qfac = -1.
  const qfac: 1 | -1 = det < 0 ? -1 : 1;
  const r13 = qfac * s13;
  const r23 = qfac * s23;
  const r33 = qfac * s33;
  let a = r11 + r22 + r33 + 1;
  let b: number;
  let c: number;
  let d: number;
  if (a > 0.5) {
    a = 0.5 * Math.sqrt(a);
    b = (0.25 * (r32 - r23)) / a;
    c = (0.25 * (r13 - r31)) / a;
    d = (0.25 * (r21 - r12)) / a;
  } else {
    const xd = 1 + r11 - (r22 + r33);
    const yd = 1 + r22 - (r11 + r33);
    const zd = 1 + r33 - (r11 + r22);
    if (xd > 1) {
      b = 0.5 * Math.sqrt(xd);
      c = (0.25 * (r12 + r21)) / b;
      d = (0.25 * (r13 + r31)) / b;
      a = (0.25 * (r32 - r23)) / b;
    } else if (yd > 1) {
      c = 0.5 * Math.sqrt(yd);
      b = (0.25 * (r12 + r21)) / c;
      d = (0.25 * (r23 + r32)) / c;
      a = (0.25 * (r13 - r31)) / c;
    } else {
      d = 0.5 * Math.sqrt(zd);
      b = (0.25 * (r13 + r31)) / d;
      c = (0.25 * (r23 + r32)) / d;
      a = (0.25 * (r21 - r12)) / d;
    }
    if (a < 0) {
      b = -b;
      c = -c;
      d = -d;
    }
  }
  return { b, c, d, qfac };
}

function xformCodes(vol: Volume): { sform: number; qform: number } {
  const n = vol.meta.nifti;
  if (!n) return { sform: 1, qform: 1 };
  const s = n.sformCode > 0 ? n.sformCode : n.qformCode > 0 ? n.qformCode : 1;
  const q = n.qformCode > 0 ? n.qformCode : s;
  return { sform: s, qform: q };
}

/** The 352-byte NIfTI-1 header (with the 4 empty extension bytes) for `vol`. */
export function niftiHeaderBytes(vol: Volume, description?: string): Uint8Array {
  const dtype = dtypeOf(vol.data);
  const bytesPer = vol.data.BYTES_PER_ELEMENT;
  const out = new Uint8Array(HEADER_BYTES);
  const v = new DataView(out.buffer);
  const le = true;
  const [nx, ny, nz] = vol.shape;
  for (const n of [nx, ny, nz, vol.channels]) {
    if (n > 32767) {
      throw new VoxshiftError('SIZE_LIMIT', `NIfTI-1 dimensions are int16: ${n} does not fit (shape ${vol.shape.join('×')}, ${vol.channels} channels)`, {
        param: 'shape',
      });
    }
  }
  v.setInt32(0, 348, le);
  const dim = vol.channels > 1 ? [4, nx, ny, nz, vol.channels, 1, 1, 1] : [3, nx, ny, nz, 1, 1, 1, 1];
  dim.forEach((d, i) => v.setInt16(40 + 2 * i, d, le));
  if (vol.kind === 'label') v.setInt16(68, 1002, le); // intent_code NIFTI_INTENT_LABEL
  v.setInt16(70, DATATYPE_CODE[dtype], le);
  v.setInt16(72, bytesPer * 8, le);

  const ras = lpsToRasAffine(affineOf(vol));
  const rasDir = [
    ras[0] / vol.spacing[0], ras[1] / vol.spacing[1], ras[2] / vol.spacing[2],
    ras[4] / vol.spacing[0], ras[5] / vol.spacing[1], ras[6] / vol.spacing[2],
    ras[8] / vol.spacing[0], ras[9] / vol.spacing[1], ras[10] / vol.spacing[2],
  ];
  const q = quaternionOf(rasDir);
  const pixdim = [q.qfac, vol.spacing[0], vol.spacing[1], vol.spacing[2], 1, 1, 1, 1];
  pixdim.forEach((p, i) => v.setFloat32(76 + 4 * i, p, le));
  v.setFloat32(108, HEADER_BYTES, le); // vox_offset
  v.setFloat32(112, 1, le); // scl_slope
  v.setFloat32(116, 0, le); // scl_inter
  v.setUint8(123, 2); // xyzt_units: NIFTI_UNITS_MM
  const descrip = (description ?? vol.meta.description ?? '').replace(/[^\x20-\x7e]/g, '?').slice(0, 79);
  for (let i = 0; i < descrip.length; i++) out[148 + i] = descrip.charCodeAt(i);
  const codes = xformCodes(vol);
  v.setInt16(252, codes.qform, le);
  v.setInt16(254, codes.sform, le);
  v.setFloat32(256, q.b, le);
  v.setFloat32(260, q.c, le);
  v.setFloat32(264, q.d, le);
  v.setFloat32(268, ras[3], le);
  v.setFloat32(272, ras[7], le);
  v.setFloat32(276, ras[11], le);
  for (let i = 0; i < 12; i++) v.setFloat32(280 + 4 * i, ras[i], le);
  out.set([0x6e, 0x2b, 0x31, 0x00], 344); // magic "n+1\0"
  return out;
}

/** The voxel bytes in little-endian order (a view when the host is little-endian: no copy). */
function payloadBytes(vol: Volume): Uint8Array {
  const d = vol.data;
  const view = new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
  if (HOST_LITTLE_ENDIAN || d.BYTES_PER_ELEMENT === 1) return view;
  const copy = view.slice();
  swapBytesInPlace(copy, d.BYTES_PER_ELEMENT);
  return copy;
}

/** Encodes `vol` as a NIfTI-1 file (gzipped when `options.gzip`). */
export function encodeNifti(vol: Volume, options: EncodeNiftiOptions = {}): Uint8Array {
  const header = niftiHeaderBytes(vol, options.description);
  const payload = payloadBytes(vol);
  if (!options.gzip) {
    const out = new Uint8Array(header.length + payload.length);
    out.set(header);
    out.set(payload, header.length);
    return out;
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  const gz = new Gzip({ level: 6, mtime: 0 }, (chunk) => {
    chunks.push(chunk);
    total += chunk.length;
  });
  gz.push(header, false);
  // Push in slices so fflate never needs a second copy of a huge volume.
  const step = 1 << 24;
  if (payload.length === 0) gz.push(new Uint8Array(0), true);
  for (let p = 0; p < payload.length; p += step) {
    const end = Math.min(payload.length, p + step);
    gz.push(payload.subarray(p, end), end === payload.length);
  }
  const out = new Uint8Array(total);
  let p = 0;
  for (const c of chunks) {
    out.set(c, p);
    p += c.length;
  }
  return out;
}
