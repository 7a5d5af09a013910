#!/usr/bin/env python3
"""Summarises every NIfTI file under the shared test data with nibabel, as the reference the
voxshift NIfTI reader is tested against (test/fixtures/reference/nifti.json).

Usage: python3 scripts/reference/nibabel-summary.py [SHARED_DATA_DIR] > test/fixtures/reference/nifti.json
(needs nibabel and numpy; Debian: python3-nibabel python3-numpy).

For each *.nii, *.nii.gz, *.hdr, *.hdr.gz under nifti/ and labels/ it records:
- the full nibabel shape, header datatype, byte order, NIfTI version, qform/sform codes,
  the transform nibabel chose (sform if sform_code != 0, else qform if qform_code != 0, else base),
- the affine converted from RAS to LPS (first two rows negated), row-major 4x4,
- the scl slope/intercept nibabel applies (its array proxy's; 1/0 when there is no scaling),
- sum/min/max of get_fdata() and its values at deterministic voxel indices. Indices are into the
  data flattened in Fortran order (x fastest, then y, z, t, ...), i.e. the NIfTI file order, which is
  also voxshift's planar-channel order,
- or, when nibabel cannot load the file, the exception type and message.
"""
import json
import os
import sys

import nibabel as nib
import numpy as np

EXTS = ('.nii', '.nii.gz', '.hdr', '.hdr.gz')


def sample_indices(flat):
    n = flat.size
    idx = set(int(i) for i in np.linspace(0, n - 1, 12).round().astype(np.int64))
    idx.add(0)
    idx.add(n - 1)
    idx.add(int(np.argmax(flat)))
    idx.add(int(np.argmin(flat)))
    nz = np.flatnonzero(flat)
    if nz.size:
        for i in np.linspace(0, nz.size - 1, 8).round().astype(np.int64):
            idx.add(int(nz[i]))
    return sorted(idx)


def xform_of(hdr):
    if 'sform_code' not in hdr:
        return 'base'
    if int(hdr['sform_code']) != 0:
        return 'sform'
    if int(hdr['qform_code']) != 0:
        return 'qform'
    return 'base'


def summarise(path):
    img = nib.load(path)
    hdr = img.header
    aff = np.array(img.affine, dtype=np.float64)
    lps = aff.copy()
    lps[0:2, :] *= -1
    data = np.asarray(img.get_fdata(dtype=np.float64))
    flat = data.ravel(order='F')
    # nibabel moves the header scaling into the array proxy when it loads an image.
    slope = getattr(img.dataobj, 'slope', None)
    inter = getattr(img.dataobj, 'inter', None)
    idx = sample_indices(flat)
    out = {
        'class': type(img).__name__,
        'shape': [int(s) for s in img.shape],
        'datatype': str(hdr.get_data_dtype().newbyteorder('=')),
        'byteorder': 'big' if hdr.endianness == '>' else 'little',
        'xform': xform_of(hdr),
        'sformCode': int(hdr['sform_code']) if 'sform_code' in hdr else None,
        'qformCode': int(hdr['qform_code']) if 'qform_code' in hdr else None,
        'sclSlope': None if slope is None else float(slope),
        'sclInter': None if inter is None else float(inter),
        'affineLps': [float(v) for v in lps.ravel()],
        'sum': float(flat.sum()),
        'min': float(flat.min()),
        'max': float(flat.max()),
        'samples': [[i, float(flat[i])] for i in idx],
    }
    return out


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), '..', '..', '..', 'shared', 'data')
    root = os.path.abspath(root)
    files = []
    for sub in ('nifti', 'labels'):
        for dirpath, _, names in os.walk(os.path.join(root, sub)):
            for name in names:
                if name.endswith(EXTS):
                    files.append(os.path.relpath(os.path.join(dirpath, name), root))
    result = {'generator': 'scripts/reference/nibabel-summary.py', 'nibabel': nib.__version__,
              'numpy': np.__version__, 'files': {}}
    for rel in sorted(files):
        try:
            result['files'][rel] = summarise(os.path.join(root, rel))
        except Exception as e:  # noqa: BLE001 - the failure itself is the reference
            result['files'][rel] = {'error': type(e).__name__, 'message': str(e)}
    json.dump(result, sys.stdout, indent=1)
    sys.stdout.write('\n')


if __name__ == '__main__':
    main()
