import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { zipSync } from 'fflate';
import { afterAll, describe, expect, it } from 'vitest';
import { affineOf } from '../../volumes/affine.ts';
import { isVoxshiftError, type VoxshiftError } from '../../volumes/errors.ts';
import { detectFormat, readVolume, writeVolume } from '../../volumes/io.ts';
import { encodeNifti } from '../../volumes/nifti/encode-nifti.ts';
import { createVolume, dtypeOf, type Mat3, type Volume } from '../../volumes/volume.ts';
import { hasSharedData, sharedPath } from '../helpers/shared-data.ts';

const work = mkdtempSync(join(tmpdir(), 'voxshift-io-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function tilted(): Mat3 {
  const [x, y, z] = [2 / 7, 3 / 7, 6 / 7];
  const c = Math.cos(0.35);
  const s = Math.sin(0.35);
  const C = 1 - c;
  return [
    c + x * x * C, x * y * C - z * s, x * z * C + y * s,
    y * x * C + z * s, c + y * y * C, y * z * C - x * s,
    z * x * C - y * s, z * y * C + x * s, c + z * z * C,
  ] as unknown as Mat3;
}

function sample(): Volume {
  const data = new Int16Array(6 * 5 * 4).map((_, i) => ((i * 131) % 3000) - 1000);
  data[data.length - 1] = 2999;
  return createVolume({ data, shape: [6, 5, 4], spacing: [0.8, 1.25, 3], origin: [-30.5, 12.25, 44], direction: tilted(), modality: 'CT' });
}

/** Geometry within `tol` mm (NIfTI keeps float32 transforms) and identical voxels. */
function expectSame(a: Volume, b: Volume, tol: number): void {
  expect(b.shape).toEqual(a.shape);
  expect(b.channels).toBe(a.channels);
  const fa = affineOf(a);
  const fb = affineOf(b);
  fa.forEach((v, i) => expect(Math.abs(fb[i] - v)).toBeLessThanOrEqual(tol));
  expect(b.data[b.data.length - 1]).toBe(a.data[a.data.length - 1]);
  expect(Array.from(b.data)).toEqual(Array.from(a.data));
}

async function expectCode(p: Promise<unknown>, code: string): Promise<VoxshiftError> {
  try {
    await p;
  } catch (e) {
    expect(isVoxshiftError(e)).toBe(true);
    expect((e as VoxshiftError).shortCode).toBe(code);
    return e as VoxshiftError;
  }
  throw new Error(`expected ${code}, nothing was thrown`);
}

describe('detectFormat', () => {
  it('recognises each format by magic bytes, whatever the name', async () => {
    const vol = sample();
    const nii = encodeNifti(vol);
    writeFileSync(join(work, 'a.nii'), nii);
    writeFileSync(join(work, 'nifti-no-ext'), nii);
    writeFileSync(join(work, 'nifti.gz'), gzipSync(nii));
    const swapped = Buffer.from(nii);
    swapped.writeInt32BE(348, 0);
    writeFileSync(join(work, 'be-header.bin'), swapped);
    await writeVolume(vol, join(work, 'a.nrrd'));
    copyFileSync(join(work, 'a.nrrd'), join(work, 'nrrd.dat'));
    await writeVolume(vol, join(work, 'a.mha'));
    copyFileSync(join(work, 'a.mha'), join(work, 'meta.dat'));
    const dicomFiles = await writeVolume(vol, join(work, 'series'));
    copyFileSync(dicomFiles[0], join(work, 'slice-no-ext'));
    const zip = zipSync(Object.fromEntries(dicomFiles.map((f, i) => [`s/${i}.dcm`, new Uint8Array(readFileSync(f))])));
    writeFileSync(join(work, 'series.zip'), zip);
    writeFileSync(join(work, 'zip-no-ext'), zip);

    expect(await detectFormat(join(work, 'a.nii'))).toBe('nifti');
    expect(await detectFormat(join(work, 'nifti-no-ext'))).toBe('nifti');
    expect(await detectFormat(join(work, 'nifti.gz'))).toBe('nifti');
    expect(await detectFormat(join(work, 'be-header.bin'))).toBe('nifti');
    expect(await detectFormat(join(work, 'a.nrrd'))).toBe('nrrd');
    expect(await detectFormat(join(work, 'nrrd.dat'))).toBe('nrrd');
    expect(await detectFormat(join(work, 'a.mha'))).toBe('mha');
    expect(await detectFormat(join(work, 'meta.dat'))).toBe('mha');
    expect(await detectFormat(join(work, 'series'))).toBe('dicom');
    expect(await detectFormat(dicomFiles[0])).toBe('dicom');
    expect(await detectFormat(join(work, 'slice-no-ext'))).toBe('dicom');
    expect(await detectFormat(join(work, 'series.zip'))).toBe('zip');
    expect(await detectFormat(join(work, 'zip-no-ext'))).toBe('zip');
  });

  it('reports missing and unrecognised inputs', async () => {
    await expectCode(detectFormat(join(work, 'missing.nii')), 'FILE_NOT_FOUND');
    writeFileSync(join(work, 'notes.txt'), 'just some text, long enough to not be anything in particular');
    const err = await expectCode(detectFormat(join(work, 'notes.txt')), 'UNSUPPORTED_FORMAT');
    expect(err.details?.accepted).toContain('.nii.gz');
    writeFileSync(join(work, 'text.gz'), gzipSync(Buffer.from('plain text inside gzip, not an image header at all')));
    await expectCode(detectFormat(join(work, 'text.gz')), 'UNSUPPORTED_FORMAT');
  });

  it.skipIf(!hasSharedData())('classifies the shared NIfTI edge cases and a DICOM file', async () => {
    for (const f of ['nibabel_analyze.hdr', 'nrjs_air.hdr.gz', 'nrjs_air.img.gz', 'nrjs_big.nii.gz', 'nibabel_example_nifti2.nii.gz', 'nrjs_5D_small.nii']) {
      expect(await detectFormat(sharedPath('nifti', 'edge', f))).toBe('nifti');
    }
    expect(await detectFormat(sharedPath('dicom', 'pydicom_testfiles', 'CT_small.dcm'))).toBe('dicom');
    expect(await detectFormat(sharedPath('dicom', 'malformed', 'no_meta.dcm'))).toBe('dicom');
    // a raw implicit-VR data set (no preamble, no meta) without its .dcm name
    copyFileSync(sharedPath('dicom', 'malformed', 'rtstruct.dcm'), join(work, 'raw-dataset'));
    expect(await detectFormat(join(work, 'raw-dataset'))).toBe('dicom');
    const gz = await expectCode(detectFormat(sharedPath('dicom', 'malformed', 'zipMR.gz')), 'UNSUPPORTED_FORMAT');
    expect(gz.message).toMatch(/gzip-compressed DICOM/);
  });
});

describe('readVolume / writeVolume', () => {
  it('round-trips NIfTI → NRRD → MHA → NIfTI keeping geometry and voxels', async () => {
    const vol = sample();
    const dir = join(work, 'chain');
    expect(await writeVolume(vol, join(dir, 'a.nii.gz'))).toEqual([join(dir, 'a.nii.gz')]);
    const fromNifti = await readVolume(join(dir, 'a.nii.gz'));
    expect(fromNifti.meta.format).toBe('nifti');
    expect(dtypeOf(fromNifti.data)).toBe('int16');
    expectSame(vol, fromNifti, 1e-4);

    expect(await writeVolume(fromNifti, join(dir, 'b.nrrd'))).toEqual([join(dir, 'b.nrrd')]);
    const fromNrrd = await readVolume(join(dir, 'b.nrrd'));
    expect(fromNrrd.meta.format).toBe('nrrd');
    expectSame(fromNifti, fromNrrd, 1e-9);

    expect(await writeVolume(fromNrrd, join(dir, 'c.mhd'))).toEqual([join(dir, 'c.mhd'), join(dir, 'c.raw')]);
    const fromMha = await readVolume(join(dir, 'c.mhd'));
    expect(fromMha.meta.format).toBe('mha');
    expectSame(fromNrrd, fromMha, 1e-9);

    await writeVolume(fromMha, join(dir, 'd.nii'));
    const back = await readVolume(join(dir, 'd.nii'));
    expectSame(vol, back, 1e-4);
    expect(dtypeOf(back.data)).toBe('int16');
  });

  it('writes a DICOM series for a folder path and reads it back through the dispatcher', async () => {
    const vol = sample();
    for (const target of [join(work, 'dcm-noext'), join(work, 'dcm-slash') + '/']) {
      const files = await writeVolume(vol, target, { dicom: { seriesDescription: 'io test' } });
      expect(files).toHaveLength(vol.shape[2]);
      const back = await readVolume(target, { kind: 'label' });
      expect(back.meta.format).toBe('dicom');
      expect(back.kind).toBe('label');
      expect(back.modality).toBe('CT');
      expectSame(vol, back, 1e-4);
    }
    const existing = join(work, 'existing.d');
    mkdirSync(existing);
    expect(await writeVolume(vol, existing)).toHaveLength(4);
    expect(readdirSync(existing)).toHaveLength(4);
    await expectCode(writeVolume(vol, existing), 'INVALID_ARGUMENT');
    expect(await writeVolume(vol, existing, { overwrite: true })).toHaveLength(4);
  });

  it('reads a zip of DICOM files and passes kind/modality overrides to every reader', async () => {
    const vol = sample();
    const zip = join(work, 'series.zip');
    if (!readdirSync(work).includes('series.zip')) {
      const files = await writeVolume(vol, join(work, 'zip-src'));
      writeFileSync(zip, zipSync(Object.fromEntries(files.map((f, i) => [`${i}.dcm`, new Uint8Array(readFileSync(f))]))));
    }
    const fromZip = await readVolume(zip);
    expectSame(vol, fromZip, 1e-4);
    let calls = 0;
    await writeVolume(vol, join(work, 'ov.nrrd'));
    const ov = await readVolume(join(work, 'ov.nrrd'), { kind: 'label', modality: 'MR', onProgress: () => calls++ });
    expect(ov.kind).toBe('label');
    expect(ov.modality).toBe('MR');
    expect(calls).toBe(1);
    await writeVolume(vol, join(work, 'ov.nii'));
    expect((await readVolume(join(work, 'ov.nii'), { modality: 'CT' })).modality).toBe('CT');
  });

  it('refuses unknown extensions, misplaced options and silent overwrites', async () => {
    const vol = sample();
    const err = await expectCode(writeVolume(vol, join(work, 'out.png')), 'UNSUPPORTED_FORMAT');
    expect(err.details?.accepted).toEqual(expect.arrayContaining(['.nii', '.nii.gz', '.nrrd', '.nhdr', '.mha', '.mhd']));
    await expectCode(writeVolume(vol, join(work, 'x.nii'), { template: 'foo' }), 'INVALID_ARGUMENT');
    await expectCode(writeVolume(vol, join(work, 'x.nii'), { compress: true }), 'INVALID_ARGUMENT');
    await expectCode(writeVolume(vol, join(work, 'x.mha'), { dicom: { seriesNumber: 2 } }), 'INVALID_ARGUMENT');
    await writeVolume(vol, join(work, 'once.nii'));
    await expectCode(writeVolume(vol, join(work, 'once.nii')), 'INVALID_ARGUMENT');
    await writeVolume(vol, join(work, 'once.nii'), { overwrite: true });
    await writeVolume(vol, join(work, 'once.nhdr'));
    rmSync(join(work, 'once.nhdr'));
    // the stale detached data file alone also blocks a silent overwrite
    await expectCode(writeVolume(vol, join(work, 'once.nhdr')), 'INVALID_ARGUMENT');
    await expectCode(readVolume(join(work, 'once.nii'), { seriesInstanceUid: '1.2.3' }), 'INVALID_ARGUMENT');
    await expectCode(readVolume(join(work, 'nothing-here.nii')), 'FILE_NOT_FOUND');
  });
});
