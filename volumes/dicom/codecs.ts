/**
 * Decoders for the compressed DICOM transfer syntaxes. The WebAssembly codecs (cornerstone's
 * Emscripten builds) are loaded lazily, once, and cached; a codec that throws is dropped from the
 * cache so that a corrupted WebAssembly heap is never reused. 12-bit lossy JPEG goes to cornerstone's
 * JavaScript decoder (patched: patches/@cornerstonejs+dicom-image-loader+*.patch), imported on first use.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { VoxshiftError } from '../errors.ts';
import { decodeRle } from './rle.ts';

const require = createRequire(import.meta.url);

export interface DecodedFrame {
  /** Samples, interleaved (pixel by pixel) unless `planar` is true. */
  samples: Uint8Array | Int8Array | Uint16Array | Int16Array | Int32Array | Uint32Array;
  width: number;
  height: number;
  components: number;
  /** Whether the codec produced signed samples. */
  signed: boolean;
  planar: boolean;
}

export interface FrameSpec {
  rows: number;
  columns: number;
  samplesPerPixel: number;
  bitsAllocated: number;
  pixelRepresentation: number;
}

interface FrameInfoWasm {
  width: number;
  height: number;
  bitsPerSample: number;
  componentCount: number;
  isSigned?: boolean;
}

interface WasmDecoder {
  getEncodedBuffer(length: number): Uint8Array;
  getDecodedBuffer(): Uint8Array;
  getFrameInfo(): FrameInfoWasm;
  decode(): void;
  getInterleaveMode?(): number;
  delete?(): void;
}

type DecoderCtor = new () => WasmDecoder;
type WasmModule = Record<string, unknown>;

type CodecName = 'charls' | 'libjpeg-turbo' | 'openjpeg' | 'openjph';

const SPECS: Record<CodecName, { spec: string; ctor: string }> = {
  charls: { spec: '@cornerstonejs/codec-charls/decodewasmjs', ctor: 'JpegLSDecoder' },
  'libjpeg-turbo': { spec: '@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs', ctor: 'JPEGDecoder' },
  openjpeg: { spec: '@cornerstonejs/codec-openjpeg/decodewasmjs', ctor: 'J2KDecoder' },
  openjph: { spec: '@cornerstonejs/codec-openjph/wasmjs', ctor: 'HTJ2KDecoder' },
};

const cache = new Map<CodecName, Promise<WasmModule>>();

function loadCodec(name: CodecName): Promise<WasmModule> {
  let p = cache.get(name);
  if (!p) {
    p = (async () => {
      const mod = require(SPECS[name].spec) as ((opts?: object) => Promise<WasmModule>) | { default: (opts?: object) => Promise<WasmModule> };
      const factory = typeof mod === 'function' ? mod : mod.default;
      // Emscripten prints decoder diagnostics to stdout/stderr by default; keep them out of ours.
      return factory({ print: () => undefined, printErr: () => undefined });
    })();
    p.catch(() => cache.delete(name));
    cache.set(name, p);
  }
  return p;
}

/** Transfer syntaxes this reader decodes. */
export const TRANSFER_SYNTAXES: Record<string, string> = {
  '1.2.840.10008.1.2': 'Implicit VR Little Endian',
  '1.2.840.10008.1.2.1': 'Explicit VR Little Endian',
  '1.2.840.10008.1.2.2': 'Explicit VR Big Endian',
  '1.2.840.10008.1.2.1.99': 'Deflated Explicit VR Little Endian',
  '1.2.840.10008.1.2.5': 'RLE Lossless',
  '1.2.840.10008.1.2.4.50': 'JPEG Baseline (8-bit)',
  '1.2.840.10008.1.2.4.51': 'JPEG Extended (8/12-bit)',
  '1.2.840.10008.1.2.4.53': 'JPEG Spectral Selection (8/12-bit)',
  '1.2.840.10008.1.2.4.55': 'JPEG Full Progression (8/12-bit)',
  '1.2.840.10008.1.2.4.57': 'JPEG Lossless',
  '1.2.840.10008.1.2.4.70': 'JPEG Lossless SV1',
  '1.2.840.10008.1.2.4.80': 'JPEG-LS Lossless',
  '1.2.840.10008.1.2.4.81': 'JPEG-LS Near-Lossless',
  '1.2.840.10008.1.2.4.90': 'JPEG 2000 Lossless',
  '1.2.840.10008.1.2.4.91': 'JPEG 2000',
  '1.2.840.10008.1.2.4.201': 'HTJ2K Lossless',
  '1.2.840.10008.1.2.4.202': 'HTJ2K Lossless RPCL',
  '1.2.840.10008.1.2.4.203': 'HTJ2K',
};

export function isNativeTransferSyntax(ts: string): boolean {
  return ts === '1.2.840.10008.1.2' || ts === '1.2.840.10008.1.2.1' || ts === '1.2.840.10008.1.2.2' || ts === '1.2.840.10008.1.2.1.99';
}

function codecFor(ts: string): CodecName | 'jpeg-lossless' | 'rle' | undefined {
  switch (ts) {
    case '1.2.840.10008.1.2.5':
      return 'rle';
    case '1.2.840.10008.1.2.4.50':
    case '1.2.840.10008.1.2.4.51':
    case '1.2.840.10008.1.2.4.53':
    case '1.2.840.10008.1.2.4.55':
      return 'libjpeg-turbo';
    case '1.2.840.10008.1.2.4.57':
    case '1.2.840.10008.1.2.4.70':
      return 'jpeg-lossless';
    case '1.2.840.10008.1.2.4.80':
    case '1.2.840.10008.1.2.4.81':
      return 'charls';
    case '1.2.840.10008.1.2.4.90':
    case '1.2.840.10008.1.2.4.91':
      return 'openjpeg';
    case '1.2.840.10008.1.2.4.201':
    case '1.2.840.10008.1.2.4.202':
    case '1.2.840.10008.1.2.4.203':
      return 'openjph';
    default:
      return undefined;
  }
}

export function isSupportedTransferSyntax(ts: string): boolean {
  return isNativeTransferSyntax(ts) || codecFor(ts) !== undefined;
}

/** The JPEG precision (P) of the first SOF marker, or undefined when none is found. */
function jpegPrecision(bytes: Uint8Array): number | undefined {
  for (let i = 2; i + 4 < bytes.length; ) {
    if (bytes[i] !== 0xff) return undefined;
    const marker = bytes[i + 1];
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) return bytes[i + 4];
    const len = (bytes[i + 2] << 8) | bytes[i + 3];
    i += 2 + len;
  }
  return undefined;
}

function copyOut(buf: Uint8Array, info: FrameInfoWasm): DecodedFrame['samples'] {
  const n = info.width * info.height * info.componentCount;
  const bytes = info.bitsPerSample <= 8 ? 1 : 2;
  if (buf.length < n * bytes) throw new Error(`decoder returned ${buf.length} bytes, expected ${n * bytes}`);
  const copy = buf.slice(0, n * bytes);
  if (bytes === 1) return info.isSigned ? new Int8Array(copy.buffer) : copy;
  return info.isSigned ? new Int16Array(copy.buffer, 0, n) : new Uint16Array(copy.buffer, 0, n);
}

async function decodeWasm(name: CodecName, bytes: Uint8Array): Promise<DecodedFrame> {
  const mod = await loadCodec(name);
  const Ctor = mod[SPECS[name].ctor] as DecoderCtor | undefined;
  if (typeof Ctor !== 'function') throw new Error(`${name} module has no ${SPECS[name].ctor}`);
  const decoder = new Ctor();
  try {
    const input = decoder.getEncodedBuffer(bytes.length);
    input.set(bytes);
    decoder.decode();
    const info = decoder.getFrameInfo();
    const interleave = name === 'charls' && decoder.getInterleaveMode ? decoder.getInterleaveMode() : 1;
    const samples = copyOut(decoder.getDecodedBuffer(), info);
    return {
      samples,
      width: info.width,
      height: info.height,
      components: info.componentCount,
      signed: info.isSigned === true,
      // CharLS writes interleave mode "none" (ILV 0) component by component.
      planar: name === 'charls' && interleave === 0 && info.componentCount > 1,
    };
  } catch (e) {
    cache.delete(name);
    throw e;
  } finally {
    try {
      decoder.delete?.();
    } catch {
      // a decoder whose heap was corrupted may fail to free; the module is already dropped
    }
  }
}

interface LosslessDecoder {
  decode(buffer: ArrayBufferLike, offset?: number, length?: number, numBytes?: number): ArrayBuffer;
  numComp: number;
  xDim: number;
  yDim: number;
}

let losslessModule: { Decoder: new () => LosslessDecoder } | undefined;

/**
 * jpeg-lossless-decoder-js reads a few bytes ahead of the last sample and leaves it 0 when the EOI
 * marker follows the entropy-coded data directly; zero bytes inserted before EOI (past the last
 * coded bit, so never decoded as data) let it finish the last sample.
 */
function padBeforeEoi(bytes: Uint8Array): Uint8Array {
  let end = bytes.length;
  while (end > 2 && bytes[end - 1] === 0) end--;
  if (end < 2 || bytes[end - 2] !== 0xff || bytes[end - 1] !== 0xd9) return bytes.slice();
  const out = new Uint8Array(end + 8);
  out.set(bytes.subarray(0, end - 2));
  out.set([0xff, 0xd9], end + 6);
  return out;
}

async function decodeJpegLossless(bytes: Uint8Array, spec: FrameSpec): Promise<DecodedFrame> {
  losslessModule ??= require('jpeg-lossless-decoder-js') as { Decoder: new () => LosslessDecoder };
  const { Decoder } = losslessModule;
  const decoder = new Decoder();
  const copy = padBeforeEoi(bytes);
  const numBytes = spec.bitsAllocated <= 8 ? 1 : 2;
  const out = decoder.decode(copy.buffer, 0, copy.length, numBytes);
  const samples = numBytes === 1 ? new Uint8Array(out) : new Uint16Array(out);
  return { samples, width: decoder.xDim, height: decoder.yDim, components: decoder.numComp, signed: false, planar: false };
}

interface JpegImage {
  parse(data: Uint8Array): void;
  colorTransform?: boolean;
  width: number;
  height: number;
  components: unknown[];
  getData16(width: number, height: number): Uint16Array;
}

let jpeg12: Promise<new () => JpegImage> | undefined;

/**
 * Cornerstone's JavaScript DCT JPEG decoder (pdf.js lineage), the only 12-bit lossy JPEG decoder
 * among our dependencies. The package's `exports` do not list it, so it is imported by file URL.
 */
function loadJpeg12(): Promise<new () => JpegImage> {
  if (!jpeg12) {
    const p = (async () => {
      const pkg = require.resolve('@cornerstonejs/dicom-image-loader/package.json');
      const url = pathToFileURL(join(dirname(pkg), 'dist', 'esm', 'codecs', 'jpeg.js')).href;
      const mod = (await import(url)) as { default?: unknown };
      if (typeof mod.default !== 'function') throw new Error('@cornerstonejs/dicom-image-loader codecs/jpeg.js has no default export');
      return mod.default as new () => JpegImage;
    })();
    p.catch(() => {
      jpeg12 = undefined;
    });
    jpeg12 = p;
  }
  return jpeg12;
}

/** Whether a start-of-scan marker follows the header segments (the JS decoder returns a flat image without one). */
function hasJpegScan(bytes: Uint8Array): boolean {
  for (let i = 2; i + 3 < bytes.length; ) {
    if (bytes[i] !== 0xff) return false;
    if (bytes[i + 1] === 0xff) {
      i++; // fill byte
      continue;
    }
    if (bytes[i + 1] === 0xda) return true;
    if (bytes[i + 1] === 0xd9) return false;
    i += 2 + ((bytes[i + 2] << 8) | bytes[i + 3]);
  }
  return false;
}

async function decodeJpeg12(bytes: Uint8Array): Promise<DecodedFrame> {
  if (!hasJpegScan(bytes)) throw new Error('12-bit JPEG codestream has no scan (SOS marker)');
  const JpegImageCtor = await loadJpeg12();
  const jpeg = new JpegImageCtor();
  jpeg.parse(bytes);
  jpeg.colorTransform = false;
  if (jpeg.components.length !== 1) throw new Error(`${jpeg.components.length}-component 12-bit JPEG is not supported (greyscale only)`);
  const samples = jpeg.getData16(jpeg.width, jpeg.height);
  return { samples, width: jpeg.width, height: jpeg.height, components: 1, signed: false, planar: false };
}

/** Decodes one compressed frame. Errors become CODEC_FAILED / UNSUPPORTED_TRANSFER_SYNTAX naming the file. */
export async function decodeCompressedFrame(ts: string, bytes: Uint8Array, spec: FrameSpec, file: string): Promise<DecodedFrame> {
  const codec = codecFor(ts);
  if (!codec) {
    throw new VoxshiftError('UNSUPPORTED_TRANSFER_SYNTAX', `transfer syntax ${ts} is not supported; supported: ${Object.keys(TRANSFER_SYNTAXES).join(', ')}`, { file });
  }
  let twelveBit = false;
  if (codec === 'libjpeg-turbo') {
    const p = jpegPrecision(bytes);
    // DCT JPEG allows 8 or 12 bits; the JS decoder keeps samples in an Int16Array, so nothing above 12.
    if (p !== undefined && p > 12) {
      throw new VoxshiftError('UNSUPPORTED_TRANSFER_SYNTAX', `${TRANSFER_SYNTAXES[ts] ?? ts} with ${p}-bit samples is not supported (lossy JPEG is 8 or 12 bits)`, {
        file,
        details: { transferSyntax: ts, precision: p },
      });
    }
    twelveBit = p !== undefined && p > 8;
  }
  let frame: DecodedFrame;
  try {
    if (codec === 'rle') frame = decodeRle(bytes, spec);
    else if (twelveBit) frame = await decodeJpeg12(bytes);
    else if (codec === 'jpeg-lossless') frame = await decodeJpegLossless(bytes, spec);
    else frame = await decodeWasm(codec, bytes);
  } catch (e) {
    if (e instanceof VoxshiftError) throw new VoxshiftError(e.shortCode, e.message, { file, cause: e });
    const msg = typeof e === 'string' ? e : e instanceof Error ? e.message : String(e);
    throw new VoxshiftError('CODEC_FAILED', `${TRANSFER_SYNTAXES[ts] ?? ts} frame could not be decoded (${msg})`, { file, cause: e });
  }
  if (frame.width !== spec.columns || frame.height !== spec.rows || frame.components !== spec.samplesPerPixel) {
    throw new VoxshiftError(
      'CODEC_FAILED',
      `decoded frame is ${frame.width}×${frame.height}×${frame.components}, but the header says ${spec.columns}×${spec.rows}×${spec.samplesPerPixel}`,
      { file },
    );
  }
  return frame;
}
