/**
 * The shared edge-case NIfTI files, one by one: what each exercises, and that it reads correctly or
 * fails with the exact error code. (Values/geometry vs nibabel: read-nifti-shared.test.ts.)
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isVoxshiftError, type ErrorCode } from '../../../volumes/errors.ts';
import { parseNifti, readNifti } from '../../../volumes/nifti/index.ts';
import { hasSharedData, sharedPath } from '../../helpers/shared-data.ts';
import { expectSameArray } from './expect-arrays.ts';

const edge = (name: string): string => sharedPath('nifti', 'edge', name);

async function failure(p: Promise<unknown>): Promise<{ code: ErrorCode; file?: string; message: string; details?: Record<string, unknown> }> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!isVoxshiftError(e)) throw new Error(`expected a VoxshiftError, got ${String(e)}`);
  return { code: e.shortCode, file: e.file, message: e.message, details: e.details };
}

const codes = (w: { code: string }[]): string[] => w.map((x) => x.code);

describe.skipIf(!hasSharedData())('shared NIfTI edge files', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'voxshift-nifti-edge-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('nrjs_avg152T1_LR_nifti.nii: big-endian, scl_slope 0 → unscaled uint8 with a warning', async () => {
    const v = await readNifti(edge('nrjs_avg152T1_LR_nifti.nii'));
    expect(v.meta.nifti).toMatchObject({ version: 1, littleEndian: false, datatype: 'uint8', xform: 'sform', sclSlope: 0 });
    expect(v.data).toBeInstanceOf(Uint8Array);
    expect(codes(v.meta.warnings)).toEqual(['NIFTI_SCL_SLOPE_ZERO']);
  });

  it('nrjs_avg152T1_LR_nifti2.nii.gz: NIfTI-2 float32 copy of the same volume and geometry', async () => {
    const v1 = await readNifti(edge('nrjs_avg152T1_LR_nifti.nii'));
    const v2 = await readNifti(edge('nrjs_avg152T1_LR_nifti2.nii.gz'));
    expect(v2.meta.nifti).toMatchObject({ version: 2, datatype: 'float32', littleEndian: true });
    expect(v2.shape).toEqual(v1.shape);
    expect(v2.origin).toEqual(v1.origin);
    expect(v2.spacing).toEqual(v1.spacing);
    expect(v2.direction).toEqual(v1.direction);
    expectSameArray(v2.data, Float32Array.from(v1.data));
  });

  it('nrjs_big.nii.gz / nrjs_little.nii.gz: byte-order twins (qform only) read identically; dim[0]=4 with nt=1 is one channel', async () => {
    const big = await readNifti(edge('nrjs_big.nii.gz'));
    const little = await readNifti(edge('nrjs_little.nii.gz'));
    expect(big.meta.nifti).toMatchObject({ littleEndian: false, xform: 'qform', sformCode: 0, qformCode: 1 });
    expect(little.meta.nifti).toMatchObject({ littleEndian: true, xform: 'qform' });
    expect(little.meta.extra?.niftiDims).toEqual([4, 64, 64, 21, 1]);
    expect(little.channels).toBe(1);
    expectSameArray(big.data, little.data);
    expect(big.origin).toEqual(little.origin);
    expect(big.direction).toEqual(little.direction);
    expect(big.data[big.data.length - 1]).toBe(little.data[little.data.length - 1]);
  });

  it('nrjs_with_extension.nii.gz: extension skipped via vox_offset 736 and listed in meta', async () => {
    const v = await readNifti(edge('nrjs_with_extension.nii.gz'));
    const ext = v.meta.extra?.niftiExtensions as { code: number; size: number }[];
    expect(ext.length).toBeGreaterThan(0);
    expect(ext.reduce((a, e) => a + e.size, 352)).toBeLessThanOrEqual(736);
    expect(v.shape).toEqual([161, 191, 151]);
    let ones = 0;
    for (let i = 0; i < v.data.length; i++) {
      if (v.data[i] !== 0 && v.data[i] !== 1) expect.fail(`voxel ${i} is ${v.data[i]}, not a mask value`);
      ones += v.data[i];
    }
    expect(ones).toBeGreaterThan(0);
  });

  it('nibabel_example_nifti2.nii.gz: NIfTI-2 4-D int16 with an extension (vox_offset 608) → 2 channels', async () => {
    const v = await readNifti(edge('nibabel_example_nifti2.nii.gz'));
    expect(v.meta.nifti?.version).toBe(2);
    expect(v.shape).toEqual([32, 20, 12]);
    expect(v.channels).toBe(2);
    expect(v.data).toBeInstanceOf(Int16Array);
    expect((v.meta.extra?.niftiExtensions as unknown[]).length).toBeGreaterThan(0);
  });

  it('nrjs_5D_small.nii: 5-D (1×2×3×1×3) folds to 3 channels, scaled to float32', async () => {
    const v = await readNifti(edge('nrjs_5D_small.nii'));
    expect(v.shape).toEqual([1, 2, 3]);
    expect(v.channels).toBe(3);
    expect(v.data).toBeInstanceOf(Float32Array);
    expect(v.meta.nifti?.xform).toBe('sform');
  });

  it('nibabel_functional.nii: 4-D int16 with slope/intercept → 20 float32 channels', async () => {
    const v = await readNifti(edge('nibabel_functional.nii'));
    expect(v.channels).toBe(20);
    expect(v.data).toBeInstanceOf(Float32Array);
    expect(v.meta.nifti?.sclInter).toBeCloseTo(3100.76171875, 5);
  });

  it('nibabel_anatomical.nii and nibabel_standard.nii.gz read (big-endian int16; tiny anisotropic sform-only)', async () => {
    const a = await readNifti(edge('nibabel_anatomical.nii'));
    expect(a.meta.nifti).toMatchObject({ littleEndian: false, datatype: 'int16' });
    const s = await readNifti(edge('nibabel_standard.nii.gz'));
    expect(s.shape).toEqual([4, 5, 7]);
    expect(s.spacing).toEqual([1, 3, 2]);
    expect(s.meta.nifti).toMatchObject({ xform: 'sform', qformCode: 0 });
  });

  it('nrjs_air.hdr.gz + .img.gz: a gzipped pair reads the same from either file', async () => {
    const fromHdr = await readNifti(edge('nrjs_air.hdr.gz'));
    const fromImg = await readNifti(edge('nrjs_air.img.gz'));
    expect(fromHdr.shape).toEqual([79, 67, 64]);
    expect(fromHdr.meta.source).toBe(edge('nrjs_air.hdr.gz'));
    expect(fromImg.meta.source).toBe(edge('nrjs_air.hdr.gz'));
    expectSameArray(fromImg.data, fromHdr.data);
    expect(fromImg.origin).toEqual(fromHdr.origin);
  });

  it('a pair with the image uncompressed beside a gzipped header is found', async () => {
    const { gunzipSync } = await import('fflate');
    copyFileSync(edge('nrjs_air.hdr.gz'), join(tmp, 'air.hdr.gz'));
    writeFileSync(join(tmp, 'air.img'), gunzipSync(readFileSync(edge('nrjs_air.img.gz'))));
    const v = await readNifti(join(tmp, 'air.hdr.gz'));
    const ref = await readNifti(edge('nrjs_air.hdr.gz'));
    expectSameArray(v.data, ref.data);
  });

  it.each(['nibabel_nifti1.hdr', 'nibabel_nifti2.hdr', 'nibabel_analyze.hdr'])('%s: header only → FILE_NOT_FOUND naming the .img', async (name) => {
    const err = await failure(readNifti(edge(name)));
    expect(err.code).toBe('FILE_NOT_FOUND');
    expect(err.file).toBe(edge(name));
    expect(err.message).toContain(edge(name.replace('.hdr', '.img')));
  });

  it('nibabel_analyze.hdr with a matching .img: Analyze read with pixdim-only geometry and SPM scaling, warned', async () => {
    const hdr = join(tmp, 'analyze.hdr');
    copyFileSync(edge('nibabel_analyze.hdr'), hdr);
    const img = new Uint8Array(91 * 109 * 91).map((_, i) => i % 251);
    writeFileSync(join(tmp, 'analyze.img'), img);
    const v = await readNifti(join(tmp, 'analyze.img'));
    expect(v.shape).toEqual([91, 109, 91]);
    expect(v.meta.extra?.niftiFlavour).toBe('analyze');
    expect(v.meta.nifti?.xform).toBe('pixdim');
    expect(v.spacing).toEqual([2, 2, 2]);
    expect(codes(v.meta.warnings)).toContain('NIFTI_ANALYZE_GEOMETRY');
    const slope = Math.fround(1715.044556);
    expect(v.data[1]).toBeCloseTo(slope, 1);
    expect(v.data[v.data.length - 1]).toBeCloseTo(((img.length - 1) % 251) * slope, -1);
  });

  it('atlases with intent NIFTI_INTENT_LABEL read as labels; other files as intensity unless the caller says', async () => {
    const aal = await readNifti(sharedPath('labels', 'mricron_aal.nii.gz'));
    expect(aal.kind).toBe('label');
    expect(aal.meta.units).toBe('label');
    expect(aal.meta.extra?.niftiIntentCode).toBe(1002);
    const seg = await readNifti(sharedPath('labels', 'totalseg_example_seg.nii.gz'));
    expect(seg.kind).toBe('intensity');
    expect((await readNifti(sharedPath('labels', 'totalseg_example_seg.nii.gz'), { kind: 'label' })).kind).toBe('label');
    const ct = await readNifti(sharedPath('nifti', 'ct', 'totalseg_example_ct_sm.nii.gz'), { modality: 'CT', units: 'HU' });
    expect([ct.modality, ct.meta.units, ct.kind]).toEqual(['CT', 'HU', 'intensity']);
  });

  it('nrjs_not-nifti.nii → NOT_NIFTI', async () => {
    const err = await failure(readNifti(edge('nrjs_not-nifti.nii')));
    expect(err.code).toBe('NOT_NIFTI');
    expect(err.file).toBe(edge('nrjs_not-nifti.nii'));
  });

  it('a missing file → FILE_NOT_FOUND; a pair image without header → FILE_NOT_FOUND', async () => {
    expect((await failure(readNifti(join(tmp, 'nope.nii.gz')))).code).toBe('FILE_NOT_FOUND');
    writeFileSync(join(tmp, 'lonely.img'), new Uint8Array(8));
    const err = await failure(readNifti(join(tmp, 'lonely.img')));
    expect(err.code).toBe('FILE_NOT_FOUND');
    expect(err.message).toContain('lonely.hdr');
  });

  it('a truncated copy of a real file → TRUNCATED_FILE naming the copy (raw and gzipped)', async () => {
    const raw = readFileSync(sharedPath('nifti', 'ct', 'clinical_scct.nii'));
    const cut = join(tmp, 'scct_cut.nii');
    writeFileSync(cut, raw.subarray(0, raw.length - 1000));
    const err = await failure(readNifti(cut));
    expect(err.code).toBe('TRUNCATED_FILE');
    expect(err.file).toBe(cut);
    expect(err.details).toMatchObject({ expectedBytes: raw.length, actualBytes: raw.length - 1000 });

    const gz = readFileSync(sharedPath('nifti', 'mr', 'niivue_MNI152_T1_2mm.nii.gz'));
    const cutGz = join(tmp, 'mni_cut.nii.gz');
    writeFileSync(cutGz, gz.subarray(0, Math.floor(gz.length * 0.6)));
    const errGz = await failure(readNifti(cutGz));
    expect(errGz.code).toBe('TRUNCATED_FILE');
    expect(errGz.file).toBe(cutGz);
  });

  it('parseNifti on bytes in memory equals readNifti, and does not keep the caller buffer', async () => {
    const bytes = new Uint8Array(readFileSync(edge('nibabel_anatomical.nii')));
    const fromBytes = parseNifti(bytes, { file: 'mem.nii' });
    const fromFile = await readNifti(edge('nibabel_anatomical.nii'));
    expectSameArray(fromBytes.data, fromFile.data);
    expect(fromBytes.data.buffer).not.toBe(bytes.buffer);
    expect(fromBytes.meta.source).toBe('mem.nii');
  });
});
