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
  const lab = new Float64Array(8);
  const wt = new Float64Array(8);
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
      if (interpolation === 'linear') linearRow(src, shape, xs, ys, zs, fill, dst, o);
      else if (interpolation === 'nearest') nearestRow(src, shape, xs, ys, zs, fill, dst, o);
      else labelRow(src, shape, xs, ys, zs, fill, dst, o, lab, wt);
    }
  }
}

function linearRow(
  src: VoxelArray,
  shape: readonly number[],
  xs: Float64Array,
  ys: Float64Array,
  zs: Float64Array,
  fill: number,
  dst: VoxelArray,
  o: number,
): void {
  const [nx, ny, nz] = shape;
  const nxy = nx * ny;
  const xmax = nx - 1;
  const ymax = ny - 1;
  const zmax = nz - 1;
  const hx = nx - 0.5 + EDGE;
  const hy = ny - 0.5 + EDGE;
  const hz = nz - 0.5 + EDGE;
  const lo = -0.5 - EDGE;
  for (let i = 0; i < nx; i++) {
    let x = xs[i];
    let y = ys[i];
    let z = zs[i];
    if (!(x >= lo && x <= hx && y >= lo && y <= hy && z >= lo && z <= hz)) {
      dst[o + i] = fill;
      continue;
    }
    x = x < 0 ? 0 : x > xmax ? xmax : x;
    y = y < 0 ? 0 : y > ymax ? ymax : y;
    z = z < 0 ? 0 : z > zmax ? zmax : z;
    const x0 = Math.floor(x);
    const y0 = Math.floor(y);
    const z0 = Math.floor(z);
    const fx = x - x0;
    const fy = y - y0;
    const fz = z - z0;
    const dx = x0 < xmax ? 1 : 0;
    const dy = y0 < ymax ? nx : 0;
    const dz = z0 < zmax ? nxy : 0;
    const p = x0 + y0 * nx + z0 * nxy;
    const a = src[p];
    const c00 = a + fx * (src[p + dx] - a);
    const b = src[p + dy];
    const c10 = b + fx * (src[p + dy + dx] - b);
    const c = src[p + dz];
    const c01 = c + fx * (src[p + dz + dx] - c);
    const d = src[p + dy + dz];
    const c11 = d + fx * (src[p + dy + dz + dx] - d);
    const c0 = c00 + fy * (c10 - c00);
    const c1 = c01 + fy * (c11 - c01);
    dst[o + i] = c0 + fz * (c1 - c0);
  }
}

function nearestRow(
  src: VoxelArray,
  shape: readonly number[],
  xs: Float64Array,
  ys: Float64Array,
  zs: Float64Array,
  fill: number,
  dst: VoxelArray,
  o: number,
): void {
  const [nx, ny, nz] = shape;
  const nxy = nx * ny;
  const hx = nx - 0.5 + EDGE;
  const hy = ny - 0.5 + EDGE;
  const hz = nz - 0.5 + EDGE;
  const lo = -0.5 - EDGE;
  for (let i = 0; i < nx; i++) {
    const x = xs[i];
    const y = ys[i];
    const z = zs[i];
    if (!(x >= lo && x <= hx && y >= lo && y <= hy && z >= lo && z <= hz)) {
      dst[o + i] = fill;
      continue;
    }
    let xi = Math.floor(x + 0.5);
    let yi = Math.floor(y + 0.5);
    let zi = Math.floor(z + 0.5);
    xi = xi < 0 ? 0 : xi >= nx ? nx - 1 : xi;
    yi = yi < 0 ? 0 : yi >= ny ? ny - 1 : yi;
    zi = zi < 0 ? 0 : zi >= nz ? nz - 1 : zi;
    dst[o + i] = src[xi + yi * nx + zi * nxy];
  }
}

function labelRow(
  src: VoxelArray,
  shape: readonly number[],
  xs: Float64Array,
  ys: Float64Array,
  zs: Float64Array,
  fill: number,
  dst: VoxelArray,
  o: number,
  lab: Float64Array,
  wt: Float64Array,
): void {
  const [nx, ny, nz] = shape;
  const nxy = nx * ny;
  const xmax = nx - 1;
  const ymax = ny - 1;
  const zmax = nz - 1;
  const hx = nx - 0.5 + EDGE;
  const hy = ny - 0.5 + EDGE;
  const hz = nz - 0.5 + EDGE;
  const lo = -0.5 - EDGE;
  for (let i = 0; i < nx; i++) {
    let x = xs[i];
    let y = ys[i];
    let z = zs[i];
    if (!(x >= lo && x <= hx && y >= lo && y <= hy && z >= lo && z <= hz)) {
      dst[o + i] = fill;
      continue;
    }
    x = x < 0 ? 0 : x > xmax ? xmax : x;
    y = y < 0 ? 0 : y > ymax ? ymax : y;
    z = z < 0 ? 0 : z > zmax ? zmax : z;
    const x0 = Math.floor(x);
    const y0 = Math.floor(y);
    const z0 = Math.floor(z);
    const dx = x0 < xmax ? 1 : 0;
    const dy = y0 < ymax ? nx : 0;
    const dz = z0 < zmax ? nxy : 0;
    const p = x0 + y0 * nx + z0 * nxy;
    const l0 = src[p];
    // Inside a region all 8 neighbours agree: no weights needed.
    if (
      l0 === src[p + dx] && l0 === src[p + dy] && l0 === src[p + dy + dx] &&
      l0 === src[p + dz] && l0 === src[p + dz + dx] && l0 === src[p + dz + dy] && l0 === src[p + dz + dy + dx]
    ) {
      dst[o + i] = l0;
      continue;
    }
    const fx = x - x0;
    const fy = y - y0;
    const fz = z - z0;
    lab[0] = l0;
    lab[1] = src[p + dx];
    lab[2] = src[p + dy];
    lab[3] = src[p + dy + dx];
    lab[4] = src[p + dz];
    lab[5] = src[p + dz + dx];
    lab[6] = src[p + dz + dy];
    lab[7] = src[p + dz + dy + dx];
    const gx = 1 - fx;
    const gy = 1 - fy;
    const gz = 1 - fz;
    wt[0] = gx * gy * gz;
    wt[1] = fx * gy * gz;
    wt[2] = gx * fy * gz;
    wt[3] = fx * fy * gz;
    wt[4] = gx * gy * fz;
    wt[5] = fx * gy * fz;
    wt[6] = gx * fy * fz;
    wt[7] = fx * fy * fz;
    dst[o + i] = vote(lab, wt);
  }
}

/** The label with the largest summed weight among the 8 neighbours (ties → smaller label). */
function vote(lab: Float64Array, wt: Float64Array): number {
  let best = lab[0];
  let bestW = -1;
  for (let a = 0; a < 8; a++) {
    const l = lab[a];
    let seen = false;
    for (let b = 0; b < a; b++) {
      if (lab[b] === l) {
        seen = true;
        break;
      }
    }
    if (seen) continue;
    let s = wt[a];
    for (let b = a + 1; b < 8; b++) if (lab[b] === l) s += wt[b];
    if (s > bestW + 1e-9 || (s >= bestW - 1e-9 && l < best)) {
      best = l;
      bestW = s;
    }
  }
  return best;
}
