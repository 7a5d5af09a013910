/**
 * Parses the bytes of one DICOM file into a dicom-parser DataSet, turning every way dicom-parser can
 * fail (it throws strings and plain Errors) into a VoxshiftError naming the file.
 *
 * Besides Part-10 files it accepts, as dcm2niix and pydicom do:
 * - a file meta group starting at byte 0 (no 128-byte preamble and no "DICM"),
 * - a raw dataset with no file meta (ACR-NEMA style): the transfer syntax is guessed from the first
 *   element (implicit or explicit VR, little or big endian),
 * - a file meta group without (0002,0010): the dataset after it is guessed the same way,
 * - a gzip-compressed file, which is gunzipped first (size-capped).
 */
import dicomParser from 'dicom-parser';
import type { DataSet } from 'dicom-parser';
import { gunzipSync, inflateSync } from 'fflate';
import { VoxshiftError } from '../errors.ts';

export const TS_IMPLICIT_LE = '1.2.840.10008.1.2';
export const TS_EXPLICIT_LE = '1.2.840.10008.1.2.1';
export const TS_EXPLICIT_BE = '1.2.840.10008.1.2.2';
export const TS_DEFLATED = '1.2.840.10008.1.2.1.99';

/** Largest dataset we inflate (bytes): a guard against decompression bombs. */
export const MAX_INFLATED_BYTES = 2 ** 31 - 1;
/** Largest gzip-compressed DICOM file we gunzip, and its largest ratio above 64 MiB. */
export const MAX_GUNZIP_BYTES = 2 ** 30;
export const MAX_GUNZIP_RATIO = 200;

export interface ParsedDicom {
  dataSet: DataSet;
  transferSyntax: string;
  /** How the file was laid out, when it was not a plain Part-10 file. */
  layout: 'part10' | 'meta-without-preamble' | 'raw-dataset' | 'meta-without-transfer-syntax';
  gzipped: boolean;
}

export interface ParseOptions {
  /** Stop before this tag (dicom-parser's `xGGGGEEEE` form), e.g. before the pixel data. */
  untilTag?: string;
}

const PIXEL_DATA = 'x7fe00010';

function messageOf(e: unknown): string {
  if (typeof e === 'string') return e;
  if (e instanceof Error) return e.message;
  if (e && typeof e === 'object' && 'exception' in e) return String((e as { exception: unknown }).exception);
  return String(e);
}

const TRUNCATION = /past end|end of buffer|buffer overread|overrun|could not find|not found|beyond|exceeds|outside|'maxPosition'/i;

function parseFailure(e: unknown, file: string): VoxshiftError {
  if (e instanceof VoxshiftError) return e;
  const msg = messageOf(e);
  const code = TRUNCATION.test(msg) ? 'TRUNCATED_FILE' : 'MALFORMED_HEADER';
  const what = code === 'TRUNCATED_FILE' ? 'the file ends before its dataset does' : 'the DICOM dataset could not be parsed';
  return new VoxshiftError(code, `${what} (${msg})`, { file, cause: e });
}

function isPart10(bytes: Uint8Array): boolean {
  return bytes.length >= 132 && bytes[128] === 0x44 && bytes[129] === 0x49 && bytes[130] === 0x43 && bytes[131] === 0x4d;
}

function isUpper(c: number): boolean {
  return c >= 0x41 && c <= 0x5a;
}

/**
 * Guesses the transfer syntax of a raw dataset from its first element: an even group number read as
 * little or big endian that looks like a real group (≤ 0x7fe0), and a two-letter VR at bytes 4–5 for
 * explicit VR. Returns undefined when nothing looks like a DICOM element.
 */
export function guessRawTransferSyntax(bytes: Uint8Array, offset = 0): string | undefined {
  if (bytes.length < offset + 8) return undefined;
  const le = bytes[offset] | (bytes[offset + 1] << 8);
  const be = (bytes[offset] << 8) | bytes[offset + 1];
  const explicit = isUpper(bytes[offset + 4]) && isUpper(bytes[offset + 5]);
  // A dataset starts with a low group (0008 typically; some test files start with 0001).
  const plausible = (g: number): boolean => g >= 0x0001 && g <= 0x0100;
  if (plausible(le)) return explicit ? TS_EXPLICIT_LE : TS_IMPLICIT_LE;
  if (plausible(be)) return explicit ? TS_EXPLICIT_BE : undefined;
  return undefined;
}

function inflater(file: string) {
  return (arr: Uint8Array, position: number): Uint8Array => {
    let inflated: Uint8Array;
    try {
      inflated = inflateSync(arr.subarray(position));
    } catch (e) {
      throw new VoxshiftError('MALFORMED_HEADER', `the deflated dataset could not be inflated (${messageOf(e)})`, { file, cause: e });
    }
    if (inflated.length + position > MAX_INFLATED_BYTES) {
      throw new VoxshiftError('SIZE_LIMIT', `the deflated dataset inflates to more than ${MAX_INFLATED_BYTES} bytes`, { file });
    }
    const out = new Uint8Array(position + inflated.length);
    out.set(arr.subarray(0, position));
    out.set(inflated, position);
    return out;
  };
}

function withPreamble(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length + 132);
  out.set([0x44, 0x49, 0x43, 0x4d], 128);
  out.set(bytes, 132);
  return out;
}

function parseRaw(bytes: Uint8Array, file: string, options: ParseOptions, layout: ParsedDicom['layout'], gzipped: boolean): ParsedDicom {
  const ts = guessRawTransferSyntax(bytes);
  if (!ts) {
    throw new VoxshiftError('NOT_DICOM', 'not a DICOM file: no "DICM" marker at byte 128 and no DICOM element at the start', {
      file,
    });
  }
  let dataSet: DataSet;
  try {
    dataSet = dicomParser.parseDicom(bytes, { TransferSyntaxUID: ts, untilTag: options.untilTag, inflater: inflater(file) });
  } catch (e) {
    throw parseFailure(e, file);
  }
  if (Object.keys(dataSet.elements).length < 2) {
    throw new VoxshiftError('NOT_DICOM', 'not a DICOM file: the raw dataset guess found no elements', { file });
  }
  return { dataSet, transferSyntax: ts, layout, gzipped };
}

/** Parses a whole DICOM file (or its header only, with `untilTag`). */
export function parseDicomBytes(input: Uint8Array, file: string, options: ParseOptions = {}): ParsedDicom {
  let bytes = input;
  let gzipped = false;
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    // ISIZE (the last 4 bytes) is the uncompressed size modulo 2^32: refuse bombs before inflating.
    const isize = bytes.length >= 18 ? new DataView(bytes.buffer, bytes.byteOffset + bytes.length - 4, 4).getUint32(0, true) : 0;
    if (isize > MAX_GUNZIP_BYTES || (isize > 2 ** 26 && isize > MAX_GUNZIP_RATIO * bytes.length)) {
      throw new VoxshiftError('SIZE_LIMIT', `gzip file claims ${isize} uncompressed bytes from ${bytes.length} (limit ${MAX_GUNZIP_BYTES} bytes, ratio ${MAX_GUNZIP_RATIO})`, { file });
    }
    try {
      bytes = gunzipSync(bytes);
    } catch (e) {
      throw new VoxshiftError('NOT_DICOM', `gzip file that could not be decompressed (${messageOf(e)})`, { file, cause: e });
    }
    gzipped = true;
  }
  if (bytes.length < 8) throw new VoxshiftError('NOT_DICOM', `not a DICOM file: only ${bytes.length} bytes`, { file });
  let layout: ParsedDicom['layout'] = 'part10';
  if (!isPart10(bytes)) {
    // A file meta group at byte 0: (0002,xxxx) with an explicit VR.
    if (bytes[0] === 0x02 && bytes[1] === 0x00 && bytes[2] <= 0x10 && bytes[3] === 0x00 && isUpper(bytes[4]) && isUpper(bytes[5])) {
      bytes = withPreamble(bytes);
      layout = 'meta-without-preamble';
    } else {
      return parseRaw(bytes, file, options, 'raw-dataset', gzipped);
    }
  }
  let meta: DataSet & { position?: number };
  try {
    meta = dicomParser.readPart10Header(bytes) as DataSet & { position?: number };
  } catch (e) {
    throw parseFailure(e, file);
  }
  const tsElement = meta.elements.x00020010;
  if (!tsElement) {
    // dicom-parser's meta reader also swallows elements of groups below 0002; restart after the last 0002 one.
    let start = 132;
    for (const el of Object.values(meta.elements)) {
      if (el.tag.startsWith('x0002')) start = Math.max(start, el.dataOffset + el.length);
    }
    const parsed = parseRaw(bytes.subarray(start), file, options, 'meta-without-transfer-syntax', gzipped);
    return parsed;
  }
  let dataSet: DataSet;
  try {
    dataSet = dicomParser.parseDicom(bytes, { untilTag: options.untilTag, inflater: inflater(file) });
  } catch (e) {
    throw parseFailure(e, file);
  }
  const transferSyntax = (dataSet.string('x00020010') ?? '').replace(/\0/g, '').trim();
  return { dataSet, transferSyntax, layout, gzipped };
}

export const PIXEL_DATA_TAG = PIXEL_DATA;
