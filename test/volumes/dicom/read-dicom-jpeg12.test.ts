/**
 * 12-bit lossy JPEG (4.51 extended, 4.53 spectral selection, 4.55 full progression), decoded by
 * cornerstone's JavaScript DCT decoder with our patch (level shift and progressive refinement sign).
 * dcm2niix and pydicom (Pillow) cannot decode these files; the references are the lossless original
 * of the same CT slice, dcmtk's dcmdjpeg (IJG 12-bit) and pydicom's published pixel values.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeCompressedFrame } from '../../../volumes/dicom/codecs.ts';
import { readDicomSeries } from '../../../volumes/dicom/read-dicom.ts';
import { isVoxshiftError } from '../../../volumes/errors.ts';
import type { Volume } from '../../../volumes/volume.ts';
import { hasSharedData, hasTool, sharedPath } from '../../helpers/shared-data.ts';

const CT = (f: string): string => sharedPath('dicom', 'ts_ct_slice_cornerstone', f);
const PYD = (f: string): string => sharedPath('dicom', 'pydicom_testfiles', f);

const CT_LOSSY = [
  'CTImage.dcm_JPEGProcess2_4TransferSyntax_1.2.840.10008.1.2.4.51.dcm',
  'CTImage.dcm_JPEGProcess6_8TransferSyntax_1.2.840.10008.1.2.4.53.dcm',
  'CTImage.dcm_JPEGProcess10_12TransferSyntax_1.2.840.10008.1.2.4.55.dcm',
];
/** RescaleSlope of the 12-bit CT files (the lossless original has slope 1): one stored step in HU. */
const CT_STEP = 2.0002442;

interface Diff {
  max: number;
  meanAbs: number;
  mean: number;
}

function diff(a: Volume, b: Volume): Diff {
  let max = 0;
  let sumAbs = 0;
  let sum = 0;
  for (let i = 0; i < a.data.length; i++) {
    const e = a.data[i] - b.data[i];
    sum += e;
    sumAbs += Math.abs(e);
    max = Math.max(max, Math.abs(e));
  }
  return { max, meanAbs: sumAbs / a.data.length, mean: sum / a.data.length };
}

function expectSameGeometry(v: Volume, ref: Volume, what: string): void {
  expect([...v.shape], what).toEqual([...ref.shape]);
  expect(v.channels, what).toBe(ref.channels);
  expect([...v.spacing], what).toEqual([...ref.spacing]);
  expect([...v.origin], what).toEqual([...ref.origin]);
  expect([...v.direction], what).toEqual([...ref.direction]);
}

describe('12-bit JPEG decoder module', () => {
  it('imports under Node without touching window, self or document', () => {
    const require = createRequire(import.meta.url);
    const pkg = require.resolve('@cornerstonejs/dicom-image-loader/package.json');
    const url = pathToFileURL(join(pkg, '..', 'dist', 'esm', 'codecs', 'jpeg.js')).href;
    const script = `
      const touched = [];
      for (const name of ['window', 'self', 'document', 'navigator', 'XMLHttpRequest']) {
        Object.defineProperty(globalThis, name, { configurable: true, get() { touched.push(name); return undefined; } });
      }
      const m = await import(${JSON.stringify(url)});
      console.log(JSON.stringify({ touched, type: typeof m.default }));`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
    expect(JSON.parse(out.trim())).toEqual({ touched: [], type: 'function' });
  });
});

describe('12-bit JPEG codestream errors', () => {
  const spec = { rows: 8, columns: 8, samplesPerPixel: 1, bitsAllocated: 16, pixelRepresentation: 0 };
  // SOF1, P = 12, 8×8, one component (id 1, 1×1 sampling, table 0)
  const sof12 = [0xff, 0xc1, 0x00, 0x0b, 12, 0x00, 0x08, 0x00, 0x08, 0x01, 0x01, 0x11, 0x00];

  it('a header with no scan is CODEC_FAILED naming the file (the JS decoder would return a flat image)', async () => {
    const bytes = new Uint8Array([0xff, 0xd8, ...sof12, 0xff, 0xd9]);
    const e = await decodeCompressedFrame('1.2.840.10008.1.2.4.51', bytes, spec, '/x/no-scan.dcm').catch((err: unknown) => err);
    expect(isVoxshiftError(e, 'CODEC_FAILED'), String(e)).toBe(true);
    expect((e as Error).message).toContain('/x/no-scan.dcm');
    expect((e as Error).message).toContain('no scan');
  });

  it('a scan without tables (the decoder throws a string) is CODEC_FAILED naming the file', async () => {
    const sos = [0xff, 0xda, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3f, 0x00];
    const bytes = new Uint8Array([0xff, 0xd8, ...sof12, ...sos, 0x12, 0x34, 0xff, 0x01, 0xff, 0xd9]);
    const e = await decodeCompressedFrame('1.2.840.10008.1.2.4.51', bytes, spec, '/x/bad-scan.dcm').catch((err: unknown) => err);
    expect(isVoxshiftError(e, 'CODEC_FAILED'), String(e)).toBe(true);
    expect((e as Error).message).toContain('/x/bad-scan.dcm');
  });

  it('precision above 12 bits is UNSUPPORTED_TRANSFER_SYNTAX', async () => {
    const sof16 = [...sof12];
    sof16[4] = 16;
    const bytes = new Uint8Array([0xff, 0xd8, ...sof16, 0xff, 0xd9]);
    const e = await decodeCompressedFrame('1.2.840.10008.1.2.4.51', bytes, spec, '/x/p16.dcm').catch((err: unknown) => err);
    expect(isVoxshiftError(e, 'UNSUPPORTED_TRANSFER_SYNTAX'), String(e)).toBe(true);
    expect((e as { details?: { precision?: number } }).details?.precision).toBe(16);
  });
});

describe.skipIf(!hasSharedData())('12-bit lossy JPEG files', () => {
  it('the CT slice in 4.51, 4.53 and 4.55 has the lossless original geometry and HU within the lossy error', { timeout: 30_000 }, async () => {
    const original = await readDicomSeries(CT('CTImage.dcm'));
    const lossy = await Promise.all(CT_LOSSY.map((f) => readDicomSeries(CT(f))));
    for (const [i, v] of lossy.entries()) {
      const name = CT_LOSSY[i];
      expectSameGeometry(v, original, name);
      expect(v.modality).toBe('CT');
      expect(v.meta.units).toBe('HU');
      expect(v.data, name).toBeInstanceOf(Float32Array); // slope 2.0002442
      const d = diff(v, original);
      // Measured: max 35.6 HU, mean |error| 3.84 HU, mean error −0.99 HU (12-bit requantisation
      // at 2 HU per step, IJG quality 90). Unpatched, the decoder was 29 HU too bright everywhere.
      expect(d.meanAbs, name).toBeLessThan(5);
      expect(d.max, name).toBeLessThan(50);
      expect(Math.abs(d.mean), name).toBeLessThan(2);
    }
    // The three encodings carry the same quantised coefficients (same tables, refinement down to
    // Al = 0), so a correct decoder gives identical samples; unpatched, 4.55 differed in 3031 of
    // 4096 blocks, up to 285 HU from the original (refinement bits added to negative coefficients).
    for (const v of lossy.slice(1)) expect(Buffer.from(v.data.buffer).equals(Buffer.from(lossy[0].data.buffer))).toBe(true);
  });

  it("pydicom's 12-bit NM image: pydicom's reference pixels, and close to the lossless JPEG-LL.dcm", { timeout: 30_000 }, async () => {
    const ext = await readDicomSeries(PYD('JPGExtended.dcm'));
    expect([...ext.shape]).toEqual([256, 1024, 1]);
    expect(ext.data).toBeInstanceOf(Int16Array);
    const at = (v: Volume, row: number, col: number): number => v.data[row * v.shape[0] + col];
    // pydicom's pixels_reference (pylibjpeg, GDCM): arr[420, 140] == 244, arr[230, 120] == 95;
    // IDCT rounding differs by at most one step between decoders (dcmdjpeg vs ours below).
    expect(Math.abs(at(ext, 420, 140) - 244)).toBeLessThanOrEqual(1);
    expect(Math.abs(at(ext, 230, 120) - 95)).toBeLessThanOrEqual(1);
    // JPEG-lossy.dcm is the same stream with an invalid scan end (Se) for a sequential JPEG.
    const bad = await readDicomSeries(PYD('JPEG-lossy.dcm'));
    expect(Buffer.from(bad.data.buffer).equals(Buffer.from(ext.data.buffer))).toBe(true);
    // JPEG-LL.dcm holds the same image losslessly (measured: mean |error| 2.27, max 36 over 0..278).
    const ll = await readDicomSeries(PYD('JPEG-LL.dcm'));
    expectSameGeometry(ext, ll, 'JPEG-LL.dcm');
    const d = diff(ext, ll);
    expect(d.meanAbs).toBeLessThan(3);
    expect(d.max).toBeLessThan(50);
  });

  it('the enhanced CT with two frames in 11 fragments and no offset table reads as two slices', { timeout: 30_000 }, async () => {
    const v = await readDicomSeries(CT('CT0012.fragmented_no_bot_jpeg_baseline.51.dcm'));
    expect([...v.shape]).toEqual([512, 512, 2]);
    expect(v.data).toBeInstanceOf(Int16Array);
    expect(v.spacing[0]).toBeCloseTo(0.388672, 9);
    expect(v.spacing[2]).toBeCloseTo(10, 9);
    // Two different perfusion maps (measured: 106314 pixels differ, ranges −14..1173 and −13..1199);
    // that the frames are split at the right fragments is checked against dcmdjpeg below.
    const n = 512 * 512;
    let differ = 0;
    for (let i = 0; i < n; i++) if (v.data[i] !== v.data[n + i]) differ++;
    expect(differ).toBeGreaterThan(n / 4);
    for (const k of [0, 1]) {
      let max = -Infinity;
      for (let i = k * n; i < (k + 1) * n; i++) max = Math.max(max, v.data[i]);
      expect(max).toBeGreaterThan(1000);
    }
  });
});

describe.skipIf(!hasSharedData() || !hasTool('dcmdjpeg'))('12-bit lossy JPEG vs dcmtk dcmdjpeg (IJG)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'voxshift-jpeg12-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const files: [string, number][] = [
    ...CT_LOSSY.map((f): [string, number] => [CT(f), CT_STEP]),
    [CT('CT0012.fragmented_no_bot_jpeg_baseline.51.dcm'), 1],
    [PYD('JPGExtended.dcm'), 1],
    [PYD('JPEG-lossy.dcm'), 1],
  ];
  for (const [path, step] of files) {
    it(path.split('/').pop() ?? path, { timeout: 30_000 }, async () => {
      const out = join(dir, `${path.split('/').pop() ?? 'x'}.raw.dcm`);
      execFileSync('dcmdjpeg', [path, out], { stdio: 'ignore', timeout: 30_000 });
      const ref = await readDicomSeries(out);
      const v = await readDicomSeries(path);
      expectSameGeometry(v, ref, path);
      const d = diff(v, ref);
      // Measured: at most one stored step apart (IDCT rounding), on 3–6 % of the pixels.
      expect(d.max).toBeLessThanOrEqual(step + 1e-3);
      expect(d.meanAbs).toBeLessThan(0.15 * step);
    });
  }
});

describe.skipIf(!hasSharedData())('a corrupted 12-bit JPEG file', () => {
  it('is CODEC_FAILED naming the file', { timeout: 30_000 }, async () => {
    const src = readFileSync(CT(CT_LOSSY[0]));
    // Find the scan (FF DA) of the codestream and put a reserved marker (FF 01) into its data.
    const sos = src.indexOf(Buffer.from([0xff, 0xda]), src.indexOf(Buffer.from([0xff, 0xd8, 0xff])));
    expect(sos).toBeGreaterThan(0);
    const bad = Buffer.from(src);
    bad[sos + 40] = 0xff;
    bad[sos + 41] = 0x01;
    const dir = mkdtempSync(join(tmpdir(), 'voxshift-jpeg12-bad-'));
    try {
      const file = join(dir, 'bad12.dcm');
      writeFileSync(file, bad);
      const e = await readDicomSeries(file).catch((err: unknown) => err);
      expect(isVoxshiftError(e, 'CODEC_FAILED'), String(e)).toBe(true);
      expect((e as Error).message).toContain(file);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
