/**
 * gzip decompression (fflate) that allocates the output once, at the size the NIfTI header asks for.
 *
 * fflate's gunzipSync on its own trusts the 4-byte ISIZE trailer to size its buffer, which is garbage
 * in a truncated file, and decodes only the first member of a multi-member file. So: inflate just the
 * first bytes, ask `sizeFromHead` how long the whole payload is, allocate exactly that, and let
 * gunzipSync fill it (fast path). If that comes up short or fails (truncated, corrupt, multi-member),
 * a streaming pass redoes it and tells exactly how far the data goes. Memory: the compressed input
 * plus one exact output.
 */
import { Gunzip, gunzipSync } from 'fflate';
import { VoxshiftError } from '../errors.ts';

export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

export interface GunzipOptions {
  file: string;
  /** Bytes to inflate before calling sizeFromHead. */
  headBytes: number;
  /**
   * Total decompressed bytes needed, from the first `headBytes` (fewer if the stream is shorter);
   * undefined = the head is not what we expected: stop there and return it.
   */
  sizeFromHead: (head: Uint8Array) => number | undefined;
}

/** Compressed bytes pushed per step: bounds the output of one step to ~64 MiB even for a gzip bomb. */
const STEP = 1 << 16;

function concat(chunks: Uint8Array[], length: number): Uint8Array {
  if (chunks.length === 1 && chunks[0].length === length) return chunks[0];
  const out = new Uint8Array(length);
  let p = 0;
  for (const c of chunks) {
    const n = Math.min(c.length, length - p);
    out.set(c.subarray(0, n), p);
    p += n;
    if (p >= length) break;
  }
  return out;
}

function allocate(size: number, file: string): Uint8Array {
  try {
    return new Uint8Array(size);
  } catch (e) {
    throw new VoxshiftError('SIZE_LIMIT', `cannot allocate ${size} bytes for the decompressed image`, { file, cause: e });
  }
}

/** The first `headBytes` decompressed bytes (fewer if the stream is shorter or broken). */
function inflateHead(src: Uint8Array, headBytes: number): Uint8Array {
  const chunks: Uint8Array[] = [];
  let got = 0;
  const stream = new Gunzip((chunk) => {
    chunks.push(chunk);
    got += chunk.length;
  });
  try {
    for (let p = 0; p < src.length && got < headBytes; p += 4096) {
      const end = Math.min(src.length, p + 4096);
      stream.push(src.subarray(p, end), end === src.length);
    }
  } catch {
    // Reported by the full pass.
  }
  return concat(chunks, Math.min(got, headBytes));
}

/**
 * Inflates `src`. Returns the decompressed bytes, possibly shorter than `sizeFromHead` asked for when
 * the stream ended early (the caller reports TRUNCATED_FILE with the numbers).
 */
export function gunzipNifti(src: Uint8Array, options: GunzipOptions): Uint8Array {
  const head = inflateHead(src, options.headBytes);
  if (head.length >= options.headBytes) {
    const size = options.sizeFromHead(head);
    if (size === undefined) return head;
    const out = allocate(size, options.file);
    try {
      if (gunzipSync(src, { out }).length >= size) return out;
    } catch {
      // Fall through to the streaming pass, which says what is wrong.
    }
  }
  return gunzipStreaming(src, options);
}

function gunzipStreaming(src: Uint8Array, options: GunzipOptions): Uint8Array {
  const { file, headBytes, sizeFromHead } = options;
  let chunks: Uint8Array[] = [];
  let got = 0;
  let out: Uint8Array | undefined;
  let need = -1;
  let done = false;

  const sizeOut = (): void => {
    const head = concat(chunks, got);
    const size = sizeFromHead(head);
    if (size === undefined) {
      out = head;
      need = got;
      done = true;
      return;
    }
    need = size;
    out = allocate(size, file);
    const n = Math.min(size, got);
    out.set(head.subarray(0, n));
    got = n;
    chunks = [];
    if (got >= need) done = true;
  };

  const stream = new Gunzip((chunk) => {
    if (done || chunk.length === 0) return;
    if (out) {
      const n = Math.min(chunk.length, need - got);
      out.set(n === chunk.length ? chunk : chunk.subarray(0, n), got);
      got += n;
      if (got >= need) done = true;
      return;
    }
    chunks.push(chunk);
    got += chunk.length;
    if (got >= headBytes) sizeOut();
  });

  let truncated = false;
  try {
    for (let p = 0; p < src.length && !done; p += STEP) {
      const end = Math.min(src.length, p + STEP);
      stream.push(src.subarray(p, end), end === src.length);
    }
  } catch (e) {
    if (e instanceof VoxshiftError) throw e;
    const code = (e as { code?: number }).code;
    // fflate error 0 is "unexpected EOF": the gzip stream was cut short.
    if (code === 0) {
      truncated = true;
    } else {
      throw new VoxshiftError('FILE_UNREADABLE', `gzip data cannot be inflated: ${(e as Error).message}`, { file, cause: e });
    }
  }
  if (!out) sizeOut();
  const result = out ?? new Uint8Array(0);
  if (truncated && got < need) {
    throw new VoxshiftError('TRUNCATED_FILE', `gzip stream ends early: inflated ${got} of the ${need} bytes the header needs`, {
      file,
      details: { expectedBytes: need, actualBytes: got },
    });
  }
  return got < result.length ? result.subarray(0, got) : result;
}
