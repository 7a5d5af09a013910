/**
 * Every NIfTI file of the shared test data against nibabel's reading of it
 * (test/fixtures/reference/nifti.json, made by scripts/reference/nibabel-summary.py).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { affineOf, geometryFromAffine } from '../../../volumes/affine.ts';
import { isVoxshiftError } from '../../../volumes/errors.ts';
import { readNifti } from '../../../volumes/nifti/index.ts';
import { FIXTURES, hasSharedData, sharedPath } from '../../helpers/shared-data.ts';

interface RefOk {
  shape: number[];
  datatype: string;
  byteorder: 'big' | 'little';
  xform: 'sform' | 'qform' | 'base';
  sformCode: number;
  qformCode: number;
  sclSlope: number;
  sclInter: number;
  affineLps: number[];
  sum: number;
  min: number;
  max: number;
  samples: [number, number][];
}
interface RefErr {
  error: string;
  message: string;
}
type Ref = RefOk | RefErr;

const reference = JSON.parse(readFileSync(join(FIXTURES, 'reference', 'nifti.json'), 'utf8')) as { files: Record<string, Ref> };
const readable = Object.entries(reference.files).filter((e): e is [string, RefOk] => !('error' in e[1]));

/** Values are float32 when scaled (nibabel: float64), so compare with a tight relative tolerance. */
function close(actual: number, expected: number, rel = 2e-7): boolean {
  return Math.abs(actual - expected) <= rel * Math.max(1, Math.abs(expected));
}

describe.skipIf(!hasSharedData())('readNifti on the shared data vs nibabel', () => {
  it('the reference covers every NIfTI file listed in MANIFEST.tsv', () => {
    const manifest = readFileSync(sharedPath('MANIFEST.tsv'), 'utf8')
      .split('\n')
      .map((line) => line.split('\t')[0])
      .filter((p) => /^(nifti|labels)\/.*\.(nii|nii\.gz|hdr|hdr\.gz)$/.test(p));
    expect(manifest.length).toBeGreaterThan(40);
    expect(Object.keys(reference.files).sort()).toEqual([...manifest].sort());
  });

  it.each(readable)('%s', async (rel, ref) => {
    const vol = await readNifti(sharedPath(rel));
    // Shape: x, y, z, then every further dimension folded into planar channels.
    const full = [...ref.shape, 1, 1].slice(0, Math.max(3, ref.shape.length));
    expect(vol.shape).toEqual(full.slice(0, 3));
    expect(vol.channels).toBe(full.slice(3).reduce((a, b) => a * b, 1));

    // Geometry field by field, from nibabel's LPS affine.
    const g = geometryFromAffine(ref.affineLps);
    for (let i = 0; i < 3; i++) {
      expect(Math.abs(vol.spacing[i] - g.spacing[i])).toBeLessThan(1e-3);
      expect(Math.abs(vol.origin[i] - g.origin[i])).toBeLessThan(1e-3);
    }
    vol.direction.forEach((d, i) => expect(Math.abs(d - g.direction[i])).toBeLessThan(1e-5));
    affineOf(vol).forEach((v, i) => expect(Math.abs(v - ref.affineLps[i])).toBeLessThan(1e-3));

    const meta = vol.meta.nifti!;
    expect(meta.xform).toBe(ref.xform);
    expect(meta.sformCode).toBe(ref.sformCode);
    expect(meta.qformCode).toBe(ref.qformCode);
    expect(meta.littleEndian).toBe(ref.byteorder === 'little');
    expect(vol.meta.format).toBe('nifti');
    expect(vol.meta.source).toBe(sharedPath(rel));

    // Stored dtype kept when there is no scaling; float32 real values when there is.
    const scaled = ref.sclSlope !== 1 || ref.sclInter !== 0;
    expect(vol.data.constructor.name).toBe(
      scaled ? 'Float32Array' : ({ uint8: 'Uint8Array', int16: 'Int16Array', int32: 'Int32Array', float32: 'Float32Array' } as Record<string, string>)[ref.datatype],
    );

    // Voxel values: samples (first, last, extremes, non-zeros) and whole-volume sum/min/max.
    const n = vol.data.length;
    expect(ref.samples.some(([i]) => i === n - 1)).toBe(true);
    for (const [i, value] of ref.samples) {
      if (!close(vol.data[i], value)) expect.fail(`voxel ${i}: ${vol.data[i]} vs nibabel ${value}`);
    }
    let sum = 0;
    let min = Infinity;
    let max = -Infinity;
    const data = vol.data;
    for (let i = 0; i < n; i++) {
      const v = data[i];
      sum += v;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    expect(close(min, ref.min)).toBe(true);
    expect(close(max, ref.max)).toBe(true);
    expect(close(sum, ref.sum, scaled ? 1e-6 : 1e-12)).toBe(true);
  });

  const failing = Object.entries(reference.files).filter((e): e is [string, RefErr] => 'error' in e[1]);
  it('nibabel refuses exactly the 3 header-only files and the non-NIfTI file', () => {
    expect(failing.map(([rel, r]) => `${rel}:${r.error}`).sort()).toEqual([
      'nifti/edge/nibabel_analyze.hdr:FileNotFoundError',
      'nifti/edge/nibabel_nifti1.hdr:FileNotFoundError',
      'nifti/edge/nibabel_nifti2.hdr:FileNotFoundError',
      'nifti/edge/nrjs_not-nifti.nii:ImageFileError',
    ]);
  });

  it.each(failing)('%s is refused with a VoxshiftError naming the file', async (rel, ref) => {
    const err = await readNifti(sharedPath(rel)).catch((e: unknown) => e);
    expect(isVoxshiftError(err)).toBe(true);
    if (!isVoxshiftError(err)) return;
    expect(err.shortCode).toBe(ref.error === 'FileNotFoundError' ? 'FILE_NOT_FOUND' : 'NOT_NIFTI');
    expect(err.file).toBe(sharedPath(rel));
  });
});
