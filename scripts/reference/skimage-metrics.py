#!/usr/bin/env python3
"""Reference image metrics for voxshift's validation/metrics, computed with scikit-image, scipy and
numpy on real volumes from the shared test data. Writes the "images" section of
test/fixtures/reference/metrics.json (other sections are kept).

Usage: python3 scripts/reference/skimage-metrics.py [SHARED_DATA_DIR] [OUT_JSON]
(Debian: python3-skimage python3-scipy python3-nibabel python3-numpy; use /usr/bin/python3.)

Cases (arrays as nibabel gives them, axis 0 = x, i.e. voxshift's voxel order; values float64):
- mr: nifti/mr/niivue_MNI152_T1_2mm. pred = ref blurred along x with [1, 2, 1]/4 (edge voxels
  repeated) + 40 * ((7i + 3j + k) % 11 - 5). Data range = [min(ref), max(ref)].
- ct: nifti/ct/totalseg_example_ct_sm (HU). pred = ref shifted by +1 voxel along y (pred[:, j] =
  ref[:, j-1], first row repeated) + 10 * ((7i + 3j + k) % 11 - 5). Data range = [-1024, 3000].
Both perturbations are exact in float64, so the TypeScript tests rebuild them bit for bit.

Mask: the body mask recipe of validation/masks.ts done with scipy/skimage: CT > -500 HU, MR >
skimage threshold_otsu (on float64); largest 6-connected component (scipy.ndimage.label); holes
filled per axial slice (binary_fill_holes on each [:, :, k]).

Metrics (SynthRAD 2023 conventions where they exist):
- mae, meanError, rmse, ncc: numpy inside the mask (no clipping).
- psnr: both clipped to the range, skimage peak_signal_noise_ratio on the mask voxels with
  data_range = hi - lo (and on every voxel: psnrAll).
- ssim*: images clipped to the range and shifted by -lo; skimage structural_similarity with
  data_range = hi - lo and gaussian_weights=True, sigma=1.5, use_sample_covariance=False (ssim) or
  skimage's defaults (7-voxel uniform window, sample covariance: ssimUniform); maskedSsim: outside
  the mask set to lo in both before the shift, full=True map averaged over the mask (SynthRAD);
  ssimSlices: the gaussian SSIM of each 2-D slice [:, :, k].
- msSsim: an independent numpy/scipy implementation of ms-ssim.ts's definition (Wang 2003 weights,
  scipy.ndimage.gaussian_filter σ = 1.5, truncate 3.5, mode 'reflect'; means cropped by
  min(5, (n - 1) // 2) per axis; negative means clamped to 0; 2×2×2 block means between scales,
  odd last voxel dropped). skimage has no MS-SSIM.
"""
import json
import os
import sys

import nibabel as nib
import numpy as np
import skimage
from scipy import ndimage
from skimage.filters import threshold_otsu
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, '..', 'shared', 'data')
OUT = sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, 'test', 'fixtures', 'reference', 'metrics.json')

GAUSS = dict(gaussian_weights=True, sigma=1.5, use_sample_covariance=False)


def pattern(shape):
    i, j, k = np.meshgrid(np.arange(shape[0]), np.arange(shape[1]), np.arange(shape[2]), indexing='ij')
    return ((7 * i + 3 * j + k) % 11 - 5).astype(np.float64)


def perturb_mr(ref):
    pad = np.concatenate([ref[:1], ref, ref[-1:]], axis=0)
    blur = (pad[:-2] + 2 * pad[1:-1] + pad[2:]) / 4
    return blur + 40 * pattern(ref.shape)


def perturb_ct(ref):
    shifted = np.concatenate([ref[:, :1], ref[:, :-1]], axis=1)
    return shifted + 10 * pattern(ref.shape)


def body_mask(vol, is_ct):
    thr = -500.0 if is_ct else float(threshold_otsu(vol))
    fg = vol > thr
    lab, n = ndimage.label(fg, structure=ndimage.generate_binary_structure(3, 1))
    if n == 0:
        return np.zeros(vol.shape, bool), thr
    sizes = np.bincount(lab.ravel())[1:]
    mask = lab == (int(np.argmax(sizes)) + 1)
    for k in range(mask.shape[2]):
        mask[:, :, k] = ndimage.binary_fill_holes(mask[:, :, k])
    return mask, thr


MS_WEIGHTS = [0.0448, 0.2856, 0.3001, 0.2363, 0.1333]


def ms_ssim(x, y, R):
    c1, c2 = (0.01 * R) ** 2, (0.03 * R) ** 2
    f = lambda a: ndimage.gaussian_filter(a, 1.5, mode='reflect', truncate=3.5)
    out = 1.0
    for j, w in enumerate(MS_WEIGHTS):
        ux, uy = f(x), f(y)
        vx, vy, vxy = f(x * x) - ux * ux, f(y * y) - uy * uy, f(x * y) - ux * uy
        cs = (2 * vxy + c2) / (vx + vy + c2)
        smap = (2 * ux * uy + c1) / (ux * ux + uy * uy + c1) * cs
        m = smap if j == len(MS_WEIGHTS) - 1 else cs
        crop = tuple(slice(min(5, (n - 1) // 2), n - min(5, (n - 1) // 2)) for n in m.shape)
        out *= max(float(m[crop].mean()), 0.0) ** w
        if j < len(MS_WEIGHTS) - 1:
            ev = tuple(slice(0, n // 2 * 2) for n in x.shape)
            x, y = x[ev], y[ev]
            sh = [x.shape[0] // 2, 2, x.shape[1] // 2, 2, x.shape[2] // 2, 2]
            x, y = x.reshape(sh).mean(axis=(1, 3, 5)), y.reshape(sh).mean(axis=(1, 3, 5))
    return out


def prep(x, lo, hi, mask=None):
    y = np.clip(x, lo, hi)
    if mask is not None:
        y = np.where(mask, y, lo)
    return y - lo


def case(path, perturb, is_ct, rng):
    ref = nib.load(path).get_fdata(dtype=np.float64)
    pred = perturb(ref)
    lo, hi = rng if rng is not None else (float(ref.min()), float(ref.max()))
    R = hi - lo
    mask, thr = body_mask(ref, is_ct)
    d = (pred - ref)[mask]
    p, r = pred[mask], ref[mask]
    ncc = float(np.corrcoef(p, r)[0, 1])
    cp, cr = np.clip(pred, lo, hi), np.clip(ref, lo, hi)
    x, y = prep(pred, lo, hi), prep(ref, lo, hi)
    _, smap = structural_similarity(prep(ref, lo, hi, mask), prep(pred, lo, hi, mask), data_range=R, full=True, **GAUSS)
    return {
        'file': os.path.relpath(path, SHARED),
        'shape': list(ref.shape),
        'dataRange': [lo, hi],
        'maskThreshold': thr,
        'maskCount': int(mask.sum()),
        'maskSliceCounts': [int(c) for c in mask.sum(axis=(0, 1))],
        'mae': float(np.abs(d).mean()),
        'meanError': float(d.mean()),
        'rmse': float(np.sqrt((d * d).mean())),
        'ncc': ncc,
        'psnr': float(peak_signal_noise_ratio(cr[mask], cp[mask], data_range=R)),
        'psnrAll': float(peak_signal_noise_ratio(cr, cp, data_range=R)),
        'ssim': float(structural_similarity(y, x, data_range=R, **GAUSS)),
        'ssimUniform': float(structural_similarity(y, x, data_range=R)),
        'maskedSsim': float(smap[mask].mean()),
        'msSsim': ms_ssim(x, y, R),
        'ssimSlices': [float(structural_similarity(y[:, :, k], x[:, :, k], data_range=R, **GAUSS)) for k in range(ref.shape[2])],
    }


def main():
    out = json.load(open(OUT)) if os.path.exists(OUT) else {}
    out['images'] = {
        'generator': f'scripts/reference/skimage-metrics.py (scikit-image {skimage.__version__}, numpy {np.__version__})',
        'mr': case(os.path.join(SHARED, 'nifti/mr/niivue_MNI152_T1_2mm.nii.gz'), perturb_mr, False, None),
        'ct': case(os.path.join(SHARED, 'nifti/ct/totalseg_example_ct_sm.nii.gz'), perturb_ct, True, (-1024.0, 3000.0)),
    }
    with open(OUT, 'w') as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write('\n')


if __name__ == '__main__':
    main()
