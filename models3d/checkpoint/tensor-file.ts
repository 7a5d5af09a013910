/**
 * Named float32 tensors in one binary file (little-endian, concatenated) plus an index that lives in
 * the checkpoint manifest: name, shape, byte offset, and a SHA-256 of the whole file so truncation or
 * corruption is caught on load instead of producing a silently wrong model.
 */
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { VoxshiftError } from '../../volumes/errors.ts';

export interface TensorEntry {
  name: string;
  shape: number[];
  /** Byte offset in the file. */
  offset: number;
}

export interface TensorFileIndex {
  file: string;
  bytes: number;
  sha256: string;
  entries: TensorEntry[];
}

export interface NamedTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Writes the tensors to `path`; returns the index (with `file` = `fileName`). */
export async function writeTensorFile(path: string, fileName: string, tensors: readonly NamedTensor[]): Promise<TensorFileIndex> {
  const total = tensors.reduce((s, t) => s + t.data.length * 4, 0);
  const buf = Buffer.alloc(total);
  const entries: TensorEntry[] = [];
  let offset = 0;
  const names = new Set<string>();
  for (const t of tensors) {
    if (names.has(t.name)) throw new VoxshiftError('INTERNAL', `tensor ${t.name} written twice`, { param: 'tensors' });
    names.add(t.name);
    if (sizeOf(t.shape) !== t.data.length) {
      throw new VoxshiftError('INTERNAL', `tensor ${t.name}: shape [${t.shape.join(', ')}] does not match ${t.data.length} values`, { param: 'tensors' });
    }
    Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).copy(buf, offset);
    entries.push({ name: t.name, shape: [...t.shape], offset });
    offset += t.data.byteLength;
  }
  await writeFile(path, buf);
  return { file: fileName, bytes: total, sha256: createHash('sha256').update(buf).digest('hex'), entries };
}

/** Reads and verifies a tensor file against its index; tensors by name. */
export async function readTensorFile(path: string, index: TensorFileIndex): Promise<Map<string, NamedTensor>> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (e) {
    throw new VoxshiftError('CORRUPT_CHECKPOINT', `cannot read the checkpoint's tensor file (${(e as Error).message})`, { file: path, cause: e });
  }
  if (buf.length !== index.bytes) {
    throw new VoxshiftError('CORRUPT_CHECKPOINT', `tensor file has ${buf.length} bytes, the manifest says ${index.bytes} (truncated or replaced)`, {
      file: path,
      details: { bytes: buf.length, expected: index.bytes },
    });
  }
  const sha = createHash('sha256').update(buf).digest('hex');
  if (sha !== index.sha256) {
    throw new VoxshiftError('CORRUPT_CHECKPOINT', 'tensor file checksum differs from the manifest (the file was modified or damaged)', {
      file: path,
      details: { sha256: sha, expected: index.sha256 },
    });
  }
  const out = new Map<string, NamedTensor>();
  for (const e of index.entries) {
    const n = sizeOf(e.shape);
    if (!Number.isInteger(e.offset) || e.offset < 0 || e.offset + n * 4 > buf.length) {
      throw new VoxshiftError('CORRUPT_CHECKPOINT', `tensor ${e.name} lies outside the tensor file`, { file: path, details: { entry: e } });
    }
    // Copy: the Float32Array must be aligned and must not keep the whole file alive.
    const data = new Float32Array(n);
    new Uint8Array(data.buffer).set(buf.subarray(e.offset, e.offset + n * 4));
    out.set(e.name, { name: e.name, shape: e.shape, data });
  }
  return out;
}
