#!/usr/bin/env python3
"""Reference Dice and surface distances for voxshift's validation/metrics (dice.ts, hausdorff.ts),
computed with numpy and scipy.ndimage on real TotalSegmentator label maps. Writes the "labels"
section of test/fixtures/reference/metrics.json (other sections are kept).

Usage: python3 scripts/reference/distance-metrics.py [SHARED_DATA_DIR] [OUT_JSON]
(Debian: python3-scipy python3-nibabel python3-numpy; use /usr/bin/python3.)

Cases: ref = the label map as stored (axis 0 = x, voxshift's voxel order); pred = ref shifted by
`shift` voxels (pred[i+sx, j+sy, k+sz] = ref[i, j, k], zeros shifted in), then label `dilate`
grown by one voxel with the 6-neighbourhood (scipy binary_dilation, cross structure) over the
shifted map. Spacing = the header's zooms (anisotropic for totalseg_example_seg_dicom).

Per label present in either map:
- dice = 2|A∩B| / (|A| + |B|);
- surfaces as MONAI's get_mask_edges: mask ^ binary_erosion(mask) (cross structure, border 0);
- directed distances A→B: distance_transform_edt(~edges_B, sampling=spacing)[edges_A];
- hd95 = max(P95(A→B), P95(B→A)) (numpy linear percentiles, MONAI's definition); also hausdorff
  (max distance) and assd (mean of both directions' distances pooled).
"""
import json
import os
import sys

import nibabel as nib
import numpy as np
import scipy
from scipy import ndimage

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, '..', 'shared', 'data')
OUT = sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, 'test', 'fixtures', 'reference', 'metrics.json')
CROSS = ndimage.generate_binary_structure(3, 1)


def shifted(ref, shift):
    out = np.zeros_like(ref)
    src = tuple(slice(0, n - s) for n, s in zip(ref.shape, shift))
    dst = tuple(slice(s, n) for n, s in zip(ref.shape, shift))
    out[dst] = ref[src]
    return out


def edges(m):
    return m ^ ndimage.binary_erosion(m, structure=CROSS)


def case(rel, shift, dilate):
    img = nib.load(os.path.join(SHARED, rel))
    ref = np.asarray(img.dataobj).astype(np.int32)
    spacing = [float(z) for z in img.header.get_zooms()[:3]]
    pred = shifted(ref, shift)
    grown = ndimage.binary_dilation(pred == dilate, structure=CROSS)
    pred[grown] = dilate
    labels = sorted(int(v) for v in np.union1d(np.unique(ref), np.unique(pred)) if v != 0)
    rows = {}
    for lab in labels:
        a, b = pred == lab, ref == lab
        na, nb = int(a.sum()), int(b.sum())
        row = {'dice': 2 * int((a & b).sum()) / (na + nb), 'predCount': na, 'refCount': nb}
        if na and nb:
            ea, eb = edges(a), edges(b)
            dab = ndimage.distance_transform_edt(~eb, sampling=spacing)[ea]
            dba = ndimage.distance_transform_edt(~ea, sampling=spacing)[eb]
            pab, pba = float(np.percentile(dab, 95)), float(np.percentile(dba, 95))
            both = np.concatenate([dab, dba])
            row.update(hd95=max(pab, pba), directed=[pab, pba], hausdorff=float(both.max()), assd=float(both.mean()))
        rows[str(lab)] = row
    binary = {'dice': 2 * int(((pred > 0) & (ref > 0)).sum()) / int((pred > 0).sum() + (ref > 0).sum())}
    return {'file': rel, 'shape': list(ref.shape), 'spacing': spacing, 'shift': list(shift), 'dilate': dilate,
            'labels': rows, 'binary': binary}


def main():
    out = json.load(open(OUT)) if os.path.exists(OUT) else {}
    out['labels'] = {
        'generator': f'scripts/reference/distance-metrics.py (scipy {scipy.__version__}, numpy {np.__version__})',
        'seg': case('labels/totalseg_example_seg.nii.gz', (1, 0, 1), 5),
        'segDicom': case('labels/totalseg_example_seg_dicom.nii.gz', (2, 0, 1), 5),
    }
    with open(OUT, 'w') as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write('\n')


if __name__ == '__main__':
    main()
