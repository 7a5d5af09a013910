/**
 * Resamples a volume onto its own grid through a voxel→voxel mapping: for output voxel o the
 * continuous input index is M·o (M a 3×4 row-major matrix) plus, optionally, a displacement field
 * in input-index units (elastic). The 3×4 matrix is precomputed and the loop is incremental along i.
 *
 * Interpolation: 'linear' (trilinear, float32 output) for images; 'nearest' (keeps dtype) or
 * 'label' (one-hot/argmax over the 8 neighbours: the label with the largest trilinear weight, ties
 * to the smaller label) for label maps — neither can produce a value absent from the input or fill.
 * Field of view as volumes/resample.ts: inside when the index lies in [−0.5, n − 0.5] on every axis
 * (clamped to the border voxels there), `fill` outside.
 */
import { allocate, dtypeOf, deriveVolume } from '../../volumes/volume.ts';
import type { Volume, VoxelArray } from '../../volumes/volume.ts';
import { VoxshiftError } from '../../volumes/errors.ts';
import { labelVoteAt, nearestAt, trilinearAt, voteScratch, type VoteScratch } from '../../volumes/interpolate.ts';

export type ImageInterpolation = 'linear' | 'nearest';
export type LabelInterpolation = 'nearest' | 'label';
export type WarpInterpolation = 'linear' | 'nearest' | 'label';

export interface Displacement {
  /** Input-index displacement along i, j, k at every output voxel (x fastest). */
  dx: Float32Array;
  dy: Float32Array;
  dz: Float32Array;
}

const EDGE = 1e-6;

/** The fill outside the field of view: 0 for labels, the finite minimum for images. */
export function defaultFill(vol: Volume): number {
  if (vol.kind === 'label') return 0;
  let min = Infinity;
  const d = vol.data;
  for (let i = 0; i < d.length; i++) if (d[i] < min) min = d[i];
  return Number.isFinite(min) ? min : 0;
}

export function warpVolume(
  vol: Volume,
  m: readonly number[],
  displacement: Displacement | null,
  interpolation: WarpInterpolation,
  fill = defaultFill(vol),
): Volume {
  if (interpolation === 'linear' && vol.kind === 'label') {
    throw new VoxshiftError('INVALID_ARGUMENT', "linear interpolation of a label map would invent label values; use 'nearest' or 'label'", {
      param: 'interpolation',
    });
  }
  const [nx, ny, nz] = vol.shape;
  const n = nx * ny * nz;
  const out = allocate(interpolation === 'linear' ? 'float32' : dtypeOf(vol.data), n * vol.channels);
  for (let ch = 0; ch < vol.channels; ch++) {
    const src = vol.data.subarray(ch * n, (ch + 1) * n);
    const dst = out.subarray(ch * n, (ch + 1) * n);
    warpChannel(src, vol.shape, m, displacement, interpolation, fill, dst);
  }
  return deriveVolume(vol, { data: out });
}

function warpChannel(
  src: VoxelArray,
  shape: readonly number[],
  m: readonly number[],
  disp: Displacement | null,
  interpolation: WarpInterpolation,
  fill: number,
  dst: VoxelArray,
): void {
  const [nx, ny, nz] = shape;
  const [m0, m1, m2, m3, m4, m5, m6, m7, m8, m9, m10, m11] = m;
  // Continuous input indices of one output row, then a loop specialised per interpolation.
  const xs = new Float64Array(nx);
  const ys = new Float64Array(nx);
  const zs = new Float64Array(nx);
  const scratch = voteScratch();
  let o = 0;
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++, o += nx) {
      const bx = m1 * j + m2 * k + m3;
      const by = m5 * j + m6 * k + m7;
      const bz = m9 * j + m10 * k + m11;
      if (disp) {
        const { dx, dy, dz } = disp;
        for (let i = 0; i < nx; i++) {
          xs[i] = bx + m0 * i + dx[o + i];
          ys[i] = by + m4 * i + dy[o + i];
          zs[i] = bz + m8 * i + dz[o + i];
        }
      } else {
        for (let i = 0; i < nx; i++) {
          xs[i] = bx + m0 * i;
          ys[i] = by + m4 * i;
          zs[i] = bz + m8 * i;
        }
      }
      sampleRow(src, shape, xs, ys, zs, interpolation, fill, dst, o, scratch);
    }
  }
}

function sampleRow(
  src: VoxelArray,
  shape: readonly number[],
  xs: Float64Array,
  ys: Float64Array,
  zs: Float64Array,
  interpolation: WarpInterpolation,
  fill: number,
  dst: VoxelArray,
  o: number,
  scratch: VoteScratch,
): void {
  const [nx, ny, nz] = shape;
  const hx = nx - 0.5 + EDGE;
  const hy = ny - 0.5 + EDGE;
  const hz = nz - 0.5 + EDGE;
  const lo = -0.5 - EDGE;
  for (let i = 0; i < nx; i++) {
    const x = xs[i];
    const y = ys[i];
    const z = zs[i];
    if (!(x >= lo && x <= hx && y >= lo && y <= hy && z >= lo && z <= hz)) dst[o + i] = fill;
    else if (interpolation === 'linear') dst[o + i] = trilinearAt(src, nx, ny, nz, x, y, z);
    else if (interpolation === 'nearest') dst[o + i] = nearestAt(src, nx, ny, nz, x, y, z);
    else dst[o + i] = labelVoteAt(src, nx, ny, nz, x, y, z, scratch);
  }
}
