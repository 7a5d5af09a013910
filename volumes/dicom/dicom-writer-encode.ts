/**
 * A minimal DICOM Part-10 encoder: explicit VR little endian data elements (no sequences), the file
 * meta group with its group length, preamble and `DICM`. Only what write-dicom.ts needs.
 */
import { VoxshiftError } from '../errors.ts';
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME } from './uid.ts';

export const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';

export type StringVr = 'AE' | 'AS' | 'CS' | 'DA' | 'DS' | 'DT' | 'IS' | 'LO' | 'LT' | 'PN' | 'SH' | 'ST' | 'TM' | 'UI' | 'UT';
export type Vr = StringVr | 'US' | 'UL' | 'OB' | 'OW';

/** A data element to encode. `tag` is (group << 16) | element. */
export type DicomElement =
  | { tag: number; vr: StringVr; value: string | readonly string[] }
  | { tag: number; vr: 'US' | 'UL'; value: readonly number[] }
  | { tag: number; vr: 'OB' | 'OW'; value: Uint8Array };

/** VRs whose explicit-VR header has 2 reserved bytes and a 32-bit length (PS3.5 7.1.2). */
const LONG_VRS = new Set<Vr>(['OB', 'OW', 'UT']);

/** Maximum value length per string VR (PS3.5 6.2), for the values we write. */
const MAX_LENGTH: Partial<Record<StringVr, number>> = {
  AE: 16, AS: 4, CS: 16, DA: 8, DS: 16, IS: 12, LO: 64, SH: 16, TM: 16, UI: 64, PN: 64,
};

const utf8 = new TextEncoder();
const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0) & 0x7f);

/** True when every string value is plain ASCII (the default character repertoire). */
export function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

function tagName(tag: number): string {
  const hex = (n: number): string => n.toString(16).toUpperCase().padStart(4, '0');
  return `(${hex(tag >>> 16)},${hex(tag & 0xffff)})`;
}

function stringBytes(tag: number, vr: StringVr, value: string | readonly string[]): Uint8Array {
  const parts = typeof value === 'string' ? [value] : value;
  const max = MAX_LENGTH[vr];
  for (const p of parts) {
    if (max !== undefined && p.length > max) {
      throw new VoxshiftError('INVALID_ARGUMENT', `value "${p}" of ${tagName(tag)} is longer than ${max} characters (VR ${vr})`, {
        details: { tag: tagName(tag), vr },
      });
    }
    if (vr !== 'LT' && vr !== 'ST' && vr !== 'UT' && p.includes('\\')) {
      throw new VoxshiftError('INVALID_ARGUMENT', `value "${p}" of ${tagName(tag)} contains a backslash`, {
        details: { tag: tagName(tag), vr },
      });
    }
  }
  // Non-ASCII text is written as UTF-8; the caller then declares (0008,0005) ISO_IR 192.
  const bytes = utf8.encode(parts.join('\\'));
  if (bytes.length % 2 === 0) return bytes;
  // Even length: UIDs are padded with NUL, all other strings with a space (PS3.5 6.2).
  const padded = new Uint8Array(bytes.length + 1);
  padded.set(bytes);
  padded[bytes.length] = vr === 'UI' ? 0x00 : 0x20;
  return padded;
}

function valueBytes(el: DicomElement): Uint8Array {
  switch (el.vr) {
    case 'US': {
      const out = new Uint8Array(el.value.length * 2);
      const dv = new DataView(out.buffer);
      el.value.forEach((v, i) => dv.setUint16(i * 2, v, true));
      return out;
    }
    case 'UL': {
      const out = new Uint8Array(el.value.length * 4);
      const dv = new DataView(out.buffer);
      el.value.forEach((v, i) => dv.setUint32(i * 4, v, true));
      return out;
    }
    case 'OB':
    case 'OW': {
      if (el.value.length % 2 === 0) return el.value;
      const padded = new Uint8Array(el.value.length + 1);
      padded.set(el.value);
      return padded;
    }
    default:
      return stringBytes(el.tag, el.vr, el.value);
  }
}

/** Encodes one element (explicit VR little endian). */
export function encodeElement(el: DicomElement): Uint8Array {
  const value = valueBytes(el);
  const long = LONG_VRS.has(el.vr);
  if (!long && value.length > 0xffff) {
    throw new VoxshiftError('INVALID_ARGUMENT', `value of ${tagName(el.tag)} is too long for VR ${el.vr}`, {
      details: { tag: tagName(el.tag) },
    });
  }
  const headerLength = long ? 12 : 8;
  const out = new Uint8Array(headerLength + value.length);
  const dv = new DataView(out.buffer);
  dv.setUint16(0, el.tag >>> 16, true);
  dv.setUint16(2, el.tag & 0xffff, true);
  out[4] = el.vr.charCodeAt(0);
  out[5] = el.vr.charCodeAt(1);
  if (long) dv.setUint32(8, value.length, true);
  else dv.setUint16(6, value.length, true);
  out.set(value, headerLength);
  return out;
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const total = chunks.reduce((n, c) => n + c.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** Encodes elements in ascending tag order (as the standard requires), rejecting duplicates. */
export function encodeDataSet(elements: readonly DicomElement[]): Uint8Array {
  const sorted = [...elements].sort((a, b) => a.tag - b.tag);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i].tag === sorted[i - 1].tag) {
      throw new VoxshiftError('INTERNAL', `data element ${tagName(sorted[i].tag)} given twice`);
    }
  }
  return concat(sorted.map(encodeElement));
}

/**
 * A complete Part-10 file: 128-byte preamble, `DICM`, the file meta group (0002) with its group
 * length, then the data set in explicit VR little endian.
 */
export function encodePart10(sopClassUid: string, sopInstanceUid: string, dataSet: readonly DicomElement[]): Uint8Array {
  const metaBody = encodeDataSet([
    { tag: 0x00020001, vr: 'OB', value: new Uint8Array([0x00, 0x01]) },
    { tag: 0x00020002, vr: 'UI', value: sopClassUid },
    { tag: 0x00020003, vr: 'UI', value: sopInstanceUid },
    { tag: 0x00020010, vr: 'UI', value: EXPLICIT_VR_LITTLE_ENDIAN },
    { tag: 0x00020012, vr: 'UI', value: IMPLEMENTATION_CLASS_UID },
    { tag: 0x00020013, vr: 'SH', value: IMPLEMENTATION_VERSION_NAME },
  ]);
  const groupLength = encodeElement({ tag: 0x00020000, vr: 'UL', value: [metaBody.length] });
  if (dataSet.some((e) => e.tag >>> 16 === 0x0002)) {
    throw new VoxshiftError('INTERNAL', 'file meta elements (group 0002) do not belong in the data set');
  }
  const preamble = new Uint8Array(132);
  preamble.set(ascii('DICM'), 128);
  return concat([preamble, groupLength, metaBody, encodeDataSet(dataSet)]);
}

/** A decimal string (VR DS) of at most 16 characters, as precise as fits. */
export function formatDs(x: number): string {
  if (!Number.isFinite(x)) throw new VoxshiftError('NON_FINITE_VALUES', `cannot write ${x} as a DICOM decimal string`);
  if (Object.is(x, -0) || x === 0) return '0';
  for (let p = 16; p >= 1; p--) {
    let s = x.toPrecision(p);
    if (s.includes('e')) {
      const [m, e] = s.split('e');
      s = `${m.includes('.') ? m.replace(/0+$/, '').replace(/\.$/, '') : m}e${e}`;
    } else if (s.includes('.')) {
      s = s.replace(/0+$/, '').replace(/\.$/, '');
    }
    if (s.length <= 16) return s;
  }
  throw new VoxshiftError('INTERNAL', `cannot format ${x} as a DICOM decimal string`);
}
