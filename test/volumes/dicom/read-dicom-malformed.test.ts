/**
 * Every file in shared/data/dicom/malformed, one by one: a correct volume, or a VoxshiftError with a
 * stable code that names the file — never a dependency's exception, never a hang.
 */
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readDicomSeries, scanDicom } from '../../../volumes/dicom/read-dicom.ts';
import { isVoxshiftError } from '../../../volumes/errors.ts';
import type { ErrorCode } from '../../../volumes/errors.ts';
import type { Volume } from '../../../volumes/volume.ts';
import { hasSharedData, sharedPath } from '../../helpers/shared-data.ts';
import { dicomReference, expectMatchesDcm2niix, expectMatchesPydicom } from './dicom-reference.ts';

const ref = dicomReference();
const dir = (): string => sharedPath('dicom', 'malformed');

type Outcome = { error: ErrorCode; why: string } | { check: (v: Volume, name: string) => void | Promise<void>; why: string };

const EXPECTED: Record<string, Outcome> = {
  'MR_truncated.dcm': { error: 'TRUNCATED_FILE', why: 'last 200 bytes of PixelData cut' },
  'rtplan_truncated.dcm': { error: 'TRUNCATED_FILE', why: 'a sequence runs past the end of the file' },
  'emri_small_jpeg_2k_lossless_too_short.dcm': {
    error: 'TRUNCATED_FILE',
    why: 'encapsulated pixel data cut short (dcm2niix decodes garbage: sum 590980 vs 4493276)',
  },
  'badVR.dcm': { error: 'MALFORMED_HEADER', why: 'NumberOfFrames (IS) = "1A"' },
  'no_meta.dcm': { error: 'NOT_DICOM', why: 'a stray byte, then a raw dataset: no element at byte 0 (pydicom finds no pixels either)' },
  'meta_missing_tsyntax.dcm': { error: 'MISSING_TAG', why: 'dataset after the meta is read as raw implicit LE; it has PixelData but no Rows' },
  'ExplVR_LitEndNoMeta.dcm': { error: 'NO_PIXEL_DATA', why: 'raw explicit LE RT Ion Plan, parsed, no image' },
  'ExplVR_BigEndNoMeta.dcm': { error: 'NO_PIXEL_DATA', why: 'raw explicit BE RT Ion Plan, parsed, no image' },
  'no_meta_group_length.dcm': { error: 'NO_PIXEL_DATA', why: 'meta without group length is fine; no image' },
  'UN_sequence.dcm': { error: 'NO_PIXEL_DATA', why: 'private UN sequence parsed; no image' },
  'empty_charset_LEI.dcm': { error: 'NO_PIXEL_DATA', why: 'empty SpecificCharacterSet is fine; no image' },
  'rtstruct.dcm': { error: 'NO_PIXEL_DATA', why: 'raw implicit LE RTSTRUCT; no image' },
  'priv_SQ.dcm': { error: 'NO_PIXEL_DATA', why: 'undefined-length private SQ parsed; no image' },
  'no-pixel-data.dcm': { error: 'NO_PIXEL_DATA', why: 'SR' },
  'nested_priv_SQ.dcm': { error: 'MALFORMED_HEADER', why: 'dicom-parser cannot follow the nested undefined-length private SQ (no image in it anyway)' },
  'dwv-test_no-number-rows.dcm': { error: 'MISSING_TAG', why: 'Rows absent' },
  'OT-PAL-8-face.dcm': { error: 'UNSUPPORTED_IMAGE', why: 'PALETTE COLOR' },
  'no-pixel-spacing.dcm': { error: 'UNSUPPORTED_IMAGE', why: 'PALETTE COLOR (it also lacks PixelSpacing)' },
  'JPEG2000-embedded-sequence-delimiter.dcm': { error: 'CODEC_FAILED', why: 'the codestream is cut at the fake delimiter; pydicom and dcm2niix fail too' },
  'zipMR.gz': {
    why: 'gzip of MR_small.dcm: gunzipped and read',
    check: async (v) => {
      const plain = await readDicomSeries(sharedPath('dicom', 'pydicom_testfiles', 'MR_small.dcm'));
      expect(Array.from(v.data)).toEqual(Array.from(plain.data));
      expect([...v.origin]).toEqual([...plain.origin]);
    },
  },
  'J2K_pixelrep_mismatch.dcm': {
    why: 'J2K codestream unsigned, PixelRepresentation 1, BitsStored 13: two\'s complement in 13 bits, as pydicom (dcm2niix reads it unsigned)',
    check: (v, name) => {
      expect(v.meta.dicom?.TransferSyntaxUID).toBe('1.2.840.10008.1.2.4.90');
      expectMatchesPydicom(v, ref.files[name].pydicom);
    },
  },
  'explicit_VR-UN.dcm': {
    why: 'almost all elements VR UN: values still read; same as dcm2niix and pydicom',
    check: (v, name) => {
      expectMatchesDcm2niix(v, ref.files[name].dcm2niix.outputs[0]);
      expectMatchesPydicom(v, ref.files[name].pydicom);
      expect(v.modality).toBe('CT');
    },
  },
  'bad_sequence.dcm': {
    why: 'implicit items inside an explicit file: read; same as dcm2niix',
    check: (v, name) => expectMatchesDcm2niix(v, ref.files[name].dcm2niix.outputs[0]),
  },
  'JLSL_RGB_ILV0.dcm': {
    why: 'file meta at byte 0 (no preamble): read; JPEG-LS ILV0 RGB (neither dcm2niix nor pydicom here decode JPEG-LS)',
    check: (v) => {
      expect([...v.shape]).toEqual([256, 256, 1]);
      expect(v.channels).toBe(3);
      expect(v.data).toBeInstanceOf(Uint8Array);
      // The image is the JPEG-LS test picture (a photo top-left, text, a gradient, noise). Correct
      // planar decoding gives smooth channels in the photo quadrant: neighbouring pixels differ far
      // less than when the same buffer is read as interleaved samples.
      const n = 256 * 256;
      const rough = (get: (c: number, i: number) => number): number => {
        let d = 0;
        for (let c = 0; c < 3; c++) for (let y = 0; y < 128; y++) for (let x = 1; x < 128; x++) d += Math.abs(get(c, y * 256 + x) - get(c, y * 256 + x - 1));
        return d / (3 * 128 * 127);
      };
      const planar = rough((c, i) => v.data[c * n + i]);
      const interleaved = rough((c, i) => v.data[i * 3 + c]);
      expect(planar).toBeLessThan(0.5 * interleaved);
      // a light picture: mean of each channel well above mid-grey
      for (let c = 0; c < 3; c++) {
        let sum = 0;
        for (let i = 0; i < n; i++) sum += v.data[c * n + i];
        expect(sum / n).toBeGreaterThan(128);
      }
    },
  },
};

describe.skipIf(!hasSharedData())('malformed DICOM files', () => {
  it('covers every file in the folder', () => {
    expect(readdirSync(dir()).sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  for (const [file, outcome] of Object.entries(EXPECTED)) {
    it(`${file}: ${'error' in outcome ? outcome.error : 'reads'} (${outcome.why})`, { timeout: 20_000 }, async () => {
      const path = sharedPath('dicom', 'malformed', file);
      const result = await readDicomSeries(path).then(
        (v) => ({ v }),
        (e: unknown) => ({ e }),
      );
      if ('error' in outcome) {
        expect('e' in result, `${file} should fail`).toBe(true);
        const e = (result as { e: unknown }).e;
        expect(isVoxshiftError(e), `not a VoxshiftError: ${String(e)}`).toBe(true);
        expect((e as { shortCode: string }).shortCode, (e as Error).message).toBe(outcome.error);
        expect((e as { file?: string }).file).toBe(path);
        expect((e as Error).message).toContain(path);
      } else {
        if ('e' in result) throw result.e;
        await outcome.check(result.v, `dicom/malformed/${file}`);
      }
    });
  }

  it('scanning the folder skips the bad files quietly and lists the good ones', async () => {
    const scan = await scanDicom(dir());
    const errors = Object.entries(EXPECTED).filter(([, o]) => 'error' in o);
    // decodability (codec, photometric) is checked when a series is read, not when it is listed
    const skippedNames = scan.skipped.map((s) => s.file.split('/').pop());
    for (const [f, o] of errors) {
      if ('error' in o && !['UNSUPPORTED_IMAGE', 'CODEC_FAILED', 'TRUNCATED_FILE'].includes(o.error)) expect(skippedNames, f).toContain(f);
    }
    expect(scan.series.length).toBeGreaterThanOrEqual(5);
  });
});
