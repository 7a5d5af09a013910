import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { isVoxshiftError } from '../../volumes/errors.ts';
import { decodePng, encodeGrayPng, encodeRgbPng } from '../../volumes/png.ts';
import { pythonWith } from '../helpers/shared-data.ts';

const PY = pythonWith('zlib, binascii, struct');

// An independent reader (Python standard library only): checks every chunk CRC, inflates IDAT and
// undoes the five PNG row filters; prints width, height, colour type, bit depth and the raw samples.
const PY_READ_PNG = `
import sys, zlib, struct, binascii
b = sys.stdin.buffer.read()
assert b[:8] == b'\\x89PNG\\r\\n\\x1a\\n'
p, idat = 8, b''
while p < len(b):
    n, = struct.unpack('>I', b[p:p+4]); t = b[p+4:p+8]; d = b[p+8:p+8+n]
    assert struct.unpack('>I', b[p+8+n:p+12+n])[0] == binascii.crc32(t + d) & 0xffffffff, t
    if t == b'IHDR': w, h, depth, ct = struct.unpack('>IIBB', d[:10])
    if t == b'IDAT': idat += d
    p += 12 + n
bpp = {0: 1, 2: 3}[ct]
raw = zlib.decompress(idat); stride = w * bpp; out = bytearray(); prev = bytearray(stride)
for r in range(h):
    f = raw[r*(stride+1)]; line = bytearray(raw[r*(stride+1)+1:(r+1)*(stride+1)])
    for i in range(stride):
        a = line[i-bpp] if i >= bpp else 0; up = prev[i]; c = prev[i-bpp] if i >= bpp else 0
        if f == 1: line[i] = (line[i] + a) & 255
        elif f == 2: line[i] = (line[i] + up) & 255
        elif f == 3: line[i] = (line[i] + (a + up) // 2) & 255
        elif f == 4:
            q = a + up - c; pa, pb, pc = abs(q - a), abs(q - up), abs(q - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else up if pb <= pc else c)) & 255
    out += line; prev = line
print(w, h, ct, depth, ' '.join(map(str, out)))
`;

function pythonRead(png: Buffer): number[] {
  return execFileSync(PY as string, ['-c', PY_READ_PNG], { input: png }).toString().trim().split(' ').map(Number);
}

describe('PNG encoding', () => {
  const w = 7;
  const h = 5;
  const gray = Uint8Array.from({ length: w * h }, (_, i) => (i * 37) % 256);

  it('writes 8-bit greyscale that decodes to the same pixels (pngjs and an independent reader)', () => {
    const png = encodeGrayPng(gray, w, h);
    const d = decodePng(png);
    expect([d.width, d.height, d.colorType, d.bitDepth]).toEqual([w, h, 0, 8]);
    for (let i = 0; i < w * h; i++) {
      expect([d.rgba[4 * i], d.rgba[4 * i + 1], d.rgba[4 * i + 2], d.rgba[4 * i + 3]]).toEqual([gray[i], gray[i], gray[i], 255]);
    }
    if (PY) expect(pythonRead(png)).toEqual([w, h, 0, 8, ...gray]);
  });

  it('writes 8-bit RGB (interleaved input)', () => {
    const rgb = Uint8Array.from({ length: w * h * 3 }, (_, i) => (i * 11 + 3) % 256);
    const png = encodeRgbPng(rgb, w, h);
    const d = decodePng(png);
    expect([d.width, d.height, d.colorType, d.bitDepth]).toEqual([w, h, 2, 8]);
    expect(Array.from(d.rgba.subarray(4 * (w * h - 1), 4 * w * h))).toEqual([...rgb.subarray(3 * (w * h - 1)), 255]);
    for (let i = 0; i < w * h; i++) expect(Array.from(d.rgba.subarray(4 * i, 4 * i + 3))).toEqual(Array.from(rgb.subarray(3 * i, 3 * i + 3)));
    if (PY) expect(pythonRead(png)).toEqual([w, h, 2, 8, ...rgb]);
  });

  it('encodes a subarray view (only its own bytes)', () => {
    const backing = new Uint8Array(100).fill(9);
    backing.set(gray, 10);
    const d = decodePng(encodeGrayPng(backing.subarray(10, 10 + w * h), w, h));
    expect(Array.from({ length: w * h }, (_, i) => d.rgba[4 * i])).toEqual(Array.from(gray));
  });

  it('rejects wrong sizes and unreadable input naming the parameter', () => {
    const cases: [() => unknown, string, string][] = [
      [() => encodeGrayPng(gray, w, h + 1), 'INVALID_ARGUMENT', 'data'],
      [() => encodeGrayPng(gray, 0, h), 'INVALID_ARGUMENT', 'width'],
      [() => encodeGrayPng(gray, w, 2.5), 'INVALID_ARGUMENT', 'height'],
      [() => encodeRgbPng(gray, w, h), 'INVALID_ARGUMENT', 'data'],
      [() => encodeGrayPng(new Uint8Array(0), 70_000, 70_000), 'SIZE_LIMIT', 'width'],
      [() => decodePng(Buffer.from('not a png')), 'MALFORMED_HEADER', 'buf'],
    ];
    for (const [f, code, param] of cases) {
      try {
        f();
        expect.unreachable();
      } catch (e) {
        expect(isVoxshiftError(e, code as 'INVALID_ARGUMENT')).toBe(true);
        expect((e as { param?: string }).param).toBe(param);
      }
    }
  });
});
