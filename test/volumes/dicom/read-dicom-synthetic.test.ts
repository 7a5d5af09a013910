/**
 * Synthetic series for the rules no shared file exercises: slice sorting, tilt, uneven gaps and their
 * resampling, repeated positions as channels, MONOCHROME1, bits above HighBit, output types, stacks
 * split by orientation, missing geometry, and memory use on a 512×512×120 series.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import v8 from 'node:v8';
import vm from 'node:vm';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listDicomSeries, readDicomSeries } from '../../../volumes/dicom/read-dicom.ts';
import { isVoxshiftError, VoxshiftError } from '../../../volumes/errors.ts';
import { axialStack, writeSlices } from './synthetic-dicom.ts';
import type { SyntheticSlice } from './synthetic-dicom.ts';

const root = mkdtempSync(join(tmpdir(), 'voxshift-dicom-synth-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let counter = 0;
function series(slices: SyntheticSlice[]): string {
  const dir = join(root, `s${counter++}`);
  writeSlices(dir, slices);
  return dir;
}

async function rejection(p: Promise<unknown>): Promise<VoxshiftError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!isVoxshiftError(e)) throw new Error(`expected a VoxshiftError, got ${String(e)}`);
  return e;
}

describe('slice order and geometry', () => {
  it('sorts slices along the normal whatever the file order, origin at the first, spacing from positions', async () => {
    const dir = series(axialStack('1.2.3.1', [12, 6, 9, 3, 0], { sliceThickness: 5 }));
    const v = await readDicomSeries(dir);
    expect([...v.shape]).toEqual([5, 4, 5]);
    expect([...v.spacing]).toEqual([0.75, 0.5, 3]);
    expect([...v.origin]).toEqual([-10, -20, 0]);
    expect([...v.direction]).toEqual([1, 0, 0, 0, 1, 0, 0, 0, 1]);
    expect(v.data).toBeInstanceOf(Int16Array);
    // slice k holds the file written with z = 3k: instance (index into [12,6,9,3,0]) gives its values
    const zs = [12, 6, 9, 3, 0];
    for (let k = 0; k < 5; k++) {
      const src = zs.indexOf(3 * k);
      expect(v.data[k * 20]).toBe(10 + src * 100);
      expect(v.data[k * 20 + 19]).toBe(10 + src * 100 + 19);
    }
    expect(v.meta.warnings).toEqual([]);
  });

  it('sagittal: direction columns are the row cosine, column cosine and their cross product', async () => {
    const slices = [0, 2, 4].map((x, k) => ({
      ...axialStack('1.2.3.2', [0])[0],
      instance: k + 1,
      position: [x, 5, 7],
      orientation: [0, 1, 0, 0, 0, -1],
    }));
    const v = await readDicomSeries(series(slices));
    // row (0,1,0) × column (0,0,-1) = (-1, 0, 0): slices sorted along -x, so the first is x = 4
    expect([...v.direction]).toEqual([0, 0, -1, 1, 0, 0, 0, -1, 0]);
    expect([...v.origin]).toEqual([4, 5, 7]);
    expect(v.spacing[2]).toBeCloseTo(2, 9);
  });

  it('gantry tilt is GANTRY_TILT with the angle', async () => {
    const dz = 2;
    const shift = [0, 1, 2, 3].map((k) => k * dz * Math.tan((15 * Math.PI) / 180));
    const e = await rejection(readDicomSeries(series(axialStack('1.2.3.3', [0, 2, 4, 6], { xShift: shift }))));
    expect(e.shortCode).toBe('GANTRY_TILT');
    expect(e.details?.tiltDegrees as number).toBeCloseTo(15, 1);
    expect(e.message).toMatch(/15\.0\d°/);
  });

  it('positions rounded to 0.05 mm across the plane are not tilt', async () => {
    const v = await readDicomSeries(series(axialStack('1.2.3.4', [0, 2, 4, 6], { xShift: [0, 0.05, -0.05, 0.05] })));
    expect(v.shape[2]).toBe(4);
    expect(v.meta.warnings).toEqual([]);
  });

  it('a drift under a quarter pixel (0.5 mm pixels: 0.125 mm) is ignored with a warning; above, GANTRY_TILT', async () => {
    const v = await readDicomSeries(series(axialStack('1.2.3.5', [0, 2, 4, 6], { xShift: [0, 0.04, 0.08, 0.12] })));
    expect(v.meta.warnings.map((w) => w.code)).toEqual(['DICOM_SMALL_DRIFT_IGNORED']);
    const e = await rejection(readDicomSeries(series(axialStack('1.2.3.6', [0, 2, 4, 6], { xShift: [0, 0.1, 0.2, 0.3] }))));
    expect(e.shortCode).toBe('GANTRY_TILT');
  });
});

describe('uneven spacing', () => {
  const zs = [0, 1, 2, 3.5, 4.5];
  it("'error' gives UNEVEN_SPACING with the gaps", async () => {
    const e = await rejection(readDicomSeries(series(axialStack('1.2.4.1', zs)), { unevenSpacing: 'error' }));
    expect(e.shortCode).toBe('UNEVEN_SPACING');
    expect(e.details?.gaps).toEqual([1, 1, 1.5, 1]);
  });

  it("'resample' (default) interpolates linearly onto the median spacing over the same extent", async () => {
    const v = await readDicomSeries(series(axialStack('1.2.4.2', zs)));
    // extent 4.5 mm / median gap 1 mm → 6 slices, 0.9 mm apart
    expect([...v.shape]).toEqual([5, 4, 6]);
    expect(v.spacing[2]).toBeCloseTo(0.9, 12);
    expect(v.data).toBeInstanceOf(Float32Array);
    expect(v.meta.warnings.map((w) => w.code)).toEqual(['DICOM_UNEVEN_SPACING_RESAMPLED']);
    expect(v.meta.warnings[0].message).toContain('1.000, 1.000, 1.500, 1.000');
    // source slice s has value 10 + s*100 + i; target z = 0.9t
    const at = (z: number): number => {
      const s = zs.findIndex((q, i) => z >= q && z <= zs[i + 1]);
      const w = (z - zs[s]) / (zs[s + 1] - zs[s]);
      return 10 + 100 * (s + w);
    };
    for (let t = 0; t < 6; t++) expect(v.data[t * 20]).toBeCloseTo(t === 5 ? 410 : at(0.9 * t), 3);
    expect(v.data[5 * 20 + 19]).toBeCloseTo(429, 4);
  });

  it('gaps within 1% (and above 0.01 mm) are kept as they are', async () => {
    const v = await readDicomSeries(series(axialStack('1.2.4.3', [0, 1, 2.005, 3])));
    expect(v.shape[2]).toBe(4);
    expect(v.data).toBeInstanceOf(Int16Array);
    expect(v.spacing[2]).toBeCloseTo(1, 12);
  });
});

describe('repeated positions become channels', () => {
  it('3 positions × 2 time points: channels ordered by TemporalPositionIdentifier', async () => {
    const slices: SyntheticSlice[] = [];
    for (const t of [2, 1]) {
      for (const [k, z] of [4, 0, 2].entries()) {
        const pixels = new Uint16Array(20).fill(1000 * t + z);
        slices.push({ ...axialStack('1.2.5.1', [z])[0], instance: 10 * t + k, temporalPosition: t, pixels });
      }
    }
    const v = await readDicomSeries(series(slices));
    expect([...v.shape]).toEqual([5, 4, 3]);
    expect(v.channels).toBe(2);
    for (let c = 0; c < 2; c++) for (let k = 0; k < 3; k++) expect(v.data[c * 60 + k * 20 + 7]).toBe(1000 * (c + 1) + 2 * k);
  });

  it('a position with a missing time point is INCONSISTENT_SERIES', async () => {
    const slices = [...axialStack('1.2.5.2', [0, 1, 2]), { ...axialStack('1.2.5.2', [1])[0], instance: 9 }];
    const e = await rejection(readDicomSeries(series(slices)));
    expect(e.shortCode).toBe('INCONSISTENT_SERIES');
    expect(e.details?.framesPerPosition).toEqual([1, 2, 1]);
  });
});

describe('pixel values', () => {
  it('bits above HighBit are masked; signed 12-bit values are sign-extended', async () => {
    const unsigned = axialStack('1.2.6.1', [0], { bitsStored: 12 });
    unsigned[0].pixels = Uint16Array.from({ length: 20 }, (_, i) => 0xf000 | (i * 200));
    const u = await readDicomSeries(series(unsigned));
    expect(Array.from(u.data)).toEqual(Array.from({ length: 20 }, (_, i) => i * 200));
    const signed = axialStack('1.2.6.2', [0], { bitsStored: 12, signed: true });
    signed[0].pixels = Uint16Array.from([0x0fff, 0x0800, 0x07ff, 0xa001, ...new Array<number>(16).fill(0)]);
    const s = await readDicomSeries(series(signed));
    expect(Array.from(s.data.subarray(0, 4))).toEqual([-1, -2048, 2047, 1]);
    expect(s.data).toBeInstanceOf(Int16Array);
  });

  it('MONOCHROME1 is inverted within the stored range, with a warning', async () => {
    const slices = axialStack('1.2.6.3', [0], { photometric: 'MONOCHROME1', bitsStored: 12 });
    slices[0].pixels = Uint16Array.from({ length: 20 }, (_, i) => i);
    const v = await readDicomSeries(series(slices));
    expect(v.data[0]).toBe(4095);
    expect(v.data[19]).toBe(4095 - 19);
    expect(v.meta.warnings.map((w) => w.code)).toContain('DICOM_MONOCHROME1_INVERTED');
  });

  it('CT: 16-bit signed with intercept -1024 becomes int16 HU when the values fit', async () => {
    const slices = axialStack('1.2.6.4', [0, 1], { modality: 'CT', signed: true, intercept: -1024, slope: 1 });
    slices[1].pixels = Uint16Array.from({ length: 20 }, (_, i) => (i === 0 ? 0xffff : 3000));
    const v = await readDicomSeries(series(slices));
    expect(v.data).toBeInstanceOf(Int16Array);
    expect(v.meta.units).toBe('HU');
    expect(v.modality).toBe('CT');
    expect(v.data[20]).toBe(-1025);
    expect(v.data[21]).toBe(1976);
    // the same with a stored value that overflows int16 after the intercept: float32, exact
    const big = axialStack('1.2.6.5', [0], { modality: 'CT', signed: true, intercept: -1024, slope: 1 });
    big[0].pixels = Uint16Array.from({ length: 20 }, () => 0x8000); // -32768 → -33792 HU
    const b = await readDicomSeries(series(big));
    expect(b.data).toBeInstanceOf(Float32Array);
    expect(b.data[0]).toBe(-33792);
  });

  it('a non-integer rescale gives float32 real values', async () => {
    const v = await readDicomSeries(series(axialStack('1.2.6.6', [0], { slope: 0.5, intercept: 0.25 })));
    expect(v.data).toBeInstanceOf(Float32Array);
    expect(v.data[3]).toBeCloseTo((10 + 3) * 0.5 + 0.25, 6);
  });
});

describe('series grouping and missing geometry', () => {
  it('one SeriesInstanceUID with two orientations is two stacks', async () => {
    const axial = axialStack('1.2.7.1', [0, 1]);
    const coronal = [0, 1].map((y, k) => ({ ...axialStack('1.2.7.1', [0])[0], instance: 10 + k, position: [0, y, 0], orientation: [1, 0, 0, 0, 0, -1] }));
    const dir = series([...axial, ...coronal]);
    const list = await listDicomSeries(dir);
    expect(list.map((s) => s.id).sort()).toEqual(['1.2.7.1#1', '1.2.7.1#2']);
    const e = await rejection(readDicomSeries(dir));
    expect(e.shortCode).toBe('MULTIPLE_SERIES');
    const v = await readDicomSeries(dir, { seriesInstanceUid: list.find((s) => s.frames === 2 && s.id.endsWith('#2'))?.id });
    expect(v.shape[2]).toBe(2);
  });

  it('no position/orientation/pixel spacing: identity geometry, 1 mm pixels, SliceThickness as 3rd spacing, warnings', async () => {
    const s = axialStack('1.2.7.2', [0], { sliceThickness: 2.5 })[0];
    const v = await readDicomSeries(series([{ ...s, position: undefined, orientation: undefined, pixelSpacing: undefined }]));
    expect([...v.spacing]).toEqual([1, 1, 2.5]);
    expect([...v.origin]).toEqual([0, 0, 0]);
    expect([...v.direction]).toEqual([1, 0, 0, 0, 1, 0, 0, 0, 1]);
    expect(v.meta.warnings.map((w) => w.code).sort()).toEqual(['DICOM_NO_ORIENTATION', 'DICOM_NO_PIXEL_SPACING', 'DICOM_NO_POSITION']);
  });
});

describe('memory', () => {
  it('a 512×512×120 CT series peaks well under 3× its float32 size', { timeout: 120_000 }, async () => {
    const n = 120;
    const rows = 512;
    const slices = Array.from({ length: n }, (_, k) => {
      const pixels = new Uint16Array(rows * rows);
      for (let i = 0; i < pixels.length; i += 97) pixels[i] = (k * 13 + i) & 0x0fff;
      return {
        ...axialStack('1.2.8.1', [k * 1.5])[0],
        rows,
        columns: rows,
        instance: k + 1,
        modality: 'CT',
        signed: true,
        intercept: -1024,
        slope: 1,
        pixels,
      } as SyntheticSlice;
    });
    const dir = series(slices);
    slices.length = 0;
    const float32Bytes = rows * rows * n * 4;
    const used = (): number => {
      const m = process.memoryUsage();
      return m.heapUsed + m.arrayBuffers;
    };
    // a collectable heap, so that `before` does not count the slices written above
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    gc();
    const before = used();
    let peak = before;
    const v = await readDicomSeries(dir, { onProgress: () => (peak = Math.max(peak, used())) });
    peak = Math.max(peak, used());
    expect(v.data).toBeInstanceOf(Int16Array);
    expect([...v.shape]).toEqual([512, 512, n]);
    expect(v.data[(n - 1) * rows * rows + 97]).toBe((((n - 1) * 13 + 97) & 0x0fff) - 1024);
    // int32 staging (2× int16) then the int16 result: about 1.5× the float32 size, plus one file
    expect(peak - before, `peak ${((peak - before) / float32Bytes).toFixed(2)}× the float32 size`).toBeLessThan(3 * float32Bytes);
    if (process.env.VOXSHIFT_REPORT_MEMORY) console.log(`DICOM read peak: ${((peak - before) / float32Bytes).toFixed(2)}× float32 voxels`);
  });
});

describe('a bad file inside a series', () => {
  it('a slice truncated in its pixel data fails the read with TRUNCATED_FILE naming that file', async () => {
    const { readdirSync, readFileSync, writeFileSync } = await import('node:fs');
    const dir = series(axialStack('1.2.9.1', [0, 1, 2, 3]));
    const victim = join(dir, readdirSync(dir).sort()[2]);
    const bytes = readFileSync(victim);
    writeFileSync(victim, bytes.subarray(0, bytes.length - 10));
    const e = await rejection(readDicomSeries(dir));
    expect(e.shortCode).toBe('TRUNCATED_FILE');
    expect(e.file).toBe(victim);
  });
});
