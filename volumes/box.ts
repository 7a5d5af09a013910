/**
 * Box copies between x-fastest planar-channel voxel arrays (the building block of crop, patches and
 * slices): rows are copied with subarray/set, so no per-voxel work happens for contiguous rows.
 */
import { VoxshiftError } from './errors.ts';
import { allocate, dtypeOf } from './volume.ts';
import type { Shape3, VoxelArray } from './volume.ts';

/** Anything with voxels in the Volume layout (a Volume, a patch, an accumulator). */
export interface Grid<T extends VoxelArray = VoxelArray> {
  data: T;
  shape: Shape3 | readonly number[];
  channels?: number;
}

export function checkIndex3(v: readonly number[] | undefined, param: string, min: number): [number, number, number] {
  if (!v || v.length !== 3 || !v.every((x) => Number.isInteger(x) && x >= min)) {
    throw new VoxshiftError('INVALID_ARGUMENT', `${param} must be 3 integers >= ${min}, got ${JSON.stringify(v)}`, {
      param,
      details: { received: v },
    });
  }
  return [v[0], v[1], v[2]];
}

/** Checks that the box [start, start + size) lies inside `shape`. */
export function checkBox(shape: readonly number[], start: readonly number[], size: readonly number[], what = 'box'): void {
  const s = checkIndex3(start, 'start', 0);
  const z = checkIndex3(size, 'size', 1);
  for (let a = 0; a < 3; a++) {
    if (s[a] + z[a] > shape[a]) {
      throw new VoxshiftError(
        'INVALID_ARGUMENT',
        `${what} start [${s.join(', ')}] + size [${z.join(', ')}] exceeds the shape [${shape.join(', ')}] along axis ${a}`,
        { param: 'size', details: { start: s, size: z, shape: [...shape] } },
      );
    }
  }
}

/** Copies the box [start, start + size) of every channel into a new array of the same dtype. */
export function copyBox<T extends VoxelArray>(grid: Grid<T>, start: readonly number[], size: readonly number[]): T {
  const { data, shape } = grid;
  const channels = grid.channels ?? 1;
  checkBox(shape, start, size);
  const [nx, ny] = shape;
  const n = shape[0] * shape[1] * shape[2];
  const [sx, sy, sz] = start;
  const [bx, by, bz] = size;
  const out = allocate(dtypeOf(data), bx * by * bz * channels) as T;
  let o = 0;
  for (let ch = 0; ch < channels; ch++) {
    for (let k = 0; k < bz; k++) {
      for (let j = 0; j < by; j++) {
        const p = ch * n + sx + nx * (sy + j + ny * (sz + k));
        out.set(data.subarray(p, p + bx), o);
        o += bx;
      }
    }
  }
  return out;
}

/**
 * Writes `patch` (shape `size`, same channel count) into `grid` at `start`, in place.
 * With `weights` (one value per patch voxel, i fastest) and mode 'add', adds patch × weight: the
 * accumulation step of sliding-window inference.
 */
export function writeBox(
  grid: Grid,
  patch: Grid,
  start: readonly number[],
  options: { mode?: 'replace' | 'add'; weights?: ArrayLike<number> } = {},
): void {
  const channels = grid.channels ?? 1;
  if ((patch.channels ?? 1) !== channels) {
    throw new VoxshiftError('INVALID_ARGUMENT', `patch has ${patch.channels ?? 1} channels, target has ${channels}`, {
      param: 'patch',
    });
  }
  const size = patch.shape;
  checkBox(grid.shape, start, size, 'patch');
  const pn = size[0] * size[1] * size[2];
  if (patch.data.length !== pn * channels) {
    throw new VoxshiftError('INVALID_ARGUMENT', `patch data has ${patch.data.length} values, expected ${pn * channels}`, {
      param: 'patch',
    });
  }
  const mode = options.mode ?? 'replace';
  const w = options.weights;
  if (w && w.length !== pn) {
    throw new VoxshiftError('INVALID_ARGUMENT', `weights have ${w.length} values, expected ${pn}`, { param: 'weights' });
  }
  if (w && mode !== 'add') {
    throw new VoxshiftError('INVALID_ARGUMENT', `weights need mode 'add'`, { param: 'weights' });
  }
  const [nx, ny] = grid.shape;
  const n = grid.shape[0] * grid.shape[1] * grid.shape[2];
  const [sx, sy, sz] = start;
  const [bx, by, bz] = size;
  const dst = grid.data;
  const src = patch.data;
  let o = 0;
  for (let ch = 0; ch < channels; ch++) {
    let wo = 0;
    for (let k = 0; k < bz; k++) {
      for (let j = 0; j < by; j++) {
        const p = ch * n + sx + nx * (sy + j + ny * (sz + k));
        if (mode === 'replace') {
          dst.set(src.subarray(o, o + bx), p);
          o += bx;
        } else if (w) {
          for (let i = 0; i < bx; i++) dst[p + i] += src[o++] * w[wo++];
        } else {
          for (let i = 0; i < bx; i++) dst[p + i] += src[o++];
        }
      }
    }
  }
}
