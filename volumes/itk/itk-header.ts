/**
 * A light look at NRRD and MetaImage headers before ITK-Wasm reads them, so that the common faults
 * (not the format, truncated data, missing detached data file) get precise error codes instead of an
 * opaque wasm exception. Only what the checks need is parsed; ITK does the real reading.
 */
import { open, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
import { VoxshiftError } from '../errors.ts';

export type ItkFormat = 'nrrd' | 'mha';

export interface HeaderCheck {
  format: ItkFormat;
  /** Files holding the voxels (the header itself when attached). */
  dataFiles: string[];
}

const HEADER_MAX = 64 * 1024;

const NRRD_TYPE_BYTES: Record<string, number> = {};
for (const [bytes, names] of [
  [1, 'signed char,int8,int8_t,uchar,unsigned char,uint8,uint8_t'],
  [2, 'short,short int,signed short,signed short int,int16,int16_t,ushort,unsigned short,unsigned short int,uint16,uint16_t'],
  [4, 'int,signed int,int32,int32_t,uint,unsigned int,uint32,uint32_t,float'],
  [8, 'longlong,long long,long long int,signed long long,signed long long int,int64,int64_t,ulonglong,unsigned long long,unsigned long long int,uint64,uint64_t,double'],
] as const) {
  for (const n of names.split(',')) NRRD_TYPE_BYTES[n] = bytes;
}

const MET_TYPE_BYTES: Record<string, number> = {
  MET_CHAR: 1, MET_UCHAR: 1, MET_SHORT: 2, MET_USHORT: 2, MET_INT: 4, MET_UINT: 4, MET_FLOAT: 4,
  MET_DOUBLE: 8, MET_LONG_LONG: 8, MET_ULONG_LONG: 8,
};

async function readHead(path: string): Promise<{ head: Buffer; size: number }> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    const head = Buffer.alloc(Math.min(size, HEADER_MAX));
    await fh.read(head, 0, head.length, 0);
    return { head, size };
  } finally {
    await fh.close();
  }
}

function product(xs: number[]): number {
  return xs.reduce((a, b) => a * b, 1);
}

async function sizeOf(path: string): Promise<number | undefined> {
  const s = await stat(path).catch(() => undefined);
  return s?.isFile() ? s.size : undefined;
}

function truncated(file: string, expected: number, actual: number): VoxshiftError {
  return new VoxshiftError('TRUNCATED_FILE', `voxel data is ${actual} bytes, the header describes ${expected}`, {
    file,
    details: { expectedBytes: expected, actualBytes: actual },
  });
}

async function checkNrrd(path: string, head: Buffer, size: number): Promise<HeaderCheck> {
  const text = head.toString('latin1');
  const end = text.search(/\r?\n\r?\n/);
  const headerText = end >= 0 ? text.slice(0, end) : text;
  const fields = new Map<string, string>();
  for (const line of headerText.split(/\r?\n/).slice(1)) {
    if (line.startsWith('#')) continue;
    const m = /^([^:]+):=?\s*(.*)$/.exec(line);
    if (m) fields.set(m[1].trim().toLowerCase(), m[2].trim());
  }
  if (end < 0 && size < HEADER_MAX && !fields.has('data file') && !fields.has('datafile')) {
    throw new VoxshiftError('TRUNCATED_FILE', 'NRRD header ends without the blank line that precedes the data', { file: path });
  }
  const sizes = (fields.get('sizes') ?? '').split(/\s+/).map(Number);
  if (sizes.length === 0 || !sizes.every((n) => Number.isInteger(n) && n > 0)) {
    throw new VoxshiftError('MALFORMED_HEADER', `NRRD "sizes" is missing or invalid: "${fields.get('sizes') ?? ''}"`, { file: path });
  }
  const typeBytes = NRRD_TYPE_BYTES[(fields.get('type') ?? '').toLowerCase()];
  if (typeBytes === undefined) {
    throw new VoxshiftError('MALFORMED_HEADER', `NRRD "type" is missing or unknown: "${fields.get('type') ?? ''}"`, { file: path });
  }
  const encoding = (fields.get('encoding') ?? '').toLowerCase();
  const dataFile = fields.get('data file') ?? fields.get('datafile');
  const expected = product(sizes) * typeBytes;
  if (dataFile === undefined) {
    if (end < 0) throw new VoxshiftError('MALFORMED_HEADER', 'NRRD header has no blank line before the data', { file: path });
    const offset = Buffer.byteLength(text.slice(0, end), 'latin1') + (text.slice(end).startsWith('\r\n\r\n') ? 4 : 2);
    const skip = Number(fields.get('byte skip') ?? 0);
    if (encoding === 'raw' && skip >= 0 && size - offset - skip < expected) throw truncated(path, expected, size - offset - skip);
    if (size <= offset) throw truncated(path, expected, 0);
    return { format: 'nrrd', dataFiles: [path] };
  }
  if (/^LIST\b/.test(dataFile) || /%/.test(dataFile) || /\s/.test(dataFile.trim())) {
    return { format: 'nrrd', dataFiles: [] };
  }
  const full = isAbsolute(dataFile) ? dataFile : join(dirname(path), dataFile);
  const actual = await sizeOf(full);
  if (actual === undefined) {
    throw new VoxshiftError('FILE_NOT_FOUND', `NRRD data file "${dataFile}" does not exist`, { file: full });
  }
  const skip = Number(fields.get('byte skip') ?? 0);
  if (encoding === 'raw' && skip >= 0 && actual - skip < expected) throw truncated(full, expected, actual - skip);
  return { format: 'nrrd', dataFiles: [full] };
}

async function checkMeta(path: string, head: Buffer, size: number): Promise<HeaderCheck> {
  const text = head.toString('latin1');
  const fields = new Map<string, string>();
  let offset = -1;
  const lineRe = /([^\r\n]*)(\r?\n|$)/g;
  for (let m = lineRe.exec(text); m !== null && m[0].length > 0; m = lineRe.exec(text)) {
    const kv = /^\s*([A-Za-z0-9_]+)\s*=\s*(.*?)\s*$/.exec(m[1]);
    if (kv === null) continue;
    fields.set(kv[1], kv[2]);
    if (kv[1] === 'ElementDataFile') {
      offset = m.index + m[0].length;
      break;
    }
  }
  if (!fields.has('NDims') && !fields.has('ObjectType')) {
    throw new VoxshiftError('MALFORMED_HEADER', 'not a MetaImage header (no ObjectType or NDims)', { file: path });
  }
  if (!fields.has('ElementDataFile') && size < HEADER_MAX) {
    throw new VoxshiftError('TRUNCATED_FILE', 'MetaImage header ends before ElementDataFile', { file: path });
  }
  const dims = (fields.get('DimSize') ?? '').split(/\s+/).map(Number);
  if (dims.length === 0 || !dims.every((n) => Number.isInteger(n) && n > 0)) {
    throw new VoxshiftError('MALFORMED_HEADER', `MetaImage DimSize is missing or invalid: "${fields.get('DimSize') ?? ''}"`, { file: path });
  }
  const dataFile = fields.get('ElementDataFile');
  if (dataFile === undefined) {
    throw new VoxshiftError(size > HEADER_MAX ? 'MALFORMED_HEADER' : 'TRUNCATED_FILE', 'MetaImage header has no ElementDataFile', { file: path });
  }
  const typeBytes = MET_TYPE_BYTES[fields.get('ElementType') ?? ''];
  const channels = Number(fields.get('ElementNumberOfChannels') ?? 1);
  const compressed = /^true$/i.test(fields.get('CompressedData') ?? 'false');
  const headerSize = Number(fields.get('HeaderSize') ?? 0);
  const expected = typeBytes === undefined ? undefined : product(dims) * channels * typeBytes;
  if (dataFile === 'LOCAL') {
    if (expected !== undefined && !compressed && size - offset < expected) throw truncated(path, expected, size - offset);
    if (size <= offset) throw truncated(path, expected ?? 1, 0);
    return { format: 'mha', dataFiles: [path] };
  }
  if (dataFile.startsWith('LIST') || dataFile.includes('%')) return { format: 'mha', dataFiles: [] };
  const full = isAbsolute(dataFile) ? dataFile : join(dirname(path), dataFile);
  const actual = await sizeOf(full);
  if (actual === undefined) {
    throw new VoxshiftError('FILE_NOT_FOUND', `MetaImage data file "${dataFile}" does not exist`, { file: full });
  }
  if (expected !== undefined && !compressed && headerSize >= 0 && actual - headerSize < expected) {
    throw truncated(full, expected, actual - headerSize);
  }
  return { format: 'mha', dataFiles: [full] };
}

/** Checks that `path` is a complete NRRD (.nrrd/.nhdr) or MetaImage (.mha/.mhd) file. */
export async function checkItkHeader(path: string, format: ItkFormat): Promise<HeaderCheck> {
  const info = await stat(path).catch(() => undefined);
  if (info === undefined) throw new VoxshiftError('FILE_NOT_FOUND', 'file does not exist', { file: path });
  if (!info.isFile()) throw new VoxshiftError('FILE_UNREADABLE', 'expected a file, found a folder', { file: path });
  const { head, size } = await readHead(path).catch((e: unknown) => {
    throw new VoxshiftError('FILE_UNREADABLE', 'cannot read file', { file: path, cause: e });
  });
  if (format === 'nrrd') {
    if (!head.toString('latin1', 0, Math.min(8, head.length)).startsWith('NRRD000')) {
      throw new VoxshiftError('MALFORMED_HEADER', 'not a NRRD file (no "NRRD000x" magic)', { file: path });
    }
    return checkNrrd(path, head, size);
  }
  return checkMeta(path, head, size);
}
