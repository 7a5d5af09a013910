/**
 * 2-D slices through a volume along any voxel axis, and the way back.
 *
 * In-plane order: the lower-numbered remaining voxel axis runs fastest (columns), the higher one
 * gives the rows:
 *   axis 2 (fixed k): i fastest, j rows  — width = nx, height = ny
 *   axis 1 (fixed j): i fastest, k rows  — width = nx, height = nz
 *   axis 0 (fixed i): j fastest, k rows  — width = ny, height = nz
 * Channels stay planar: the slice data holds width × height values per channel, channel 0 first.
 * No flips are applied: for display in radiological convention, reorient the volume first.
 */
import { VoxshiftError } from './errors.ts';
import { allocate, createVolume, dtypeOf } from './volume.ts';
import type { Volume, VoxelArray } from './volume.ts';

export type Axis = 0 | 1 | 2;

export interface Slice<T extends VoxelArray = VoxelArray> {
  data: T;
  /** Values per row (the faster in-plane axis). */
  width: number;
  height: number;
  channels: number;
  axis: Axis;
  index: number;
  /** Millimetres between columns and between rows. */
  spacing: [number, number];
}

const IN_PLANE: Record<Axis, [number, number]> = { 0: [1, 2], 1: [0, 2], 2: [0, 1] };

function checkAxis(axis: number): Axis {
  if (axis !== 0 && axis !== 1 && axis !== 2) {
    throw new VoxshiftError('INVALID_ARGUMENT', `axis must be 0, 1 or 2, got ${JSON.stringify(axis)}`, { param: 'axis' });
  }
  return axis;
}

function checkSliceIndex(shape: readonly number[], axis: Axis, index: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= shape[axis]) {
    throw new VoxshiftError('INVALID_ARGUMENT', `slice index must be an integer in 0..${shape[axis] - 1} along axis ${axis}, got ${index}`, {
      param: 'index',
    });
  }
}

/** Number of slices along `axis` (the volume's extent on that axis). */
export function sliceCount(vol: Pick<Volume, 'shape'>, axis: Axis): number {
  return vol.shape[checkAxis(axis)];
}

/** Copies the slice at `index` along `axis`; see the file comment for the in-plane order. */
export function sliceAt<T extends VoxelArray>(vol: Volume<T>, axis: Axis, index: number): Slice<T> {
  checkAxis(axis);
  checkSliceIndex(vol.shape, axis, index);
  const [u, v] = IN_PLANE[axis];
  const shape = vol.shape;
  const stride = [1, shape[0], shape[0] * shape[1]];
  const width = shape[u];
  const height = shape[v];
  const n = shape[0] * shape[1] * shape[2];
  const src = vol.data;
  const out = allocate(dtypeOf(src), width * height * vol.channels) as T;
  const su = stride[u];
  const sv = stride[v];
  let o = 0;
  for (let ch = 0; ch < vol.channels; ch++) {
    const base = ch * n + index * stride[axis];
    for (let r = 0; r < height; r++) {
      const p = base + r * sv;
      if (su === 1) {
        out.set(src.subarray(p, p + width), o);
        o += width;
      } else {
        for (let c = 0, q = p; c < width; c++, q += su) out[o++] = src[q];
      }
    }
  }
  return { data: out, width, height, channels: vol.channels, axis, index, spacing: [vol.spacing[u], vol.spacing[v]] };
}

/**
 * Writes a slice (the layout sliceAt returns) into `vol` at `index` along `axis`, IN PLACE
 * (volumes share their voxel array, so build into a fresh volume when others hold this one).
 * Values are cast to the volume's dtype by typed-array assignment.
 */
export function setSlice(vol: Volume, axis: Axis, index: number, slice: Pick<Slice, 'data'> & Partial<Slice>): void {
  checkAxis(axis);
  checkSliceIndex(vol.shape, axis, index);
  const [u, v] = IN_PLANE[axis];
  const shape = vol.shape;
  const width = shape[u];
  const height = shape[v];
  if (
    slice.data.length !== width * height * vol.channels ||
    (slice.width !== undefined && slice.width !== width) ||
    (slice.height !== undefined && slice.height !== height)
  ) {
    throw new VoxshiftError(
      'INVALID_ARGUMENT',
      `slice must be ${width}×${height}×${vol.channels} channels for axis ${axis}, got ${slice.width ?? '?'}×${slice.height ?? '?'} with ${slice.data.length} values`,
      { param: 'slice' },
    );
  }
  const stride = [1, shape[0], shape[0] * shape[1]];
  const n = shape[0] * shape[1] * shape[2];
  const dst = vol.data;
  const src = slice.data;
  const su = stride[u];
  const sv = stride[v];
  let o = 0;
  for (let ch = 0; ch < vol.channels; ch++) {
    const base = ch * n + index * stride[axis];
    for (let r = 0; r < height; r++) {
      const p = base + r * sv;
      if (su === 1) {
        dst.set(src.subarray(o, o + width), p);
        o += width;
      } else {
        for (let c = 0, q = p; c < width; c++, q += su) dst[q] = src[o++];
      }
    }
  }
}

/**
 * Rebuilds a volume with `like`'s geometry, channels, kind and metadata from all its slices along
 * `axis` (the inverse of taking every sliceAt). The dtype is that of the slices' data (e.g. float32
 * slices from a model give a float32 volume).
 */
export function stackSlices<T extends VoxelArray>(slices: readonly (Pick<Slice<T>, 'data'> & Partial<Slice<T>>)[], like: Volume, axis: Axis): Volume<T> {
  checkAxis(axis);
  if (slices.length !== like.shape[axis]) {
    throw new VoxshiftError('INVALID_ARGUMENT', `need ${like.shape[axis]} slices along axis ${axis}, got ${slices.length}`, {
      param: 'slices',
    });
  }
  const dtype = dtypeOf(slices[0].data);
  const data = allocate(dtype, like.shape[0] * like.shape[1] * like.shape[2] * like.channels) as T;
  const vol = createVolume<T>({
    data,
    shape: like.shape,
    channels: like.channels,
    spacing: like.spacing,
    origin: like.origin,
    direction: like.direction,
    kind: like.kind,
    modality: like.modality,
    meta: { ...like.meta, warnings: [...like.meta.warnings] },
    history: [...like.history, { op: 'stackSlices', params: { axis, count: slices.length } }],
  });
  slices.forEach((s, idx) => {
    if (dtypeOf(s.data) !== dtype) {
      throw new VoxshiftError('INVALID_ARGUMENT', `slice ${idx} is ${dtypeOf(s.data)}, slice 0 is ${dtype}`, { param: 'slices' });
    }
    setSlice(vol, axis, idx, s);
  });
  return vol;
}
