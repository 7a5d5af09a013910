/**
 * Whole-volume inference of a segmentation network, synchronous and leak-free: windows of the
 * training patch size slide over the normalised volume (2-D: every slice along the axis, windows
 * across the slice; 3-D: boxes), batch by batch; each window's softmax, weighted by a Gaussian
 * importance map (MONAI's sliding-window blending), is added to per-class accumulators, and each
 * voxel takes the class of the largest sum. Volumes smaller than a window are padded with −1 (the
 * normalised background, as in training). 2-D keeps accumulators for one slice at a time; 3-D for the
 * whole volume (classes × voxels floats).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Network } from '../../../models3d/networks/build-network.ts';
import { VoxshiftError } from '../../../volumes/errors.ts';
import { gaussianWeights, patchGrid, type Index3 } from '../../../volumes/patches.ts';
import type { Axis } from '../../../volumes/slices.ts';

export interface WindowLayout {
  spatialDims: 2 | 3;
  /** 2-D slicing axis. */
  axis: Axis;
  /** Tensor order: 2-D [h, w], 3-D [d, h, w]. */
  patchSize: readonly number[];
}

export interface SegmentVoxelsOptions {
  /** Windows per forward pass (default 4). */
  batchSize?: number;
  /** Fraction of overlap between neighbouring windows (default 0.25). */
  overlap?: number;
}

const IN_PLANE: Record<Axis, [number, number]> = { 0: [1, 2], 1: [0, 2], 2: [0, 1] };
const MAX_ACCUMULATOR = 2 ** 29;

/** The patch as a box of the voxel grid (extent along i, j, k); see models3d/data/samplers.ts. */
export function patchBox(layout: WindowLayout): Index3 {
  const p = layout.patchSize;
  if (layout.spatialDims === 3) return [p[2], p[1], p[0]];
  const [u, v] = IN_PLANE[layout.axis];
  const box: Index3 = [1, 1, 1];
  box[u] = p[1];
  box[v] = p[0];
  return box;
}

/** Class index of every voxel of `data` (normalised, x fastest, on `shape`). */
export function segmentVoxels(net: Network, data: Float32Array, shape: readonly number[], layout: WindowLayout, options: SegmentVoxelsOptions = {}): Uint8Array {
  const batchSize = options.batchSize ?? 4;
  const overlap = options.overlap ?? 0.25;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new VoxshiftError('INVALID_ARGUMENT', `batchSize must be an integer ≥ 1, got ${batchSize}`, { param: 'batchSize' });
  }
  const classes = net.spec.outputChannels;
  const [nx, ny, nz] = shape;
  const box = patchBox(layout);
  const padded = [0, 1, 2].map((a) => Math.max(shape[a], box[a]));
  const ov = box.map((b) => (b === 1 ? 0 : overlap));
  const starts = patchGrid(padded, box, ov);
  const weights = gaussianWeights(box);
  const boxVoxels = box[0] * box[1] * box[2];
  // Groups of windows sharing accumulators: one slice (2-D) or the whole volume (3-D).
  const region: Index3 = [nx, ny, nz];
  let groupOf = (_s: Index3): number => 0;
  if (layout.spatialDims === 2) {
    region[layout.axis] = 1;
    groupOf = (s) => s[layout.axis];
  }
  const regionVoxels = region[0] * region[1] * region[2];
  if (regionVoxels * classes > MAX_ACCUMULATOR) {
    throw new VoxshiftError('SIZE_LIMIT', `${classes} classes × ${regionVoxels} voxels of accumulators exceed the ${MAX_ACCUMULATOR} limit; segment a cropped volume`, {
      param: 'volume',
    });
  }
  const groups = new Map<number, Index3[]>();
  for (const s of starts) {
    const g = groupOf(s);
    const list = groups.get(g);
    if (list) list.push(s);
    else groups.set(g, [s]);
  }
  const acc = new Float32Array(regionVoxels * classes);
  const input = new Float32Array(batchSize * boxVoxels);
  const tensorShape = [0, ...layout.patchSize, 1];
  const out = new Uint8Array(nx * ny * nz);

  for (const [g, list] of [...groups].sort((a, b) => a[0] - b[0])) {
    acc.fill(0);
    const r0: Index3 = [0, 0, 0];
    if (layout.spatialDims === 2) r0[layout.axis] = g;
    for (let first = 0; first < list.length; first += batchSize) {
      const count = Math.min(batchSize, list.length - first);
      const x = input.subarray(0, count * boxVoxels);
      x.fill(-1);
      for (let b = 0; b < count; b++) {
        const s = list[first + b];
        const hi = [0, 1, 2].map((a) => Math.min(box[a], shape[a] - s[a]));
        for (let k = 0; k < hi[2]; k++) {
          for (let j = 0; j < hi[1]; j++) {
            const o = b * boxVoxels + (k * box[1] + j) * box[0];
            const p = s[0] + nx * (s[1] + j + ny * (s[2] + k));
            x.set(data.subarray(p, p + hi[0]), o);
          }
        }
      }
      tensorShape[0] = count;
      const result = tf.tidy(() => tf.softmax(net.apply(tf.tensor(x, tensorShape, 'float32'))));
      const probs = result.dataSync() as Float32Array;
      result.dispose();
      for (let b = 0; b < count; b++) {
        const s = list[first + b];
        const hi = [0, 1, 2].map((a) => Math.min(box[a], shape[a] - s[a]));
        for (let k = 0; k < hi[2]; k++) {
          for (let j = 0; j < hi[1]; j++) {
            for (let i = 0; i < hi[0]; i++) {
              const q = (k * box[1] + j) * box[0] + i;
              const w = weights[q];
              const local = s[0] + i - r0[0] + region[0] * (s[1] + j - r0[1] + region[1] * (s[2] + k - r0[2]));
              const src = (b * boxVoxels + q) * classes;
              for (let c = 0; c < classes; c++) acc[c * regionVoxels + local] += w * probs[src + c];
            }
          }
        }
      }
    }
    for (let local = 0; local < regionVoxels; local++) {
      let best = 0;
      let bestValue = acc[local];
      for (let c = 1; c < classes; c++) {
        const v = acc[c * regionVoxels + local];
        if (v > bestValue) {
          bestValue = v;
          best = c;
        }
      }
      const i = local % region[0];
      const j = Math.floor(local / region[0]) % region[1];
      const k = Math.floor(local / (region[0] * region[1]));
      out[r0[0] + i + nx * (r0[1] + j + ny * (r0[2] + k))] = best;
    }
  }
  return out;
}
