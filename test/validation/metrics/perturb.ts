/**
 * The perturbations scripts/reference/skimage-metrics.py and distance-metrics.py apply, rebuilt
 * exactly (float64 sums of integers and quarters, so bit for bit the same as numpy).
 */
import { createVolume, deriveVolume } from '../../../volumes/volume.ts';
import type { Volume } from '../../../volumes/volume.ts';

export function pattern(i: number, j: number, k: number): number {
  return ((7 * i + 3 * j + k) % 11) - 5;
}

/** MR case: [1, 2, 1]/4 blur along x (edges repeated) + 40 · pattern. */
export function perturbMr(ref: Volume): Volume<Float64Array> {
  const [nx, ny, nz] = ref.shape;
  const r = ref.data;
  const out = new Float64Array(r.length);
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      const row = nx * (j + ny * k);
      for (let i = 0; i < nx; i++) {
        const a = r[row + Math.max(i - 1, 0)];
        const b = r[row + i];
        const c = r[row + Math.min(i + 1, nx - 1)];
        out[row + i] = (a + 2 * b + c) / 4 + 40 * pattern(i, j, k);
      }
    }
  }
  return deriveVolume(ref, { data: out });
}

/** CT case: shifted by +1 voxel along y (first row repeated) + 10 · pattern. */
export function perturbCt(ref: Volume): Volume<Float64Array> {
  const [nx, ny, nz] = ref.shape;
  const r = ref.data;
  const out = new Float64Array(r.length);
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      const src = Math.max(j - 1, 0);
      for (let i = 0; i < nx; i++) out[i + nx * (j + ny * k)] = r[i + nx * (src + ny * k)] + 10 * pattern(i, j, k);
    }
  }
  return deriveVolume(ref, { data: out });
}

/** Label case: shifted by `shift` voxels (zeros shifted in), then `label` grown by one voxel (6-neighbourhood). */
export function perturbLabels(ref: Volume, shift: readonly number[], label: number): Volume<Int32Array> {
  const [nx, ny, nz] = ref.shape;
  const r = ref.data;
  const moved = new Int32Array(r.length);
  for (let k = shift[2]; k < nz; k++) {
    for (let j = shift[1]; j < ny; j++) {
      for (let i = shift[0]; i < nx; i++) moved[i + nx * (j + ny * k)] = r[i - shift[0] + nx * (j - shift[1] + ny * (k - shift[2]))];
    }
  }
  const out = Int32Array.from(moved);
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++) {
        const p = i + nx * (j + ny * k);
        const near =
          moved[p] === label ||
          (i > 0 && moved[p - 1] === label) ||
          (i < nx - 1 && moved[p + 1] === label) ||
          (j > 0 && moved[p - nx] === label) ||
          (j < ny - 1 && moved[p + nx] === label) ||
          (k > 0 && moved[p - nx * ny] === label) ||
          (k < nz - 1 && moved[p + nx * ny] === label);
        if (near) out[p] = label;
      }
    }
  }
  return createVolume({ data: out, shape: ref.shape, spacing: ref.spacing, origin: ref.origin, direction: ref.direction, kind: 'label' });
}
