/**
 * Builds small NIfTI-1 files field by field, in either byte order, for the reader's tests
 * (independent of voxshift's own writer).
 */
export interface SyntheticNifti {
  littleEndian?: boolean;
  dims: number[];
  datatype: number;
  bitpix?: number;
  /** Element values, written with `write` in file order. */
  values?: readonly number[];
  /** Raw payload instead of values. */
  payload?: Uint8Array;
  pixdim?: number[];
  voxOffset?: number;
  sclSlope?: number;
  sclInter?: number;
  xyztUnits?: number;
  qformCode?: number;
  sformCode?: number;
  quatern?: [number, number, number];
  qoffset?: [number, number, number];
  srow?: number[];
  magic?: 'n+1' | 'ni1' | '';
  /** Extra bytes between the header and vox_offset (extensions). */
  extension?: Uint8Array;
}

const BYTES: Record<number, number> = { 2: 1, 4: 2, 8: 4, 16: 4, 64: 8, 256: 1, 512: 2, 768: 4, 1024: 8, 1280: 8, 128: 3 };

function writeValue(v: DataView, offset: number, datatype: number, value: number, le: boolean): void {
  switch (datatype) {
    case 2:
    case 128:
      v.setUint8(offset, value);
      break;
    case 256:
      v.setInt8(offset, value);
      break;
    case 4:
      v.setInt16(offset, value, le);
      break;
    case 512:
      v.setUint16(offset, value, le);
      break;
    case 8:
      v.setInt32(offset, value, le);
      break;
    case 768:
      v.setUint32(offset, value, le);
      break;
    case 16:
      v.setFloat32(offset, value, le);
      break;
    case 64:
      v.setFloat64(offset, value, le);
      break;
    case 1024:
      v.setBigInt64(offset, BigInt(value), le);
      break;
    case 1280:
      v.setBigUint64(offset, BigInt(value), le);
      break;
    default:
      throw new Error(`synthetic writer: datatype ${datatype}`);
  }
}

export function syntheticNifti(s: SyntheticNifti): Uint8Array {
  const le = s.littleEndian ?? true;
  const ext = s.extension ?? new Uint8Array(4);
  const magic = s.magic ?? 'n+1';
  const voxOffset = s.voxOffset ?? (magic === 'n+1' ? 348 + ext.length : 0);
  let payload = s.payload;
  if (!payload) {
    const size = BYTES[s.datatype] ?? 1;
    const values = s.values ?? [];
    payload = new Uint8Array(values.length * size);
    const pv = new DataView(payload.buffer);
    values.forEach((x, i) => writeValue(pv, i * size, s.datatype, x, le));
  }
  const headerPart = magic === 'n+1' ? Math.max(voxOffset, 348 + ext.length) : 348 + ext.length;
  const out = new Uint8Array(headerPart + (magic === 'n+1' ? payload.length : 0));
  const v = new DataView(out.buffer);
  v.setInt32(0, 348, le);
  const dims = [...s.dims, 1, 1, 1, 1, 1, 1, 1, 1].slice(0, 8);
  dims.forEach((d, i) => v.setInt16(40 + 2 * i, d, le));
  v.setInt16(70, s.datatype, le);
  v.setInt16(72, s.bitpix ?? (BYTES[s.datatype] ?? 0) * 8, le);
  const pixdim = [...(s.pixdim ?? [1, 1, 1, 1]), 1, 1, 1, 1, 1, 1, 1, 1].slice(0, 8);
  pixdim.forEach((p, i) => v.setFloat32(76 + 4 * i, p, le));
  v.setFloat32(108, voxOffset, le);
  v.setFloat32(112, s.sclSlope ?? 1, le);
  v.setFloat32(116, s.sclInter ?? 0, le);
  v.setUint8(123, s.xyztUnits ?? 2);
  v.setInt16(252, s.qformCode ?? 0, le);
  v.setInt16(254, s.sformCode ?? 0, le);
  const q = s.quatern ?? [0, 0, 0];
  q.forEach((x, i) => v.setFloat32(256 + 4 * i, x, le));
  const o = s.qoffset ?? [0, 0, 0];
  o.forEach((x, i) => v.setFloat32(268 + 4 * i, x, le));
  const srow = s.srow ?? [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0];
  srow.forEach((x, i) => v.setFloat32(280 + 4 * i, x, le));
  for (let i = 0; i < magic.length; i++) out[344 + i] = magic.charCodeAt(i);
  out.set(ext, 348);
  if (magic === 'n+1') out.set(payload, voxOffset);
  return out;
}

/** The payload alone, for .img files of pairs. */
export function syntheticPayload(s: SyntheticNifti): Uint8Array {
  const le = s.littleEndian ?? true;
  const size = BYTES[s.datatype] ?? 1;
  const values = s.values ?? [];
  const payload = new Uint8Array(values.length * size);
  const pv = new DataView(payload.buffer);
  values.forEach((x, i) => writeValue(pv, i * size, s.datatype, x, le));
  return payload;
}
