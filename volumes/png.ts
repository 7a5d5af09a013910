/**
 * 8-bit PNG encoding (grey and RGB) and decoding, through pngjs. Pixels are row-major, top row first;
 * RGB is interleaved (r, g, b per pixel).
 */
import { PNG, type ColorType } from 'pngjs';
import { VoxshiftError } from './errors.ts';

/** Largest image we encode (pixels): 2^28, about 16 k × 16 k. */
export const MAX_PNG_PIXELS = 2 ** 28;

export interface DecodedPng {
  width: number;
  height: number;
  /** The file's colour type: 0 grey, 2 RGB, 4 grey + alpha, 6 RGBA. */
  colorType: ColorType;
  bitDepth: number;
  /** RGBA, 4 bytes per pixel, whatever the file's colour type (pngjs expands grey and palettes). */
  rgba: Uint8Array;
}

function checkSize(data: ArrayLike<number>, width: number, height: number, samples: number): void {
  for (const [param, v] of [
    ['width', width],
    ['height', height],
  ] as const) {
    if (!Number.isInteger(v) || v < 1) {
      throw new VoxshiftError('INVALID_ARGUMENT', `${param} must be a positive integer, got ${String(v)}`, { param });
    }
  }
  if (width * height > MAX_PNG_PIXELS) {
    throw new VoxshiftError('SIZE_LIMIT', `a PNG of ${width}×${height} pixels is over the limit of ${MAX_PNG_PIXELS} pixels`, {
      param: 'width',
      details: { width, height, maxPixels: MAX_PNG_PIXELS },
    });
  }
  if (data.length !== width * height * samples) {
    throw new VoxshiftError(
      'INVALID_ARGUMENT',
      `data must hold ${width}×${height}${samples > 1 ? `×${samples}` : ''} = ${width * height * samples} bytes, got ${data.length}`,
      { param: 'data', details: { received: data.length, expected: width * height * samples } },
    );
  }
}

function encode(data: Uint8Array, width: number, height: number, colorType: 0 | 2): Buffer {
  // Without width/height the constructor allocates no RGBA buffer of its own.
  const png = new PNG();
  png.width = width;
  png.height = height;
  png.data = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return PNG.sync.write(png, { colorType, inputColorType: colorType, inputHasAlpha: false, bitDepth: 8 });
}

/** An 8-bit greyscale PNG of `width × height` bytes (row-major, top row first). */
export function encodeGrayPng(data: Uint8Array, width: number, height: number): Buffer {
  checkSize(data, width, height, 1);
  return encode(data, width, height, 0);
}

/** An 8-bit RGB PNG of `width × height × 3` interleaved bytes. */
export function encodeRgbPng(data: Uint8Array, width: number, height: number): Buffer {
  checkSize(data, width, height, 3);
  return encode(data, width, height, 2);
}

/** Decodes any PNG pngjs reads into RGBA bytes (16-bit files are scaled to 8 bits). */
export function decodePng(buf: Uint8Array): DecodedPng {
  let png: ReturnType<typeof PNG.sync.read>;
  try {
    png = PNG.sync.read(Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength));
  } catch (e) {
    throw new VoxshiftError('MALFORMED_HEADER', `not a readable PNG: ${e instanceof Error ? e.message : String(e)}`, { param: 'buf', cause: e });
  }
  return {
    width: png.width,
    height: png.height,
    colorType: png.colorType,
    bitDepth: png.depth,
    rgba: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength),
  };
}
