import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { affineOf, applyAffine } from '../../../volumes/affine.ts';
import { encodeElement, encodePart10, formatDs } from '../../../volumes/dicom/dicom-writer-encode.ts';
import { isValidUid, newUid } from '../../../volumes/dicom/uid.ts';
import { SOP_CLASS, writeDicomSeries } from '../../../volumes/dicom/write-dicom.ts';
import { isVoxshiftError, VoxshiftError } from '../../../volumes/errors.ts';
import { createVolume, type Mat3, type Volume } from '../../../volumes/volume.ts';
import { hasSharedData, hasTool, sharedPath } from '../../helpers/shared-data.ts';
import { dcm2niixDump, expectSameAsDcm2niix, pydicomDump, referencePython } from './write-dicom-helpers.ts';

const work = mkdtempSync(join(tmpdir(), 'voxshift-write-dicom-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let dirCount = 0;
const freshDir = (): string => join(work, `out${++dirCount}`);

/** Rotation about an oblique axis: no column is axis-aligned. */
function tiltedDirection(flipK = false): Mat3 {
  const [ax, ay, az] = [0.3, -0.5, 0.8];
  const n = Math.hypot(ax, ay, az);
  const [x, y, z] = [ax / n, ay / n, az / n];
  const t = 0.4;
  const c = Math.cos(t);
  const s = Math.sin(t);
  const C = 1 - c;
  const m = [
    c + x * x * C, x * y * C - z * s, x * z * C + y * s,
    y * x * C + z * s, c + y * y * C, y * z * C - x * s,
    z * x * C - y * s, z * y * C + x * s, c + z * z * C,
  ];
  if (flipK) for (let r = 0; r < 3; r++) m[r * 3 + 2] = -m[r * 3 + 2];
  return m as unknown as Mat3;
}

function ctVolume(): Volume {
  const shape = [7, 5, 4] as const;
  const data = new Int16Array(7 * 5 * 4);
  for (let i = 0; i < data.length; i++) data[i] = ((i * 7919) % 4000) - 1024;
  data[data.length - 1] = 3071;
  return createVolume({
    data, shape, spacing: [0.6, 0.85, 2.5], origin: [-12.5, 40.25, 101.75], direction: tiltedDirection(), modality: 'CT',
  });
}

function mrFloatVolume(): Volume {
  const shape = [6, 5, 3] as const;
  const data = new Float32Array(6 * 5 * 3);
  for (let i = 0; i < data.length; i++) data[i] = Math.sin(i * 0.37) * 812.3 + 900.1;
  return createVolume({
    data, shape, spacing: [1.1, 0.95, 3.3], origin: [5, -7, 9], direction: tiltedDirection(true), modality: 'MR',
  });
}

async function expectCode(p: Promise<unknown>, code: string, param?: string): Promise<VoxshiftError> {
  try {
    await p;
  } catch (e) {
    expect(isVoxshiftError(e)).toBe(true);
    const err = e as VoxshiftError;
    expect(err.shortCode).toBe(code);
    if (param !== undefined) expect(err.param).toBe(param);
    return err;
  }
  throw new Error(`expected ${code}, nothing was thrown`);
}

describe('DICOM encoder', () => {
  it('pads UI with NUL and other strings with a space to even length', () => {
    const ui = encodeElement({ tag: 0x00080016, vr: 'UI', value: '1.2.3' });
    expect(ui.length).toBe(8 + 6);
    expect(ui[ui.length - 1]).toBe(0);
    expect(new DataView(ui.buffer).getUint16(6, true)).toBe(6);
    const lo = encodeElement({ tag: 0x0008103e, vr: 'LO', value: 'abc' });
    expect(lo[lo.length - 1]).toBe(0x20);
    const ow = encodeElement({ tag: 0x7fe00010, vr: 'OW', value: new Uint8Array(4) });
    expect(ow.length).toBe(12 + 4);
    expect(new DataView(ow.buffer).getUint32(8, true)).toBe(4);
  });

  it('writes preamble, DICM and a correct file meta group length', () => {
    const bytes = encodePart10('1.2.840.10008.5.1.4.1.1.7', '1.2.3.4', [{ tag: 0x00100010, vr: 'PN', value: 'X' }]);
    expect(Buffer.from(bytes.subarray(128, 132)).toString('latin1')).toBe('DICM');
    const dv = new DataView(bytes.buffer);
    expect(dv.getUint16(132, true)).toBe(0x0002);
    expect(dv.getUint16(134, true)).toBe(0x0000);
    const groupLength = dv.getUint32(140, true);
    // The first element after the meta group is (0010,0010).
    const after = 144 + groupLength;
    expect(dv.getUint16(after, true)).toBe(0x0010);
    expect(dv.getUint16(after + 2, true)).toBe(0x0010);
  });

  it('formats decimal strings in at most 16 characters and rejects over-long values', () => {
    for (const x of [0, -0, 1, -1024, Math.PI, -1e-9, 123456789.123456, 1 / 3, -2.5e20, 0.1 + 0.2]) {
      const s = formatDs(x);
      expect(s.length).toBeLessThanOrEqual(16);
      expect(Math.abs(Number(s) - x)).toBeLessThanOrEqual(Math.abs(x) * 1e-12);
    }
    expect(() => encodeElement({ tag: 0x00200011, vr: 'IS', value: '1234567890123' })).toThrow(VoxshiftError);
  });
});

describe('UIDs', () => {
  it('are valid, at most 64 characters and unique; a root is honoured', () => {
    const uids = new Set(Array.from({ length: 200 }, () => newUid()));
    expect(uids.size).toBe(200);
    for (const u of uids) {
      expect(u.startsWith('2.25.')).toBe(true);
      expect(isValidUid(u)).toBe(true);
    }
    const rooted = newUid('1.2.826.0.1.3680043.10.999');
    expect(rooted.startsWith('1.2.826.0.1.3680043.10.999.')).toBe(true);
    expect(isValidUid(rooted)).toBe(true);
    expect(() => newUid('1.02.3')).toThrow(VoxshiftError);
    expect(() => newUid(`1.${'2'.repeat(55)}`)).toThrow(VoxshiftError);
  });
});

describe('writeDicomSeries', () => {
  it('writes one CT file per slice with the expected header (read by pydicom)', async () => {
    const py = referencePython();
    const vol = ctVolume();
    const dir = freshDir();
    const res = await writeDicomSeries(vol, dir, { seriesDescription: 'synthetic CT', seriesNumber: 7 });
    expect(res.files).toHaveLength(vol.shape[2]);
    expect(readdirSync(dir).sort()).toEqual(['IM00001.dcm', 'IM00002.dcm', 'IM00003.dcm', 'IM00004.dcm']);
    expect(res.sopClassUid).toBe(SOP_CLASS.CT);
    expect(res.rescale).toEqual({ slope: 1, intercept: 0, signed: true, lossless: true, maxAbsError: 0 });
    expect(isValidUid(res.seriesInstanceUid)).toBe(true);
    const first = readFileSync(res.files[0]);
    expect(first.toString('latin1', 128, 132)).toBe('DICM');
    if (py === null) return;
    const slices = pydicomDump(res.files, py);
    const d = vol.direction;
    const [nx, ny] = vol.shape;
    slices.forEach((s, k) => {
      expect(s.sopClassUid).toBe(SOP_CLASS.CT);
      expect(s.modality).toBe('CT');
      expect(s.rows).toBe(ny);
      expect(s.columns).toBe(nx);
      expect(s.pixelSpacing[0]).toBeCloseTo(vol.spacing[1], 9);
      expect(s.pixelSpacing[1]).toBeCloseTo(vol.spacing[0], 9);
      const iop = [d[0], d[3], d[6], d[1], d[4], d[7]];
      s.iop.forEach((v, a) => expect(v).toBeCloseTo(iop[a], 9));
      const ipp = applyAffine(affineOf(vol), [0, 0, k]);
      s.ipp.forEach((v, a) => expect(v).toBeCloseTo(ipp[a], 6));
      expect(s.tags.SeriesInstanceUID).toBe(res.seriesInstanceUid);
      expect(s.tags.StudyInstanceUID).toBe(res.studyInstanceUid);
      expect(s.tags.SeriesDescription).toBe('synthetic CT');
      expect(s.tags.ImageType).toBe("['DERIVED', 'SECONDARY']");
      expect(s.tags.InstanceNumber).toBe(String(k + 1));
      expect(s.tags.TransferSyntax).toBe('1.2.840.10008.1.2.1');
      expect(s.tags.MediaStorageSOPInstanceUID).toBe(s.tags.SOPInstanceUID);
      expect(Number(s.tags.SpacingBetweenSlices)).toBeCloseTo(2.5, 9);
      expect(s.tags.PatientName).toBe('Anonymous');
      // pixel (row r, column c) of slice k is voxel (c, r, k)
      const expected = Array.from(vol.data.subarray(k * nx * ny, (k + 1) * nx * ny));
      expect(s.values).toEqual(expected);
    });
    expect(new Set(slices.map((s) => s.tags.SOPInstanceUID)).size).toBe(slices.length);
    expect(new Set(slices.map((s) => s.tags.FrameOfReferenceUID)).size).toBe(1);
  });

  describe.skipIf(!hasTool('dcm2niix'))('read back by dcm2niix', () => {
    it('oblique anisotropic CT: same LPS geometry (1e-3 mm) and identical values', async () => {
      const py = referencePython();
      if (py === null) return;
      const vol = ctVolume();
      const dir = freshDir();
      await writeDicomSeries(vol, dir);
      expectSameAsDcm2niix(vol, dcm2niixDump(dir, py), 0);
    });

    it('float MR with a left-handed tilted direction: geometry exact, values within the reported quantisation error', async () => {
      const py = referencePython();
      if (py === null) return;
      const vol = mrFloatVolume();
      const dir = freshDir();
      const res = await writeDicomSeries(vol, dir);
      expect(res.sopClassUid).toBe(SOP_CLASS.MR);
      expect(res.rescale.lossless).toBe(false);
      expect(res.rescale.signed).toBe(false);
      const range = Math.max(...vol.data) - Math.min(...vol.data);
      expect(res.rescale.maxAbsError).toBeGreaterThan(0);
      expect(res.rescale.maxAbsError).toBeLessThanOrEqual((range / 65000) * 0.5 * 1.0001);
      // dcm2niix stores the rescale in scl_slope/inter (float32), hence the small extra tolerance.
      expectSameAsDcm2niix(vol, dcm2niixDump(dir, py), res.rescale.maxAbsError + 1e-3);
      const slices = pydicomDump(res.files, py);
      const perSlice = vol.shape[0] * vol.shape[1];
      slices.forEach((s, k) => {
        s.values.forEach((v, n) => expect(Math.abs(v - vol.data[k * perSlice + n])).toBeLessThanOrEqual(res.rescale.maxAbsError + 1e-9));
      });
    });

    it('labels and unknown modality go to Secondary Capture, integers beyond int16 but within uint16 stay exact', async () => {
      const py = referencePython();
      if (py === null) return;
      const data = new Uint16Array(4 * 3 * 2).map((_, i) => (i === 5 ? 65535 : i * 1000));
      const vol = createVolume({ data, shape: [4, 3, 2], spacing: [2, 3, 4], kind: 'label', modality: 'CT' });
      const dir = freshDir();
      const res = await writeDicomSeries(vol, dir);
      expect(res.sopClassUid).toBe(SOP_CLASS.SC);
      expect(res.rescale).toMatchObject({ slope: 1, intercept: 0, signed: false, lossless: true });
      const slices = pydicomDump(res.files, py);
      expect(slices[0].modality).toBe('OT');
      expect(slices.flatMap((s) => s.values)).toEqual(Array.from(data));
      expectSameAsDcm2niix(vol, dcm2niixDump(dir, py), 0);
    });
  });

  it('integer data spanning more than int16 but at most 65536 values is stored losslessly with an intercept', async () => {
    const data = new Int32Array(3 * 2 * 2).map((_, i) => -40000 + i * 5000);
    const vol = createVolume({ data, shape: [3, 2, 2], modality: 'CT' });
    const res = await writeDicomSeries(vol, freshDir(), { seriesDescription: 'T1\\FLAIR' });
    expect(res.rescale).toMatchObject({ slope: 1, intercept: -40000, signed: false, lossless: true, maxAbsError: 0 });
    const py = referencePython();
    if (py === null) return;
    const slices = pydicomDump(res.files, py);
    expect(slices.flatMap((s) => s.values)).toEqual(Array.from(data));
    // a backslash would make two values of SeriesDescription
    expect(slices[0].tags.SeriesDescription).toBe('T1/FLAIR');
  });

  it('carries patient and study tags from a record template and from a DICOM file template', async () => {
    const py = referencePython();
    const vol = ctVolume();
    const res = await writeDicomSeries(vol, freshDir(), {
      template: { PatientName: 'Müller^Jörg', PatientID: 'P-001', StudyInstanceUID: '1.2.3.4.5', StudyDate: '20200102' },
    });
    expect(res.studyInstanceUid).toBe('1.2.3.4.5');
    if (py !== null) {
      const [s] = pydicomDump([res.files[0]], py);
      expect(s.tags.PatientName).toBe('Müller^Jörg');
      expect(s.tags.SpecificCharacterSet).toBe('ISO_IR 192');
      expect(s.tags.PatientID).toBe('P-001');
      expect(s.tags.StudyInstanceUID).toBe('1.2.3.4.5');
      expect(s.tags.StudyDate).toBe('20200102');
    }
    if (!hasSharedData()) return;
    const src = sharedPath('dicom', 'pydicom_testfiles', 'CT_small.dcm');
    const res2 = await writeDicomSeries(vol, freshDir(), { template: src });
    if (py !== null) {
      const [srcTags] = pydicomDump([src], py);
      const [s] = pydicomDump([res2.files[0]], py);
      expect(s.tags.PatientName).toBe(srcTags.tags.PatientName);
      expect(s.tags.PatientID).toBe(srcTags.tags.PatientID);
      expect(s.tags.StudyInstanceUID).toBe(srcTags.tags.StudyInstanceUID);
      expect(s.tags.SeriesInstanceUID).not.toBe(srcTags.tags.SeriesInstanceUID);
      expect(s.tags.FrameOfReferenceUID).not.toBe(srcTags.tags.FrameOfReferenceUID);
    }
  });

  it('rejects bad input with a VoxshiftError naming the parameter', async () => {
    const two = createVolume({ data: new Int16Array(16), shape: [2, 2, 2], channels: 2 });
    await expectCode(writeDicomSeries(two, freshDir()), 'INVALID_VOLUME', 'vol.channels');

    const wideLabel = createVolume({ data: new Int32Array([0, 1, 70000, 2]), shape: [2, 2, 1], kind: 'label' });
    await expectCode(writeDicomSeries(wideLabel, freshDir()), 'INVALID_VOLUME', 'vol.data');

    const fracLabel = createVolume({ data: new Float32Array([0, 1.5, 2, 3]), shape: [2, 2, 1], kind: 'label' });
    await expectCode(writeDicomSeries(fracLabel, freshDir()), 'INVALID_VOLUME', 'vol.data');

    for (const bad of [NaN, Infinity, -Infinity]) {
      const v = createVolume({ data: new Float32Array([0, 1, bad, 2]), shape: [2, 2, 1] });
      const err = await expectCode(writeDicomSeries(v, freshDir()), 'NON_FINITE_VALUES', 'vol.data');
      expect(err.details?.index).toBe(2);
    }

    const ok = createVolume({ data: new Int16Array(4), shape: [2, 2, 1] });
    await expectCode(writeDicomSeries(ok, freshDir(), { template: { Nonsense: 'x' } }), 'INVALID_ARGUMENT', 'template');
    await expectCode(writeDicomSeries(ok, freshDir(), { template: { StudyInstanceUID: 'not-a-uid' } }), 'INVALID_ARGUMENT', 'template');
    await expectCode(writeDicomSeries(ok, freshDir(), { template: { PatientID: 'x'.repeat(65) } }), 'INVALID_ARGUMENT', 'template');
    await expectCode(writeDicomSeries(ok, freshDir(), { template: { PatientID: 'a\\b' } }), 'INVALID_ARGUMENT', 'template');
    await expectCode(writeDicomSeries(ok, freshDir(), { template: join(work, 'missing.dcm') }), 'FILE_NOT_FOUND', 'template');
    const notDicom = join(work, 'not-dicom.txt');
    writeFileSync(notDicom, 'hello');
    await expectCode(writeDicomSeries(ok, freshDir(), { template: notDicom }), 'NOT_DICOM', 'template');
    await expectCode(writeDicomSeries(ok, freshDir(), { uidRoot: '1.2.x' }), 'INVALID_ARGUMENT', 'uidRoot');
    await expectCode(writeDicomSeries(ok, freshDir(), { seriesNumber: -1 }), 'INVALID_ARGUMENT', 'seriesNumber');
    await expectCode(writeDicomSeries(ok, notDicom), 'INVALID_ARGUMENT', 'outDir');
  });

  it('refuses a non-empty folder unless overwrite, then replaces its own files', async () => {
    const dir = freshDir();
    const big = createVolume({ data: new Int16Array(2 * 2 * 3), shape: [2, 2, 3] });
    await writeDicomSeries(big, dir);
    const small = createVolume({ data: new Int16Array([1, 2, 3, 4]), shape: [2, 2, 1] });
    await expectCode(writeDicomSeries(small, dir), 'INVALID_ARGUMENT', 'outDir');
    expect(readdirSync(dir)).toHaveLength(3);
    const res = await writeDicomSeries(small, dir, { overwrite: true });
    expect(readdirSync(dir)).toEqual(['IM00001.dcm']);
    expect(res.files).toEqual([join(dir, 'IM00001.dcm')]);
  });
});
