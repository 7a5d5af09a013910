/**
 * A tiny explicit-VR little-endian Part-10 encoder for synthetic test slices (tilted stacks, uneven
 * gaps, repeated positions, MONOCHROME1, junk above HighBit...) that no real file in the shared data
 * has. Independent of voxshift's own DICOM writer on purpose.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface SyntheticSlice {
  rows: number;
  columns: number;
  seriesUid: string;
  instance: number;
  position?: readonly number[];
  orientation?: readonly number[];
  pixelSpacing?: readonly number[];
  sliceThickness?: number;
  slope?: number;
  intercept?: number;
  modality?: string;
  photometric?: string;
  bitsAllocated?: 8 | 16;
  bitsStored?: number;
  highBit?: number;
  signed?: boolean;
  temporalPosition?: number;
  acquisitionNumber?: number;
  /** Raw stored words (already including any junk bits), row by row. */
  pixels: Uint16Array | Uint8Array;
}

type El = [group: number, element: number, vr: string, value: Uint8Array];

const LONG_VRS = new Set(['OB', 'OW', 'SQ', 'UN', 'UT', 'UC', 'UR', 'OF', 'OD', 'OL']);

function text(s: string, pad = ' '): Uint8Array {
  const t = s.length % 2 ? s + pad : s;
  return new TextEncoder().encode(t);
}
function us(v: number): Uint8Array {
  return new Uint8Array(new Uint16Array([v]).buffer);
}
function ul(v: number): Uint8Array {
  return new Uint8Array(new Uint32Array([v]).buffer);
}
function ds(values: readonly number[]): Uint8Array {
  return text(values.map((v) => String(Number(v.toFixed(6)))).join('\\'));
}

function encode(elements: El[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const [g, e, vr, value] of elements) {
    const head = LONG_VRS.has(vr) ? new Uint8Array(12) : new Uint8Array(8);
    const dv = new DataView(head.buffer);
    dv.setUint16(0, g, true);
    dv.setUint16(2, e, true);
    head[4] = vr.charCodeAt(0);
    head[5] = vr.charCodeAt(1);
    if (LONG_VRS.has(vr)) dv.setUint32(8, value.length, true);
    else dv.setUint16(6, value.length, true);
    parts.push(head, value);
  }
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function encodeSlice(s: SyntheticSlice): Uint8Array {
  const ba = s.bitsAllocated ?? 16;
  const bs = s.bitsStored ?? ba;
  const sopInstance = `${s.seriesUid}.${s.instance}`;
  const dataset: El[] = [
    [0x0008, 0x0016, 'UI', text('1.2.840.10008.5.1.4.1.1.4', '\0')],
    [0x0008, 0x0018, 'UI', text(sopInstance, '\0')],
    [0x0008, 0x0060, 'CS', text(s.modality ?? 'MR')],
    [0x0008, 0x103e, 'LO', text('synthetic')],
  ];
  if (s.sliceThickness !== undefined) dataset.push([0x0018, 0x0050, 'DS', ds([s.sliceThickness])]);
  dataset.push([0x0020, 0x000e, 'UI', text(s.seriesUid, '\0')]);
  if (s.acquisitionNumber !== undefined) dataset.push([0x0020, 0x0012, 'IS', text(String(s.acquisitionNumber))]);
  dataset.push([0x0020, 0x0013, 'IS', text(String(s.instance))]);
  if (s.position) dataset.push([0x0020, 0x0032, 'DS', ds(s.position)]);
  if (s.orientation) dataset.push([0x0020, 0x0037, 'DS', ds(s.orientation)]);
  if (s.temporalPosition !== undefined) dataset.push([0x0020, 0x0100, 'IS', text(String(s.temporalPosition))]);
  dataset.push(
    [0x0028, 0x0002, 'US', us(1)],
    [0x0028, 0x0004, 'CS', text(s.photometric ?? 'MONOCHROME2')],
    [0x0028, 0x0010, 'US', us(s.rows)],
    [0x0028, 0x0011, 'US', us(s.columns)],
  );
  if (s.pixelSpacing) dataset.push([0x0028, 0x0030, 'DS', ds(s.pixelSpacing)]);
  dataset.push(
    [0x0028, 0x0100, 'US', us(ba)],
    [0x0028, 0x0101, 'US', us(bs)],
    [0x0028, 0x0102, 'US', us(s.highBit ?? bs - 1)],
    [0x0028, 0x0103, 'US', us(s.signed ? 1 : 0)],
  );
  if (s.intercept !== undefined) dataset.push([0x0028, 0x1052, 'DS', ds([s.intercept])]);
  if (s.slope !== undefined) dataset.push([0x0028, 0x1053, 'DS', ds([s.slope])]);
  const px = new Uint8Array(s.pixels.buffer, s.pixels.byteOffset, s.pixels.byteLength);
  dataset.push([0x7fe0, 0x0010, ba === 8 ? 'OB' : 'OW', px.length % 2 ? Uint8Array.from([...px, 0]) : px]);

  const metaBody = encode([
    [0x0002, 0x0001, 'OB', new Uint8Array([0, 1])],
    [0x0002, 0x0002, 'UI', text('1.2.840.10008.5.1.4.1.1.4', '\0')],
    [0x0002, 0x0003, 'UI', text(sopInstance, '\0')],
    [0x0002, 0x0010, 'UI', text('1.2.840.10008.1.2.1', '\0')],
  ]);
  const meta = encode([[0x0002, 0x0000, 'UL', ul(metaBody.length)]]);
  const body = encode(dataset);
  const out = new Uint8Array(132 + meta.length + metaBody.length + body.length);
  out.set(text('DICM'), 128);
  out.set(meta, 132);
  out.set(metaBody, 132 + meta.length);
  out.set(body, 132 + meta.length + metaBody.length);
  return out;
}

/** Writes slices as dir/slice-NNN.dcm (shuffled names so that file order is not slice order). */
export function writeSlices(dir: string, slices: SyntheticSlice[]): void {
  mkdirSync(dir, { recursive: true });
  slices.forEach((s, i) => {
    const name = `slice-${String((i * 7919) % 100003).padStart(6, '0')}-${i}.dcm`;
    writeFileSync(join(dir, name), encodeSlice(s));
  });
}

/** An axial stack: slice k at z = zs[k], pixel value = base + k*100 + x + y*columns (stored words). */
export function axialStack(uid: string, zs: readonly number[], opts: Partial<SyntheticSlice> & { rows?: number; columns?: number; xShift?: readonly number[] } = {}): SyntheticSlice[] {
  const rows = opts.rows ?? 4;
  const columns = opts.columns ?? 5;
  return zs.map((z, k) => {
    const pixels = new Uint16Array(rows * columns);
    for (let i = 0; i < pixels.length; i++) pixels[i] = 10 + k * 100 + i;
    return {
      rows,
      columns,
      seriesUid: uid,
      instance: k + 1,
      position: [-10 + (opts.xShift?.[k] ?? 0), -20, z],
      orientation: [1, 0, 0, 0, 1, 0],
      pixelSpacing: [0.5, 0.75],
      sliceThickness: 1,
      pixels,
      ...Object.fromEntries(Object.entries(opts).filter(([key]) => !['rows', 'columns', 'xShift'].includes(key))),
    } as SyntheticSlice;
  });
}
