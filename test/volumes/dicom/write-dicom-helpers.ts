/**
 * Reference readers for the DICOM writer tests: dcm2niix (+ nibabel) and pydicom, run as
 * subprocesses. Debian's python3 has the modules; a pyenv python3 first on PATH may not, so both are
 * tried.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { affineOf, applyAffine, invertAffine, rasToLpsAffine } from '../../../volumes/affine.ts';
import type { Volume } from '../../../volumes/volume.ts';
import { pythonWith } from '../../helpers/shared-data.ts';

/** A python3 that imports pydicom, nibabel and numpy, or null (a failure on CI). */
export function referencePython(): string | null {
  return pythonWith('pydicom, nibabel, numpy') ?? null;
}

export interface NiftiDump {
  /** RAS affine, row-major 4×4. */
  affine: number[];
  shape: number[];
  /** Voxel values in x-fastest order (after nibabel's scaling). */
  data: number[];
}

/** Runs dcm2niix on a folder and reads its single NIfTI with nibabel. */
export function dcm2niixDump(dicomDir: string, python: string): NiftiDump {
  const out = mkdtempSync(join(tmpdir(), 'voxshift-dcm2niix-'));
  try {
    execFileSync('dcm2niix', ['-z', 'n', '-b', 'n', '-f', 'vol', '-o', out, dicomDir], { stdio: 'pipe', timeout: 60_000 });
    const niis = readdirSync(out).filter((n) => n.endsWith('.nii'));
    if (niis.length !== 1) throw new Error(`dcm2niix wrote ${niis.length} NIfTI files: ${niis.join(', ')}`);
    const script = [
      'import json, sys, nibabel as nib, numpy as np',
      'img = nib.load(sys.argv[1])',
      'd = np.asarray(img.get_fdata(), dtype=np.float64)',
      'print(json.dumps({"affine": img.affine.ravel().tolist(), "shape": list(d.shape), "data": d.ravel(order="F").tolist()}))',
    ].join('\n');
    return JSON.parse(execFileSync(python, ['-c', script, join(out, niis[0])], { encoding: 'utf8', maxBuffer: 1 << 28 })) as NiftiDump;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

export interface PydicomSlice {
  file: string;
  ipp: number[];
  iop: number[];
  pixelSpacing: number[];
  rows: number;
  columns: number;
  slope: number;
  intercept: number;
  sopClassUid: string;
  modality: string;
  tags: Record<string, string>;
  /** Real values (stored × slope + intercept), row by row. */
  values: number[];
}

/** Reads each file with pydicom (no force) and returns geometry, a few tags and rescaled pixels. */
export function pydicomDump(files: string[], python: string): PydicomSlice[] {
  const script = [
    'import json, sys, pydicom, numpy as np',
    'out = []',
    'for f in sys.argv[1:]:',
    '    d = pydicom.dcmread(f)',
    '    px = d.pixel_array.astype(np.float64) * float(d.RescaleSlope) + float(d.RescaleIntercept)',
    '    tags = {k: str(d.get(k, "")) for k in ["PatientName", "PatientID", "StudyInstanceUID", "SeriesInstanceUID", "FrameOfReferenceUID", "SeriesDescription", "ImageType", "SpacingBetweenSlices", "SliceThickness", "InstanceNumber", "PixelRepresentation", "StudyDate", "SpecificCharacterSet", "TransferSyntax"]}',
    '    tags["TransferSyntax"] = str(d.file_meta.TransferSyntaxUID)',
    '    tags["MediaStorageSOPInstanceUID"] = str(d.file_meta.MediaStorageSOPInstanceUID)',
    '    tags["SOPInstanceUID"] = str(d.SOPInstanceUID)',
    '    out.append({"file": f, "ipp": [float(v) for v in d.ImagePositionPatient], "iop": [float(v) for v in d.ImageOrientationPatient],',
    '                "pixelSpacing": [float(v) for v in d.PixelSpacing], "rows": int(d.Rows), "columns": int(d.Columns),',
    '                "slope": float(d.RescaleSlope), "intercept": float(d.RescaleIntercept), "sopClassUid": str(d.SOPClassUID),',
    '                "modality": str(d.Modality), "tags": tags, "values": px.ravel().tolist()})',
    'print(json.dumps(out))',
  ].join('\n');
  return JSON.parse(execFileSync(python, ['-c', script, ...files], { encoding: 'utf8', maxBuffer: 1 << 28 })) as PydicomSlice[];
}

/**
 * Checks a dcm2niix NIfTI against the written volume: every voxel centre of the NIfTI must land on a
 * voxel centre of ours (within 1e-3 mm, in LPS) and hold the same value (within `tol`).
 */
export function expectSameAsDcm2niix(vol: Volume, ref: ReturnType<typeof dcm2niixDump>, tol: number): void {
  expect(ref.shape.slice(0, 3)).toEqual(expect.arrayContaining([...vol.shape]));
  expect(ref.shape.reduce((a, b) => a * b, 1)).toBe(vol.data.length);
  const refLps = rasToLpsAffine(ref.affine);
  const toOurs = invertAffine(affineOf(vol));
  const [nx, ny] = ref.shape;
  const ours = affineOf(vol);
  let checked = 0;
  for (let n = 0; n < ref.data.length; n++) {
    const i = n % nx;
    const j = Math.floor(n / nx) % ny;
    const k = Math.floor(n / (nx * ny));
    const world = applyAffine(refLps, [i, j, k]);
    const ijk = applyAffine(toOurs, world).map((v) => Math.round(v));
    expect(ijk.every((v, a) => v >= 0 && v < vol.shape[a])).toBe(true);
    const back = applyAffine(ours, ijk);
    for (let a = 0; a < 3; a++) expect(Math.abs(back[a] - world[a])).toBeLessThan(1e-3);
    const idx = ijk[0] + vol.shape[0] * (ijk[1] + vol.shape[1] * ijk[2]);
    expect(Math.abs(ref.data[n] - vol.data[idx])).toBeLessThanOrEqual(tol);
    checked++;
  }
  expect(checked).toBe(vol.data.length);
}

