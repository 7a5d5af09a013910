/**
 * DICOM RLE Lossless (1.2.840.10008.1.2.5), PS3.5 Annex G: a 64-byte header (segment count, then 15
 * segment offsets), then one PackBits segment per byte plane — for each sample, its most
 * significant byte first. The result is planar (sample by sample).
 */
import { VoxshiftError } from '../errors.ts';
import type { DecodedFrame, FrameSpec } from './codecs.ts';

function decodeSegment(src: Uint8Array, start: number, end: number, out: Uint8Array): void {
  let i = start;
  let o = 0;
  const n = out.length;
  while (i < end && o < n) {
    const h = src[i++];
    if (h < 128) {
      const count = h + 1;
      if (i + count > end) throw new VoxshiftError('CODEC_FAILED', 'RLE literal run goes past the end of its segment');
      const take = Math.min(count, n - o);
      out.set(src.subarray(i, i + take), o);
      o += take;
      i += count;
    } else if (h > 128) {
      const count = 257 - h;
      if (i >= end) throw new VoxshiftError('CODEC_FAILED', 'RLE replicate run goes past the end of its segment');
      const v = src[i++];
      const take = Math.min(count, n - o);
      out.fill(v, o, o + take);
      o += take;
    }
    // h === 128 is a no-op
  }
  if (o < n) throw new VoxshiftError('CODEC_FAILED', `RLE segment decoded to ${o} bytes, expected ${n}`);
}

export function decodeRle(src: Uint8Array, spec: FrameSpec): DecodedFrame {
  if (src.length < 64) throw new VoxshiftError('CODEC_FAILED', `RLE frame of ${src.length} bytes has no 64-byte header`);
  const dv = new DataView(src.buffer, src.byteOffset, src.length);
  const segments = dv.getUint32(0, true);
  if (spec.bitsAllocated === 1) return decodeRleBits(src, spec);
  const bytesPerSample = Math.ceil(spec.bitsAllocated / 8);
  const expected = bytesPerSample * spec.samplesPerPixel;
  if (segments !== expected || segments > 15) {
    throw new VoxshiftError('CODEC_FAILED', `RLE header has ${segments} segments, expected ${expected} (${spec.samplesPerPixel} samples × ${bytesPerSample} bytes)`);
  }
  const offsets: number[] = [];
  for (let s = 0; s < segments; s++) offsets.push(dv.getUint32(4 + 4 * s, true));
  const pixels = spec.rows * spec.columns;
  const plane = new Uint8Array(pixels);
  const total = pixels * spec.samplesPerPixel;
  const samples = bytesPerSample === 1 ? new Uint8Array(total) : bytesPerSample === 2 ? new Uint16Array(total) : new Uint32Array(total);
  for (let s = 0; s < segments; s++) {
    const start = offsets[s];
    const end = s + 1 < segments ? offsets[s + 1] : src.length;
    if (start < 64 || start > src.length || end > src.length || end < start) {
      throw new VoxshiftError('CODEC_FAILED', `RLE segment ${s} offset ${start} is outside the ${src.length}-byte frame`);
    }
    decodeSegment(src, start, end, plane);
    const component = Math.floor(s / bytesPerSample);
    const shift = 8 * (bytesPerSample - 1 - (s % bytesPerSample));
    const base = component * pixels;
    if (bytesPerSample === 1) {
      samples.set(plane, base);
    } else {
      for (let p = 0; p < pixels; p++) samples[base + p] += plane[p] * 2 ** shift;
    }
  }
  return { samples, width: spec.columns, height: spec.rows, components: spec.samplesPerPixel, signed: false, planar: true };
}

/** BitsAllocated 1 (DICOM SEG): one segment of bit-packed bytes, least significant bit first. */
function decodeRleBits(src: Uint8Array, spec: FrameSpec): DecodedFrame {
  const dv = new DataView(src.buffer, src.byteOffset, src.length);
  if (dv.getUint32(0, true) !== 1 || spec.samplesPerPixel !== 1) {
    throw new VoxshiftError('CODEC_FAILED', `RLE header has ${dv.getUint32(0, true)} segments, expected 1 for 1-bit pixels`);
  }
  const start = dv.getUint32(4, true);
  if (start < 64 || start > src.length) throw new VoxshiftError('CODEC_FAILED', `RLE segment offset ${start} is outside the ${src.length}-byte frame`);
  const pixels = spec.rows * spec.columns;
  const packed = new Uint8Array(Math.ceil(pixels / 8));
  decodeSegment(src, start, src.length, packed);
  const samples = new Uint8Array(pixels);
  for (let i = 0; i < pixels; i++) samples[i] = (packed[i >> 3] >> (i & 7)) & 1;
  return { samples, width: spec.columns, height: spec.rows, components: 1, signed: false, planar: true };
}
