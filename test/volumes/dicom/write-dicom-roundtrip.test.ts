/**
 * DICOM → NIfTI → DICOM with a real series: our reader, our NIfTI writer and reader, our DICOM writer
 * (with the source series as template), then dcm2niix and our reader on what we wrote.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { affineOf } from '../../../volumes/affine.ts';
import { readDicomSeries } from '../../../volumes/dicom/read-dicom.ts';
import { SOP_CLASS, writeDicomSeries } from '../../../volumes/dicom/write-dicom.ts';
import { readNifti } from '../../../volumes/nifti/read-nifti.ts';
import { writeNifti } from '../../../volumes/nifti/write-nifti.ts';
import { hasSharedData, hasTool, sharedPath } from '../../helpers/shared-data.ts';
import { dcm2niixDump, expectSameAsDcm2niix, pydicomDump, referencePython } from './write-dicom-helpers.ts';

const work = mkdtempSync(join(tmpdir(), 'voxshift-dicom-rt-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe.skipIf(!hasSharedData())('DICOM → NIfTI → DICOM round trip', () => {
  // 5 CT slices of 16×16 (pydicom's downsized pcir.org data), int16 HU.
  const source = sharedPath('dicom', 'dicomdir_pydicom', '98892001', 'CT5N');

  it('keeps geometry and values, read back by our reader and by dcm2niix, and carries the patient/study', async () => {
    const original = await readDicomSeries(source);
    expect(original.shape).toEqual([16, 16, 5]);
    expect(original.modality).toBe('CT');

    const nii = join(work, 'ct.nii.gz');
    await writeNifti(original, nii);
    const fromNifti = await readNifti(nii, { modality: 'CT' });

    const outDir = join(work, 'ct-dicom');
    const res = await writeDicomSeries(fromNifti, outDir, { template: source, seriesDescription: 'round trip' });
    expect(res.sopClassUid).toBe(SOP_CLASS.CT);
    expect(res.rescale).toMatchObject({ slope: 1, intercept: 0, lossless: true });

    const back = await readDicomSeries(outDir);
    expect(back.shape).toEqual(original.shape);
    const a = affineOf(original);
    const b = affineOf(back);
    a.forEach((v, i) => expect(Math.abs(b[i] - v)).toBeLessThan(1e-3));
    expect(Array.from(back.data)).toEqual(Array.from(original.data));
    expect(original.meta.dicom?.PatientID).toBeTruthy();
    expect(back.meta.dicom?.PatientID).toBe(original.meta.dicom?.PatientID);
    expect(back.meta.dicom?.StudyInstanceUID).toBe(original.meta.dicom?.StudyInstanceUID);
    expect(back.meta.dicom?.SeriesInstanceUID).toBe(res.seriesInstanceUid);
    expect(back.meta.description).toBe('round trip');

    const py = referencePython();
    if (py === null || !hasTool('dcm2niix')) return;
    expectSameAsDcm2niix(original, dcm2niixDump(outDir, py), 0);
    const [src] = pydicomDump([join(source, '2062')], py);
    const [ours] = pydicomDump([res.files[0]], py);
    expect(ours.tags.PatientName).toBe(src.tags.PatientName);
    expect(ours.tags.PatientID).toBe(src.tags.PatientID);
    expect(ours.tags.StudyInstanceUID).toBe(src.tags.StudyInstanceUID);
    expect(ours.tags.SeriesInstanceUID).not.toBe(src.tags.SeriesInstanceUID);
  });
});
