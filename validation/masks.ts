/**
 * The body mask metrics are computed in: foreground by a threshold, its largest 6-connected
 * component, then holes filled.
 *
 * - CT (modality CT or units HU): voxels > −500 HU.
 * - Anything else: Otsu's threshold as skimage.filters.threshold_otsu computes it on float data
 *   (256 equal bins over [min, max], threshold = the centre of the bin maximising the between-class
 *   variance), foreground = voxels > threshold.
 * - Holes: 'slice' (default) fills, in every slice across `sliceAxis` (default 2, axial for the
 *   usual acquisitions), the background not 4-connected to the slice border — scipy's
 *   binary_fill_holes on each 2-D slice; '3d' fills background not 6-connected to the volume
 *   border; 'none' keeps the component as is.
 * The result is a uint8 label volume (1 inside, 0 outside) on the input's grid; all zeros when no
 * voxel passes the threshold.
 */
import { VoxshiftError } from '../volumes/errors.ts';
import { deriveVolume } from '../volumes/volume.ts';
import type { Volume, VoxelArray } from '../volumes/volume.ts';

export interface BodyMaskOptions {
  /** Foreground is value > threshold; default −500 for CT, Otsu otherwise. */
  threshold?: number;
  fillHoles?: 'slice' | '3d' | 'none';
  sliceAxis?: 0 | 1 | 2;
}

/** skimage.filters.threshold_otsu(image.astype(float)) with 256 bins. */
export function otsuThreshold(data: VoxelArray): number {
  let lo = Infinity;
  let hi = -Infinity;
  for (let p = 0; p < data.length; p++) {
    const v = data[p];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (!(hi > lo)) return lo;
  const bins = 256;
  const edges = new Float64Array(bins + 1);
  const step = (hi - lo) / bins;
  for (let b = 0; b <= bins; b++) edges[b] = lo + b * step;
  edges[bins] = hi;
  const hist = new Float64Array(bins);
  const norm = bins / (hi - lo);
  for (let p = 0; p < data.length; p++) {
    const v = data[p];
    // numpy.histogram's index with its edge corrections
    let b = Math.floor((v - lo) * norm);
    if (b >= bins) b = bins - 1;
    if (v < edges[b]) b--;
    else if (b < bins - 1 && v >= edges[b + 1]) b++;
    hist[b]++;
  }
  const centers = new Float64Array(bins);
  for (let b = 0; b < bins; b++) centers[b] = (edges[b] + edges[b + 1]) / 2;
  const w1 = new Float64Array(bins);
  const m1 = new Float64Array(bins);
  let cw = 0;
  let cm = 0;
  for (let b = 0; b < bins; b++) {
    cw += hist[b];
    cm += hist[b] * centers[b];
    w1[b] = cw;
    m1[b] = cm / cw;
  }
  const w2 = new Float64Array(bins);
  const m2 = new Float64Array(bins);
  cw = 0;
  cm = 0;
  for (let b = bins - 1; b >= 0; b--) {
    cw += hist[b];
    cm += hist[b] * centers[b];
    w2[b] = cw;
    m2[b] = cm / cw;
  }
  let best = -Infinity;
  let idx = 0;
  for (let b = 0; b < bins - 1; b++) {
    const d = m1[b] - m2[b + 1];
    const v = w1[b] * w2[b + 1] * d * d;
    // NaN (empty classes) never wins, as numpy's argmax of nan-free values
    if (v > best) {
      best = v;
      idx = b;
    }
  }
  return centers[idx];
}

/** Keeps the largest 6-connected component of `mask` (in place); ties go to the first in x-fastest order. */
export function keepLargestComponent(mask: Uint8Array, shape: readonly number[]): void {
  const [nx, ny, nz] = shape;
  const labels = new Int32Array(mask.length);
  const queue = new Int32Array(mask.length);
  let next = 0;
  let bestLabel = 0;
  let bestSize = 0;
  for (let s = 0; s < mask.length; s++) {
    if (mask[s] === 0 || labels[s] !== 0) continue;
    const label = ++next;
    let head = 0;
    let tail = 0;
    queue[tail++] = s;
    labels[s] = label;
    while (head < tail) {
      const p = queue[head++];
      const i = p % nx;
      const j = Math.floor(p / nx) % ny;
      const k = Math.floor(p / (nx * ny));
      const visit = (q: number): void => {
        if (mask[q] !== 0 && labels[q] === 0) {
          labels[q] = label;
          queue[tail++] = q;
        }
      };
      if (i > 0) visit(p - 1);
      if (i < nx - 1) visit(p + 1);
      if (j > 0) visit(p - nx);
      if (j < ny - 1) visit(p + nx);
      if (k > 0) visit(p - nx * ny);
      if (k < nz - 1) visit(p + nx * ny);
    }
    if (tail > bestSize) {
      bestSize = tail;
      bestLabel = label;
    }
  }
  for (let p = 0; p < mask.length; p++) mask[p] = labels[p] === bestLabel && bestLabel !== 0 ? 1 : 0;
}

/**
 * Fills background regions not connected to the border of the box (4-connectivity in 2-D slices,
 * 6 in 3-D). `axes` are the axes the flood moves along; the others index separate regions.
 */
function fillHoles(mask: Uint8Array, shape: readonly number[], axes: readonly number[]): void {
  const strides = [1, shape[0], shape[0] * shape[1]];
  const outside = new Uint8Array(mask.length);
  const queue = new Int32Array(mask.length);
  let tail = 0;
  const coord = (p: number, a: number): number => Math.floor(p / strides[a]) % shape[a];
  for (let p = 0; p < mask.length; p++) {
    if (mask[p] !== 0) continue;
    if (axes.some((a) => coord(p, a) === 0 || coord(p, a) === shape[a] - 1)) {
      outside[p] = 1;
      queue[tail++] = p;
    }
  }
  let head = 0;
  while (head < tail) {
    const p = queue[head++];
    for (const a of axes) {
      const c = coord(p, a);
      if (c > 0) {
        const q = p - strides[a];
        if (mask[q] === 0 && outside[q] === 0) {
          outside[q] = 1;
          queue[tail++] = q;
        }
      }
      if (c < shape[a] - 1) {
        const q = p + strides[a];
        if (mask[q] === 0 && outside[q] === 0) {
          outside[q] = 1;
          queue[tail++] = q;
        }
      }
    }
  }
  for (let p = 0; p < mask.length; p++) if (outside[p] === 0) mask[p] = 1;
}

export function bodyMask(vol: Volume, options: BodyMaskOptions = {}): Volume<Uint8Array> {
  if (vol.channels !== 1) {
    throw new VoxshiftError('INVALID_ARGUMENT', `bodyMask needs a one-channel volume, got ${vol.channels} channels`, { param: 'vol' });
  }
  if (options.threshold !== undefined && !Number.isFinite(options.threshold)) {
    throw new VoxshiftError('INVALID_ARGUMENT', `threshold must be a finite number, got ${options.threshold}`, { param: 'threshold' });
  }
  const fill = options.fillHoles ?? 'slice';
  if (fill !== 'slice' && fill !== '3d' && fill !== 'none') {
    throw new VoxshiftError('INVALID_ARGUMENT', `fillHoles must be 'slice', '3d' or 'none', got ${String(fill)}`, { param: 'fillHoles' });
  }
  const axis = options.sliceAxis ?? 2;
  if (axis !== 0 && axis !== 1 && axis !== 2) {
    throw new VoxshiftError('INVALID_ARGUMENT', `sliceAxis must be 0, 1 or 2, got ${String(axis)}`, { param: 'sliceAxis' });
  }
  const isCt = vol.modality === 'CT' || vol.meta.units === 'HU';
  const threshold = options.threshold ?? (isCt ? -500 : otsuThreshold(vol.data));
  const data = vol.data;
  const mask = new Uint8Array(data.length);
  for (let p = 0; p < data.length; p++) {
    const v = data[p];
    if (v - v !== 0) {
      throw new VoxshiftError('NON_FINITE_VALUES', `bodyMask: the volume has a non-finite value (${v}) at index ${p}`, { param: 'vol' });
    }
    mask[p] = v > threshold ? 1 : 0;
  }
  keepLargestComponent(mask, vol.shape);
  if (fill === 'slice') fillHoles(mask, vol.shape, [0, 1, 2].filter((a) => a !== axis));
  else if (fill === '3d') fillHoles(mask, vol.shape, [0, 1, 2]);
  return deriveVolume<Uint8Array>(
    vol,
    { data: mask, kind: 'label', meta: { units: 'label' } },
    { op: 'bodyMask', params: { threshold, fillHoles: fill, sliceAxis: axis } },
  );
}
