/**
 * Binary and label-map morphology on typed arrays with a ball structuring element of radius r mm
 * (spacing-aware: the ball holds the voxel offsets d with |diag(spacing)·d| ≤ r).
 *
 * Erosion and dilation are thresholds of the exact Euclidean distance transform
 * (validation/metrics/distance-transform.ts): erode(m) = {p : distance(p, background) > r},
 * dilate(m) = {p : distance(p, m) ≤ r}. That costs O(N) per operation whatever the radius, and the
 * work is limited to the bounding box of the mask grown by r. Voxels outside the volume count as
 * neither foreground nor background, so nothing erodes from the volume's border (scipy's
 * binary_erosion with border_value=1).
 */
import { VoxshiftError } from '../../volumes/errors.ts';
import type { Shape3, Vec3 } from '../../volumes/volume.ts';
import { squaredDistanceTransform } from '../metrics/distance-transform.ts';
import { refillLabels, UNSET } from './clean-labels.ts';

export interface Grid {
  shape: Shape3;
  spacing: Vec3;
}

/** The ball radius that reaches exactly the face neighbours along every axis (a "1-voxel" ball). */
export const UNIT_VOXEL: Vec3 = [1, 1, 1];

function checkRadius(radiusMm: number): void {
  if (!(Number.isFinite(radiusMm) && radiusMm >= 0)) {
    throw new VoxshiftError('INVALID_ARGUMENT', `radiusMm must be a finite number ≥ 0, got ${radiusMm}`, { param: 'radiusMm' });
  }
}

interface Box {
  lo: [number, number, number];
  size: [number, number, number];
}

/** Bounding box of the non-zero voxels grown by `pad` voxels per axis (clipped); null when empty. */
function paddedBox(mask: Uint8Array, shape: Shape3, pad: readonly number[]): Box | null {
  const [nx, ny, nz] = shape;
  const lo = [nx, ny, nz];
  const hi = [-1, -1, -1];
  let p = 0;
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++, p++) {
        if (mask[p] === 0) continue;
        if (i < lo[0]) lo[0] = i;
        if (i > hi[0]) hi[0] = i;
        if (j < lo[1]) lo[1] = j;
        if (j > hi[1]) hi[1] = j;
        if (k < lo[2]) lo[2] = k;
        if (k > hi[2]) hi[2] = k;
      }
    }
  }
  if (hi[0] < 0) return null;
  const l = [0, 1, 2].map((a) => Math.max(0, lo[a] - pad[a]));
  const h = [0, 1, 2].map((a) => Math.min(shape[a] - 1, hi[a] + pad[a]));
  return { lo: [l[0], l[1], l[2]], size: [h[0] - l[0] + 1, h[1] - l[1] + 1, h[2] - l[2] + 1] };
}

function crop(src: Uint8Array, shape: Shape3, box: Box, invert: boolean): Uint8Array {
  const [bx, by, bz] = box.size;
  const out = new Uint8Array(bx * by * bz);
  let q = 0;
  for (let k = 0; k < bz; k++) {
    for (let j = 0; j < by; j++) {
      let p = box.lo[0] + shape[0] * (box.lo[1] + j + shape[1] * (box.lo[2] + k));
      for (let i = 0; i < bx; i++, p++, q++) out[q] = (src[p] !== 0) !== invert ? 1 : 0;
    }
  }
  return out;
}

function padVoxels(spacing: Vec3, radiusMm: number): number[] {
  return spacing.map((s) => Math.floor(radiusMm / s + 1e-9) + 1);
}

/** Erosion by a ball of radius `radiusMm`; returns a new mask (0/1). */
export function erode(mask: Uint8Array, grid: Grid, radiusMm: number): Uint8Array {
  checkRadius(radiusMm);
  const { shape, spacing } = grid;
  const out = new Uint8Array(mask.length);
  const box = paddedBox(mask, shape, padVoxels(spacing, radiusMm));
  if (!box) return out;
  // distances to background inside the box; background outside the box lies beyond the padding
  const bg = crop(mask, shape, box, true);
  const d2 = squaredDistanceTransform(bg, box.size, spacing);
  const r2 = radiusMm * radiusMm * (1 + 1e-9);
  const [bx, by, bz] = box.size;
  let q = 0;
  for (let k = 0; k < bz; k++) {
    for (let j = 0; j < by; j++) {
      let p = box.lo[0] + shape[0] * (box.lo[1] + j + shape[1] * (box.lo[2] + k));
      for (let i = 0; i < bx; i++, p++, q++) if (mask[p] !== 0 && d2[q] > r2) out[p] = 1;
    }
  }
  return out;
}

/** Dilation by a ball of radius `radiusMm`; returns a new mask (0/1). */
export function dilate(mask: Uint8Array, grid: Grid, radiusMm: number): Uint8Array {
  checkRadius(radiusMm);
  const { shape, spacing } = grid;
  const out = new Uint8Array(mask.length);
  const box = paddedBox(mask, shape, padVoxels(spacing, radiusMm));
  if (!box) return out;
  const fg = crop(mask, shape, box, false);
  const d2 = squaredDistanceTransform(fg, box.size, spacing);
  const r2 = radiusMm * radiusMm * (1 + 1e-9);
  const [bx, by, bz] = box.size;
  let q = 0;
  for (let k = 0; k < bz; k++) {
    for (let j = 0; j < by; j++) {
      let p = box.lo[0] + shape[0] * (box.lo[1] + j + shape[1] * (box.lo[2] + k));
      for (let i = 0; i < bx; i++, p++, q++) if (d2[q] <= r2) out[p] = 1;
    }
  }
  return out;
}

/** Opening (erosion then dilation): removes whatever cannot hold the ball. */
export function open(mask: Uint8Array, grid: Grid, radiusMm: number): Uint8Array {
  return dilate(erode(mask, grid, radiusMm), grid, radiusMm);
}

/** Closing (dilation then erosion): fills gaps and holes narrower than the ball. */
export function close(mask: Uint8Array, grid: Grid, radiusMm: number): Uint8Array {
  return erode(dilate(mask, grid, radiusMm), grid, radiusMm);
}

/**
 * Opening of every class of a label map (except `keep`, default [0]) by the ball; voxels a class
 * loses are given, wave by wave from the kept voxels, the most frequent label among their
 * already-assigned 6-neighbours (ties: the smallest label; labels in `keep` are never handed out
 * unless nothing else touches the voxel). Changes `labels` in place and returns how many voxels
 * changed class.
 */
export function openLabels(labels: Uint8Array, grid: Grid, radiusMm: number, keep: readonly number[] = [0]): number {
  checkRadius(radiusMm);
  const present = new Set<number>();
  for (let p = 0; p < labels.length; p++) present.add(labels[p]);
  const work = Uint8Array.from(labels);
  const mask = new Uint8Array(labels.length);
  let unassigned = 0;
  for (const c of present) {
    if (keep.includes(c)) continue;
    for (let p = 0; p < labels.length; p++) mask[p] = labels[p] === c ? 1 : 0;
    const opened = open(mask, grid, radiusMm);
    for (let p = 0; p < labels.length; p++) {
      if (mask[p] !== 0 && opened[p] === 0) {
        work[p] = UNSET;
        unassigned++;
      }
    }
  }
  if (unassigned === 0) return 0;
  refillLabels(work, grid.shape, labels, keep);
  let changed = 0;
  for (let p = 0; p < labels.length; p++) {
    if (labels[p] !== work[p]) changed++;
    labels[p] = work[p];
  }
  return changed;
}

/**
 * Erosion by the 6-neighbour cross (radius one voxel along each axis, whatever the spacing), in
 * one pass; voxels outside the volume count as foreground, as above.
 */
export function erodeCross(mask: Uint8Array, shape: Shape3): Uint8Array {
  const [nx, ny, nz] = shape;
  const sxy = nx * ny;
  const out = new Uint8Array(mask.length);
  let p = 0;
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++, p++) {
        if (mask[p] === 0) continue;
        if (i > 0 && mask[p - 1] === 0) continue;
        if (i < nx - 1 && mask[p + 1] === 0) continue;
        if (j > 0 && mask[p - nx] === 0) continue;
        if (j < ny - 1 && mask[p + nx] === 0) continue;
        if (k > 0 && mask[p - sxy] === 0) continue;
        if (k < nz - 1 && mask[p + sxy] === 0) continue;
        out[p] = 1;
      }
    }
  }
  return out;
}

/** Dilation by the 6-neighbour cross; with `within`, only voxels of `within` are added (geodesic). */
export function dilateCross(mask: Uint8Array, shape: Shape3, within?: Uint8Array): Uint8Array {
  const [nx, ny, nz] = shape;
  const sxy = nx * ny;
  const out = new Uint8Array(mask.length);
  let p = 0;
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++, p++) {
        if (mask[p] === 0) continue;
        out[p] = 1;
        if (i > 0) out[p - 1] = 1;
        if (i < nx - 1) out[p + 1] = 1;
        if (j > 0) out[p - nx] = 1;
        if (j < ny - 1) out[p + nx] = 1;
        if (k > 0) out[p - sxy] = 1;
        if (k < nz - 1) out[p + sxy] = 1;
      }
    }
  }
  if (within) for (let q = 0; q < out.length; q++) if (within[q] === 0) out[q] = 0;
  return out;
}
