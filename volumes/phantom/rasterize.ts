/**
 * Rasterises an implicit anatomy onto a voxel grid with partial volume: every voxel gets the label
 * at its centre; voxels whose 6-neighbourhood holds another label (the boundaries) are also sampled
 * at the four corners of a tetrahedron inscribed in the voxel (±0.3 voxel), and these five labels
 * give the tissue mixture used for the intensities.
 */
import type { Shape3 } from '../volume.ts';

/** Label at an anatomical point; `voxel` (the linear index of the voxel the point is in) lets a classifier cache per-voxel work. */
export type Classifier = (x: number, y: number, z: number, voxel: number) => number;

/** Anatomical coordinates of voxel (i, j, k): q = q0 + M · [i, j, k] (M row-major). */
export interface GridMap {
  shape: Shape3;
  q0: readonly [number, number, number];
  m: readonly number[];
}

export interface Rasterized {
  labels: Uint8Array;
  /** Ascending linear indices of the supersampled voxels. */
  boundary: Int32Array;
  /** SUBSAMPLES labels per boundary voxel (the centre first). */
  sub: Uint8Array;
}

export const SUBSAMPLES = 5;

/** Offsets (voxel units, i j k per corner) of the 4 tetrahedron corners. */
const CORNERS = new Float64Array([-0.3, -0.3, -0.3, 0.3, 0.3, -0.3, 0.3, -0.3, 0.3, -0.3, 0.3, 0.3]);

export function rasterize(classify: Classifier, grid: GridMap): Rasterized {
  const [nx, ny, nz] = grid.shape;
  const m = grid.m;
  const [q0x, q0y, q0z] = grid.q0;
  const n = nx * ny * nz;
  const labels = new Uint8Array(n);
  let idx = 0;
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      const bx = q0x + m[1] * j + m[2] * k;
      const by = q0y + m[4] * j + m[5] * k;
      const bz = q0z + m[7] * j + m[8] * k;
      for (let i = 0; i < nx; i++) {
        labels[idx] = classify(bx + m[0] * i, by + m[3] * i, bz + m[6] * i, idx);
        idx++;
      }
    }
  }
  const sx = 1;
  const sy = nx;
  const sz = nx * ny;
  const list = new Int32Array(n);
  let count = 0;
  idx = 0;
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++, idx++) {
        const l = labels[idx];
        if (
          (i > 0 && labels[idx - sx] !== l) ||
          (i < nx - 1 && labels[idx + sx] !== l) ||
          (j > 0 && labels[idx - sy] !== l) ||
          (j < ny - 1 && labels[idx + sy] !== l) ||
          (k > 0 && labels[idx - sz] !== l) ||
          (k < nz - 1 && labels[idx + sz] !== l)
        ) {
          list[count++] = idx;
        }
      }
    }
  }
  const boundary = list.slice(0, count);
  const sub = new Uint8Array(boundary.length * SUBSAMPLES);
  let s = 0;
  for (let b = 0; b < boundary.length; b++) {
    const v = boundary[b];
    const i = v % nx;
    const j = Math.floor(v / nx) % ny;
    const k = Math.floor(v / sz);
    sub[s++] = labels[v];
    for (let c = 0; c < 12; c += 3) {
      const fi = i + CORNERS[c];
      const fj = j + CORNERS[c + 1];
      const fk = k + CORNERS[c + 2];
      sub[s++] = classify(
        q0x + m[0] * fi + m[1] * fj + m[2] * fk,
        q0y + m[3] * fi + m[4] * fj + m[5] * fk,
        q0z + m[6] * fi + m[7] * fj + m[8] * fk,
        v,
      );
    }
  }
  return { labels, boundary, sub };
}
