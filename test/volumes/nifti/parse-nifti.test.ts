/** parseNifti on synthetic files: datatypes, byte orders, scaling, geometry rules and bad input. */
import { describe, expect, it } from 'vitest';
import { gzipSync } from 'fflate';
import { isVoxshiftError, type ErrorCode } from '../../../volumes/errors.ts';
import { parseNifti } from '../../../volumes/nifti/index.ts';
import type { Volume } from '../../../volumes/volume.ts';
import { syntheticNifti, syntheticPayload, type SyntheticNifti } from './synthetic-nifti.ts';

const FILE = 'synthetic.nii';

function parse(s: SyntheticNifti | Uint8Array, extra: Partial<Parameters<typeof parseNifti>[1]> = {}): Volume {
  const bytes = s instanceof Uint8Array ? s : syntheticNifti(s);
  return parseNifti(bytes, { file: FILE, ...extra });
}

function errorOf(fn: () => unknown): { code: ErrorCode; file?: string; message: string } {
  try {
    fn();
  } catch (e) {
    if (isVoxshiftError(e)) return { code: e.shortCode, file: e.file, message: e.message };
    throw new Error(`expected a VoxshiftError, got ${String(e)}`, { cause: e });
  }
  throw new Error('expected an error, got none');
}

const warningCodes = (v: Volume): string[] => v.meta.warnings.map((w) => w.code);

// 2×3×2 voxels of each type, including its extremes.
const CASES: { datatype: number; name: string; ctor: string; values: number[] }[] = [
  { datatype: 2, name: 'uint8', ctor: 'Uint8Array', values: [0, 1, 2, 127, 128, 200, 250, 255, 3, 4, 5, 6] },
  { datatype: 256, name: 'int8', ctor: 'Int8Array', values: [-128, -1, 0, 1, 127, 5, -5, 6, -6, 7, -7, 8] },
  { datatype: 4, name: 'int16', ctor: 'Int16Array', values: [-32768, -1, 0, 1, 32767, 256, -256, 1000, -1000, 7, 8, 9] },
  { datatype: 512, name: 'uint16', ctor: 'Uint16Array', values: [0, 1, 255, 256, 65535, 40000, 3, 4, 5, 6, 7, 8] },
  { datatype: 8, name: 'int32', ctor: 'Int32Array', values: [-(2 ** 31), -1, 0, 1, 2 ** 31 - 1, 65536, -65536, 9, 10, 11, 12, 13] },
  { datatype: 768, name: 'uint32', ctor: 'Uint32Array', values: [0, 1, 2 ** 32 - 1, 2 ** 31, 65536, 9, 10, 11, 12, 13, 14, 15] },
  { datatype: 16, name: 'float32', ctor: 'Float32Array', values: [0, -1.5, 3.25, 1e30, -1e-30, 0.1, 7, 8, 9, 10, 11, 12].map(Math.fround) },
  { datatype: 64, name: 'float64', ctor: 'Float64Array', values: [0, -1.5, 3.25, 1e300, -1e-300, 0.1, Math.PI, 8, 9, 10, 11, 12] },
];

describe('parseNifti: datatypes in both byte orders', () => {
  for (const c of CASES) {
    for (const littleEndian of [true, false]) {
      it(`${c.name} ${littleEndian ? 'little' : 'big'}-endian keeps the stored type and values`, () => {
        const vol = parse({ littleEndian, dims: [3, 2, 3, 2], datatype: c.datatype, values: c.values, sformCode: 1 });
        expect(vol.data.constructor.name).toBe(c.ctor);
        expect(Array.from(vol.data)).toEqual(c.values);
        expect(vol.shape).toEqual([2, 3, 2]);
        expect(vol.channels).toBe(1);
        expect(vol.meta.nifti).toMatchObject({ datatype: c.name, littleEndian, version: 1 });
        expect(vol.meta.warnings).toEqual([]);
      });
    }
  }

  it('does not alias or modify the caller bytes (big-endian swap happens on a copy)', () => {
    const bytes = syntheticNifti({ littleEndian: false, dims: [3, 2, 3, 2], datatype: 4, values: CASES[2].values, sformCode: 1 });
    const before = bytes.slice();
    const vol = parse(bytes);
    expect(bytes).toEqual(before);
    expect(vol.data.buffer).not.toBe(bytes.buffer);
  });

  it('int64 and uint64 become float64 with a warning, and say when precision is lost', () => {
    const exact = parse({ dims: [3, 2, 1, 1], datatype: 1024, values: [-5, 2 ** 40] , sformCode: 1 });
    expect(exact.data).toBeInstanceOf(Float64Array);
    expect(Array.from(exact.data)).toEqual([-5, 2 ** 40]);
    expect(warningCodes(exact)).toEqual(['NIFTI_INT64_AS_FLOAT64']);
    const big = parse({ littleEndian: false, dims: [3, 2, 1, 1], datatype: 1280, values: [1, 2 ** 60], sformCode: 1 });
    expect(Array.from(big.data)).toEqual([1, 2 ** 60]);
    expect(warningCodes(big)).toEqual(['NIFTI_INT64_PRECISION_LOST']);
    const neg = parse({ dims: [3, 1, 1, 1], datatype: 1024, values: [-(2 ** 62)], sformCode: 1 });
    expect(neg.data[0]).toBe(-(2 ** 62));
    expect(warningCodes(neg)).toEqual(['NIFTI_INT64_PRECISION_LOST']);
  });

  it('RGB24 becomes 3 planar uint8 channels (per time point)', () => {
    // 2 voxels × 2 time points, interleaved r,g,b.
    const payload = new Uint8Array([10, 20, 30, 11, 21, 31, 40, 50, 60, 41, 51, 61]);
    const vol = parse({ dims: [4, 2, 1, 1, 2], datatype: 128, payload, sformCode: 1 });
    expect(vol.channels).toBe(6);
    expect(vol.data).toBeInstanceOf(Uint8Array);
    expect(Array.from(vol.data)).toEqual([10, 11, 20, 21, 30, 31, 40, 41, 50, 51, 60, 61]);
  });

  it('RGBA32 becomes 4 planar uint8 channels', () => {
    const payload = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
    const vol = parse({ dims: [3, 2, 1, 1], datatype: 2304, bitpix: 32, payload, sformCode: 1 });
    expect(vol.channels).toBe(4);
    expect(Array.from(vol.data)).toEqual([1, 5, 2, 6, 3, 7, 4, 8]);
  });

  it.each([
    [32, 'complex64'],
    [1792, 'complex128'],
    [2048, 'complex256'],
    [1536, 'float128'],
    [1, 'binary'],
  ])('datatype %i (%s) is UNSUPPORTED_IMAGE', (datatype, name) => {
    const err = errorOf(() => parse({ dims: [3, 2, 2, 2], datatype, payload: new Uint8Array(256), bitpix: 64 }));
    expect(err.code).toBe('UNSUPPORTED_IMAGE');
    expect(err.message).toContain(name);
    expect(err.file).toBe(FILE);
  });

  it('an unknown datatype code is MALFORMED_HEADER', () => {
    expect(errorOf(() => parse({ dims: [3, 2, 2, 2], datatype: 999, payload: new Uint8Array(64) })).code).toBe('MALFORMED_HEADER');
    expect(errorOf(() => parse({ dims: [3, 2, 2, 2], datatype: 0, payload: new Uint8Array(64) })).code).toBe('MALFORMED_HEADER');
  });

  it('a wrong bitpix is reported, the datatype wins', () => {
    const vol = parse({ dims: [3, 2, 1, 1], datatype: 4, bitpix: 8, values: [-3, 300], sformCode: 1 });
    expect(Array.from(vol.data)).toEqual([-3, 300]);
    expect(warningCodes(vol)).toEqual(['NIFTI_BITPIX_MISMATCH']);
  });
});

describe('parseNifti: dimensions', () => {
  it('4-D and 5-D fold into planar channels in file order; dim[0]=4 with nt=1 is one channel', () => {
    const values = Array.from({ length: 2 * 2 * 3 }, (_, i) => i);
    const v5 = parse({ dims: [5, 2, 1, 1, 2, 3], datatype: 2, values, sformCode: 1 });
    expect(v5.shape).toEqual([2, 1, 1]);
    expect(v5.channels).toBe(6);
    expect(Array.from(v5.data)).toEqual(values);
    expect(v5.meta.extra?.niftiDims).toEqual([5, 2, 1, 1, 2, 3]);
    const v4 = parse({ dims: [4, 2, 2, 1, 1], datatype: 2, values: [1, 2, 3, 4], sformCode: 1 });
    expect(v4.channels).toBe(1);
    expect(v4.shape).toEqual([2, 2, 1]);
  });

  it('dims beyond dim[0] are ignored; a 2-D image has z = 1', () => {
    const vol = parse({ dims: [2, 3, 2, 0, -7], datatype: 2, values: [1, 2, 3, 4, 5, 6], sformCode: 1 });
    expect(vol.shape).toEqual([3, 2, 1]);
    expect(vol.channels).toBe(1);
  });

  it.each([
    [[0, 2, 2, 2]],
    [[8, 2, 2, 2, 1, 1, 1, 1]],
    [[-3, 2, 2, 2]],
    [[3, 0, 2, 2]],
    [[3, 2, -5, 2]],
    [[4, 2, 2, 2, 0]],
  ])('absurd dims %j are MALFORMED_HEADER', (dims) => {
    const err = errorOf(() => parse({ dims, datatype: 2, payload: new Uint8Array(64), sformCode: 1 }));
    expect(err.code).toBe('MALFORMED_HEADER');
    expect(err.file).toBe(FILE);
  });

  it('a voxel count over 2^31 is SIZE_LIMIT (checked before any allocation)', () => {
    expect(errorOf(() => parse({ dims: [3, 32767, 32767, 32767], datatype: 2, payload: new Uint8Array(8) })).code).toBe('SIZE_LIMIT');
    expect(errorOf(() => parse({ dims: [4, 2048, 2048, 512, 2], datatype: 2, payload: new Uint8Array(8) })).code).toBe('SIZE_LIMIT');
  });
});

describe('parseNifti: bad input', () => {
  it('non-NIfTI bytes are NOT_NIFTI', () => {
    expect(errorOf(() => parse(new Uint8Array(0))).code).toBe('NOT_NIFTI');
    expect(errorOf(() => parse(new TextEncoder().encode('hello, this is not an image at all'.repeat(20)))).code).toBe('NOT_NIFTI');
    // sizeof_hdr 540 without the NIfTI-2 magic
    const fake = new Uint8Array(600);
    new DataView(fake.buffer).setInt32(0, 540, true);
    expect(errorOf(() => parse(fake)).code).toBe('NOT_NIFTI');
  });

  it('a header cut short is TRUNCATED_FILE', () => {
    const bytes = syntheticNifti({ dims: [3, 2, 2, 2], datatype: 2, values: [1, 2, 3, 4, 5, 6, 7, 8], sformCode: 1 });
    const err = errorOf(() => parse(bytes.subarray(0, 200)));
    expect(err.code).toBe('TRUNCATED_FILE');
  });

  it('a payload shorter than the header says is TRUNCATED_FILE (raw and gzipped)', () => {
    const bytes = syntheticNifti({ dims: [3, 2, 2, 2], datatype: 4, values: [1, 2, 3, 4, 5, 6, 7, 8], sformCode: 1 });
    expect(errorOf(() => parse(bytes.subarray(0, bytes.length - 1))).code).toBe('TRUNCATED_FILE');
    // A complete gzip stream of too few bytes, and a gzip stream cut in the middle.
    expect(errorOf(() => parse(gzipSync(bytes.subarray(0, bytes.length - 4)))).code).toBe('TRUNCATED_FILE');
    const big = syntheticNifti({ dims: [3, 64, 64, 16], datatype: 4, values: Array.from({ length: 65536 }, (_, i) => (i * 7919) % 30011), sformCode: 1 });
    const gz = gzipSync(big);
    const cut = errorOf(() => parse(gz.subarray(0, Math.floor(gz.length / 2))));
    expect(cut.code).toBe('TRUNCATED_FILE');
    expect(cut.file).toBe(FILE);
  });

  it('gzip data that cannot be inflated is FILE_UNREADABLE', () => {
    const gz = gzipSync(syntheticNifti({ dims: [3, 8, 8, 8], datatype: 2, values: Array.from({ length: 512 }, (_, i) => i % 251), sformCode: 1 }));
    const corrupt = gz.slice();
    for (let i = 20; i < corrupt.length - 8; i += 3) corrupt[i] ^= 0x5a;
    const err = errorOf(() => parse(corrupt));
    expect(['FILE_UNREADABLE', 'TRUNCATED_FILE', 'NOT_NIFTI']).toContain(err.code);
    const notDeflate = new Uint8Array([0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(errorOf(() => parse(notDeflate)).code).toBe('FILE_UNREADABLE');
  });

  it('a multi-member gzip file is read whole', () => {
    const bytes = syntheticNifti({ dims: [3, 16, 16, 4], datatype: 2, values: Array.from({ length: 1024 }, (_, i) => i % 256), sformCode: 1 });
    const two = [gzipSync(bytes.subarray(0, 600)), gzipSync(bytes.subarray(600))];
    const joined = new Uint8Array(two[0].length + two[1].length);
    joined.set(two[0]);
    joined.set(two[1], two[0].length);
    const vol = parse(joined);
    expect(vol.data[1023]).toBe(1023 % 256);
    expect(Array.from(vol.data)).toEqual(Array.from({ length: 1024 }, (_, i) => i % 256));
  });

  it('a header-only pair without image bytes is FILE_NOT_FOUND naming the .img', () => {
    const hdr = syntheticNifti({ dims: [3, 2, 2, 1], datatype: 2, magic: 'ni1', sformCode: 1 });
    const err = errorOf(() => parseNifti(hdr, { file: '/data/x.hdr' }));
    expect(err.code).toBe('FILE_NOT_FOUND');
    expect(err.message).toContain('/data/x.img');
    const vol = parseNifti(hdr, { file: '/data/x.hdr', imageBytes: new Uint8Array([1, 2, 3, 4]) });
    expect(Array.from(vol.data)).toEqual([1, 2, 3, 4]);
    const gzImg = parseNifti(gzipSync(hdr), { file: '/data/x.hdr.gz', imageBytes: gzipSync(new Uint8Array([5, 6, 7, 8])) });
    expect(Array.from(gzImg.data)).toEqual([5, 6, 7, 8]);
    const short = errorOf(() => parseNifti(hdr, { file: '/data/x.hdr', imageBytes: new Uint8Array([1, 2, 3]) }));
    expect(short.code).toBe('TRUNCATED_FILE');
    expect(short.file).toBe('/data/x.img');
  });

  it('honours vox_offset past header extensions, and fixes a vox_offset inside the header with a warning', () => {
    const ext = new Uint8Array(4 + 32);
    const ev = new DataView(ext.buffer);
    ext[0] = 1;
    ev.setInt32(4, 32, true);
    ev.setInt32(8, 6, true); // ecode 6: comment
    const vol = parse({ dims: [3, 2, 1, 1], datatype: 2, values: [9, 8], extension: ext, voxOffset: 400, sformCode: 1 });
    expect(Array.from(vol.data)).toEqual([9, 8]);
    expect(vol.meta.extra?.niftiExtensions).toEqual([{ code: 6, size: 32 }]);
    const lowBytes = syntheticNifti({ dims: [3, 2, 1, 1], datatype: 2, values: [9, 8], sformCode: 1 });
    new DataView(lowBytes.buffer).setFloat32(108, 0, true);
    const low = parse(lowBytes);
    expect(Array.from(low.data)).toEqual([9, 8]);
    expect(warningCodes(low)).toEqual(['NIFTI_VOX_OFFSET_FIXED']);
  });
});

describe('parseNifti: scl_slope / scl_inter', () => {
  const values = [-2, 0, 3, 100];
  it('applies slope and intercept into float32', () => {
    const vol = parse({ dims: [3, 4, 1, 1], datatype: 4, values, sclSlope: 0.5, sclInter: -10, sformCode: 1 });
    expect(vol.data).toBeInstanceOf(Float32Array);
    expect(Array.from(vol.data)).toEqual([-11, -10, -8.5, 40]);
    expect(vol.meta.nifti).toMatchObject({ sclSlope: 0.5, sclInter: -10 });
    expect(vol.meta.warnings).toEqual([]);
  });

  it('keeps float64 when the source is float64', () => {
    const vol = parse({ dims: [3, 2, 1, 1], datatype: 64, values: [0.1, 1e10], sclSlope: 2, sclInter: 1, sformCode: 1 });
    expect(vol.data).toBeInstanceOf(Float64Array);
    expect(Array.from(vol.data)).toEqual([1.2, 2e10 + 1]);
  });

  it('slope 1 / inter 0 is lossless (stored type kept)', () => {
    const vol = parse({ dims: [3, 4, 1, 1], datatype: 4, values, sclSlope: 1, sclInter: 0, sformCode: 1 });
    expect(vol.data).toBeInstanceOf(Int16Array);
  });

  it('slope 0 means no scaling, with a warning that also reports an ignored intercept', () => {
    const zero = parse({ dims: [3, 4, 1, 1], datatype: 4, values, sclSlope: 0, sclInter: 0, sformCode: 1 });
    expect(zero.data).toBeInstanceOf(Int16Array);
    expect(Array.from(zero.data)).toEqual(values);
    expect(warningCodes(zero)).toEqual(['NIFTI_SCL_SLOPE_ZERO']);
    const withInter = parse({ dims: [3, 4, 1, 1], datatype: 4, values, sclSlope: 0, sclInter: 7, sformCode: 1 });
    expect(Array.from(withInter.data)).toEqual(values);
    expect(withInter.meta.warnings[0].message).toContain('scl_inter 7 is ignored');
  });

  it('a NaN or infinite slope means no scaling (warned); a valid slope with a NaN intercept is MALFORMED_HEADER', () => {
    const nan = parse({ dims: [3, 4, 1, 1], datatype: 4, values, sclSlope: NaN, sclInter: 3, sformCode: 1 });
    expect(Array.from(nan.data)).toEqual(values);
    expect(warningCodes(nan)).toEqual(['NIFTI_SCL_SLOPE_INVALID']);
    expect(errorOf(() => parse({ dims: [3, 4, 1, 1], datatype: 4, values, sclSlope: 2, sclInter: NaN, sformCode: 1 })).code).toBe(
      'MALFORMED_HEADER',
    );
  });
});

describe('parseNifti: geometry', () => {
  const base = { dims: [3, 2, 2, 2], datatype: 2, values: [1, 2, 3, 4, 5, 6, 7, 8] };

  it('sform wins over qform; RAS becomes LPS', () => {
    const vol = parse({
      ...base,
      sformCode: 2,
      qformCode: 1,
      srow: [2, 0, 0, 10, 0, 3, 0, 20, 0, 0, 4, 30],
      pixdim: [1, 5, 5, 5],
    });
    expect(vol.meta.nifti?.xform).toBe('sform');
    expect(vol.spacing).toEqual([2, 3, 4]);
    expect(vol.origin).toEqual([-10, -20, 30]);
    expect(Array.from(vol.direction)).toEqual([-1, 0, 0, 0, -1, 0, 0, 0, 1]);
  });

  it('qform: quaternion with qfac = -1 (nibabel formula)', () => {
    // 90° about z: b=c=0, d=sin(45°); qfac -1 flips k.
    const d = Math.SQRT1_2;
    const vol = parse({ ...base, qformCode: 1, quatern: [0, 0, d], qoffset: [1, 2, 3], pixdim: [-1, 2, 3, 4] });
    expect(vol.meta.nifti?.xform).toBe('qform');
    // RAS columns: i → +y·2, j → -x·3, k → -z·4; LPS negates x and y.
    const expected = [0, 1, 0, -1, 0, 0, 0, 0, -1];
    vol.direction.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 6));
    vol.spacing.forEach((v, i) => expect(v).toBeCloseTo([2, 3, 4][i], 6));
    expect(vol.origin).toEqual([-1, -2, 3]);
  });

  it('a tiny negative a² (rounding) is clamped to 0; a real |b,c,d| > 1 is MALFORMED_HEADER', () => {
    const q = Math.fround(Math.SQRT1_2 + 1e-7);
    const vol = parse({ ...base, qformCode: 1, quatern: [q, q, 0] });
    // 180° about the x=y axis maps x → y, y → x, z → -z.
    const ras = [0, 1, 0, 1, 0, 0, 0, 0, -1];
    const lps = ras.map((v, i) => (i < 6 ? -v : v));
    vol.direction.forEach((v, i) => expect(v).toBeCloseTo(lps[i], 5));
    expect(errorOf(() => parse({ ...base, qformCode: 1, quatern: [0.8, 0.8, 0] })).code).toBe('MALFORMED_HEADER');
  });

  it('qfac other than ±1 is treated as 1 with a warning', () => {
    const vol = parse({ ...base, qformCode: 1, pixdim: [0, 1, 1, 1] });
    expect(warningCodes(vol)).toEqual(['NIFTI_QFAC_INVALID']);
    expect(Array.from(vol.direction)).toEqual([-1, 0, 0, 0, -1, 0, 0, 0, 1]);
  });

  it('a sheared sform falls back to the qform with a warning, or fails without one', () => {
    const shear = [1, 0.5, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0];
    const vol = parse({ ...base, sformCode: 1, qformCode: 1, srow: shear, qoffset: [5, 6, 7] });
    expect(vol.meta.nifti?.xform).toBe('qform');
    expect(warningCodes(vol)).toEqual(['NIFTI_SFORM_UNUSABLE']);
    expect(vol.origin).toEqual([-5, -6, 7]);
    const err = errorOf(() => parse({ ...base, sformCode: 1, qformCode: 0, srow: shear }));
    expect(err.code).toBe('MALFORMED_HEADER');
    expect(err.message).toContain('shear');
    expect(errorOf(() => parse({ ...base, sformCode: 1, srow: [0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0] })).code).toBe('MALFORMED_HEADER');
  });

  it('no xform: pixdim only (method 1: RAS axes, origin 0), with a warning', () => {
    const vol = parse({ ...base, pixdim: [1, 1.5, 2, 2.5] });
    expect(vol.meta.nifti?.xform).toBe('pixdim');
    expect(vol.spacing).toEqual([1.5, 2, 2.5]);
    expect(vol.origin).toEqual([0, 0, 0]);
    expect(Array.from(vol.direction)).toEqual([-1, 0, 0, 0, -1, 0, 0, 0, 1]);
    expect(warningCodes(vol)).toEqual(['NIFTI_NO_XFORM']);
  });

  it('spatial units in metres are converted to mm, with a warning', () => {
    const vol = parse({ ...base, sformCode: 1, xyztUnits: 1, srow: [0.002, 0, 0, 0.1, 0, 0.002, 0, 0, 0, 0, 0.003, 0] });
    expect(vol.spacing.map((s) => +s.toFixed(6))).toEqual([2, 2, 3]);
    expect(vol.origin[0]).toBeCloseTo(-100, 4);
    expect(warningCodes(vol)).toEqual(['NIFTI_UNITS_CONVERTED']);
  });

  it('Analyze 7.5 (no magic): pixdim-only geometry with a warning; SPM scale factor applied', () => {
    const s: SyntheticNifti = { ...base, magic: '', pixdim: [0, 2, 2, 3], sclSlope: 2, sformCode: 11776 };
    const vol = parseNifti(syntheticNifti(s), { file: 'a.hdr', imageBytes: syntheticPayload(s) });
    expect(vol.meta.extra?.niftiFlavour).toBe('analyze');
    expect(vol.meta.nifti?.xform).toBe('pixdim');
    expect(vol.meta.nifti?.sformCode).toBe(0);
    expect(vol.spacing).toEqual([2, 2, 3]);
    expect(Array.from(vol.data)).toEqual([2, 4, 6, 8, 10, 12, 14, 16]);
    expect(warningCodes(vol)).toEqual(['NIFTI_ANALYZE_SPM_SCALE', 'NIFTI_ANALYZE_GEOMETRY']);
  });

  it('modality, kind and units come from the caller', () => {
    const plain = parse({ ...base, sformCode: 1 });
    expect(plain.modality).toBe('unknown');
    expect(plain.kind).toBe('intensity');
    expect(plain.meta.units).toBe('arbitrary');
    const ct = parse({ ...base, sformCode: 1 }, { modality: 'CT', units: 'HU' });
    expect(ct.modality).toBe('CT');
    expect(ct.meta.units).toBe('HU');
    const label = parse({ ...base, sformCode: 1 }, { kind: 'label' });
    expect(label.kind).toBe('label');
    expect(label.meta.units).toBe('label');
  });
});
