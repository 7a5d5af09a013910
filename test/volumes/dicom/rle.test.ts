/** The DICOM RLE decoder (PS3.5 Annex G) on hand-made frames. */
import { describe, expect, it } from 'vitest';
import { decodeRle } from '../../../volumes/dicom/rle.ts';
import { isVoxshiftError } from '../../../volumes/errors.ts';

/** A frame: 64-byte header with the segment offsets, then the segments. */
function frame(segments: number[][]): Uint8Array {
  const header = new Uint8Array(64);
  const dv = new DataView(header.buffer);
  dv.setUint32(0, segments.length, true);
  let offset = 64;
  segments.forEach((s, i) => {
    dv.setUint32(4 + 4 * i, offset, true);
    offset += s.length;
  });
  return Uint8Array.from([...header, ...segments.flat()]);
}

describe('decodeRle', () => {
  it('decodes literal and replicate runs (PackBits), ignoring -128', () => {
    // 2×4 8-bit: literal [1,2,3], no-op, replicate 5 × 9
    const f = frame([[2, 1, 2, 3, 128, 0xfc, 9]]);
    const d = decodeRle(f, { rows: 2, columns: 4, samplesPerPixel: 1, bitsAllocated: 8, pixelRepresentation: 0 });
    expect(Array.from(d.samples)).toEqual([1, 2, 3, 9, 9, 9, 9, 9]);
    expect(d.planar).toBe(true);
  });

  it('16-bit: the high-byte segment comes first', () => {
    const f = frame([
      [1, 0x12, 0xff],
      [1, 0x34, 0x01],
    ]);
    const d = decodeRle(f, { rows: 1, columns: 2, samplesPerPixel: 1, bitsAllocated: 16, pixelRepresentation: 0 });
    expect(Array.from(d.samples)).toEqual([0x1234, 0xff01]);
  });

  it('RGB: one segment per sample, planar output', () => {
    const f = frame([
      [0xff, 10],
      [0xff, 20],
      [1, 30, 31],
    ]);
    const d = decodeRle(f, { rows: 1, columns: 2, samplesPerPixel: 3, bitsAllocated: 8, pixelRepresentation: 0 });
    expect(Array.from(d.samples)).toEqual([10, 10, 20, 20, 30, 31]);
  });

  it('rejects a wrong segment count, short segments and offsets outside the frame with CODEC_FAILED', () => {
    const spec = { rows: 2, columns: 2, samplesPerPixel: 1, bitsAllocated: 16, pixelRepresentation: 0 };
    const cases = [
      frame([[0xfd, 1]]), // 1 segment for 16-bit
      frame([[0xfd, 1], [1, 1]]), // second segment decodes 2 of 4 bytes
      frame([[0xfd, 1], [3, 1]]), // literal run past the segment end
      new Uint8Array(10), // no header
    ];
    const bad = frame([[0xfd, 1], [0xfd, 2]]);
    new DataView(bad.buffer).setUint32(8, 10_000, true);
    cases.push(bad);
    for (const c of cases) {
      let err: unknown;
      try {
        decodeRle(c, spec);
      } catch (e) {
        err = e;
      }
      expect(isVoxshiftError(err, 'CODEC_FAILED'), String(err)).toBe(true);
    }
  });
});
