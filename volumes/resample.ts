/**
 * Resampling to a new spacing or onto another grid (ITK's ResampleImageFilter, TorchIO's Resample).
 *
 * Every output voxel centre is mapped to a continuous input index through both affines
 * (index_in = A_in⁻¹ · A_out · index_out) and interpolated there:
 * - 'linear'  trilinear; output float32. Default for intensity volumes.
 * - 'nearest' nearest voxel (ties round up, as ITK); output keeps the dtype. Default for labels.
 * - 'label'   one-hot/argmax: each label's indicator is interpolated trilinearly and the label with
 *             the largest value wins (ties → the smaller label). Computed directly from the 8
 *             neighbours' labels and weights, so its cost does not grow with the number of labels.
 *             Output keeps the dtype; only labels present in the input (or the fill) can appear.
 * Linear interpolation of a label volume is refused (it would invent label values).
 *
 * Field of view: a point is inside when its continuous index lies within the voxels' extent,
 * [−0.5, n − 0.5] on every axis; there, interpolation clamps to the border voxels (so a centred
 * upsampling fills the outer half-voxel with border values instead of the fill). Outside, voxels get
 * `fill`: default 0 for labels and the image minimum for intensity (so background stays
 * background; give fill: −1024 for CT air explicitly if the image minimum is not air).
 *
 * Speed: when the mapping is axis-aligned (same direction, any spacing/origin/flip), per-axis
 * index and weight tables are precomputed and trilinear is done as three separable 1-D passes over
 * float32 arrays; otherwise a general per-voxel affine path is used.
 */
import { affineOf, invertAffine, multiplyAffine, voxelToWorld } from './affine.ts';
import type { Geometry } from './affine.ts';
import { VoxshiftError } from './errors.ts';
import { allocate, dtypeOf, deriveVolume, MAX_VOXELS } from './volume.ts';
import type { Shape3, Vec3, Volume, VoxelArray } from './volume.ts';
import { labelVoteAt, nearestAt, trilinearAt, voteLabels, voteScratch } from './interpolate.ts';

export type Interpolation = 'linear' | 'nearest' | 'label';

export interface ResampleOptions {
  /** Default: 'nearest' for label volumes, 'linear' for intensity volumes. */
  interpolation?: Interpolation;
  /** Value outside the input's field of view (default 0 for labels, the image minimum for intensity). */
  fill?: number;
}

export type GridGeometry = Geometry & { shape: Shape3 | readonly number[] };

const EDGE_EPS = 1e-6;
const SNAP_EPS = 1e-9;
const ALIGNED_EPS = 1e-7;

/**
 * The shape of a resampled volume: per axis max(1, round(n · spacing / newSpacing)), so the
 * physical extent n · spacing is kept as closely as whole voxels allow.
 */
export function resampledShape(shape: readonly number[], spacing: readonly number[], newSpacing: readonly number[]): Shape3 {
  return [0, 1, 2].map((a) => Math.max(1, Math.round((shape[a] * spacing[a]) / newSpacing[a]))) as unknown as Shape3;
}

/**
 * Resamples to `spacing` (mm; one number for isotropic) with the same direction and field of view.
 * The grid stays centred: the centre of the voxel grid (index (n − 1)/2) keeps its world position,
 * so origin' = origin + D · ((n − 1)·s − (n' − 1)·s')/2 per axis, i.e. the first new voxel sits at
 * input index ((n − 1) − (n' − 1)·s'/s)/2. When n·s/s' is a whole number this is exactly TorchIO's
 * Resample (first voxel at input index (s'/s − 1)/2: the outer voxel edges coincide); otherwise
 * TorchIO takes n' = ceil(n·s/s') and keeps the first edge, while here n' = round(n·s/s') and the
 * difference of extent (less than one new voxel) is split evenly between both ends.
 */
export function resample(vol: Volume, spacing: Vec3 | readonly number[] | number, options: ResampleOptions = {}): Volume {
  const sp = typeof spacing === 'number' ? [spacing, spacing, spacing] : spacing;
  if (!Array.isArray(sp) || sp.length !== 3 || !sp.every((x) => typeof x === 'number' && Number.isFinite(x) && x > 0)) {
    throw new VoxshiftError('INVALID_ARGUMENT', `spacing must be a positive number or 3 positive numbers (mm), got ${JSON.stringify(spacing)}`, {
      param: 'spacing',
    });
  }
  const newSpacing: Vec3 = [sp[0], sp[1], sp[2]];
  const shape = resampledShape(vol.shape, vol.spacing, newSpacing);
  const shift = [0, 1, 2].map((a) => ((vol.shape[a] - 1) * vol.spacing[a] - (shape[a] - 1) * newSpacing[a]) / 2 / vol.spacing[a]);
  const origin = voxelToWorld(vol, shift);
  return resampleCore(vol, { shape, spacing: newSpacing, origin, direction: vol.direction }, options, 'resample');
}

/**
 * Resamples onto `reference`'s grid (shape, spacing, origin, direction — e.g. another Volume),
 * through world coordinates; the directions may differ (any rigid or axis-permuting relation).
 */
export function resampleToGrid(vol: Volume, reference: GridGeometry, options: ResampleOptions = {}): Volume {
  const s = reference?.shape;
  if (!s || s.length !== 3 || !s.every((n) => Number.isInteger(n) && n > 0)) {
    throw new VoxshiftError('INVALID_ARGUMENT', `reference.shape must be 3 positive integers, got ${JSON.stringify(s)}`, { param: 'reference' });
  }
  const ok = (v: unknown, len: number): boolean =>
    Array.isArray(v) && v.length === len && v.every((x) => typeof x === 'number' && Number.isFinite(x));
  if (!ok(reference.spacing, 3) || !reference.spacing.every((x) => x > 0) || !ok(reference.origin, 3) || !ok(reference.direction, 9)) {
    throw new VoxshiftError('INVALID_ARGUMENT', 'reference needs spacing (3 positive), origin (3) and direction (9) finite numbers', {
      param: 'reference',
    });
  }
  return resampleCore(vol, reference, options, 'resampleToGrid');
}

function resampleCore(vol: Volume, ref: GridGeometry, options: ResampleOptions, op: string): Volume {
  const interpolation = options.interpolation ?? (vol.kind === 'label' ? 'nearest' : 'linear');
  if (interpolation !== 'linear' && interpolation !== 'nearest' && interpolation !== 'label') {
    throw new VoxshiftError('INVALID_ARGUMENT', `interpolation must be 'linear', 'nearest' or 'label', got ${JSON.stringify(interpolation)}`, {
      param: 'interpolation',
    });
  }
  if (interpolation === 'linear' && vol.kind === 'label') {
    throw new VoxshiftError(
      'INVALID_ARGUMENT',
      "linear interpolation of a label volume would invent label values; use 'nearest' or 'label'",
      { param: 'interpolation' },
    );
  }
  if (options.fill !== undefined && !Number.isFinite(options.fill)) {
    throw new VoxshiftError('INVALID_ARGUMENT', `fill must be a finite number, got ${options.fill}`, { param: 'fill' });
  }
  const shape: Shape3 = [ref.shape[0], ref.shape[1], ref.shape[2]];
  const outN = shape[0] * shape[1] * shape[2];
  if (outN > MAX_VOXELS || outN * vol.channels > MAX_VOXELS) {
    throw new VoxshiftError('SIZE_LIMIT', `resampled volume of ${shape.join('×')} voxels × ${vol.channels} channels exceeds the ${MAX_VOXELS} limit`, {
      param: 'spacing',
    });
  }
  const fill = options.fill ?? (vol.kind === 'label' ? 0 : finiteMin(vol.data));
  // index_in = A_in⁻¹ · A_out · index_out
  const m = multiplyAffine(invertAffine(affineOf(vol)), affineOf(ref));
  const aligned = [1, 2, 4, 6, 8, 9].every((i) => Math.abs(m[i]) < ALIGNED_EPS);
  const n = vol.shape[0] * vol.shape[1] * vol.shape[2];
  const outDtype = interpolation === 'linear' ? 'float32' : dtypeOf(vol.data);
  const out = allocate(outDtype, outN * vol.channels);
  const tables = aligned ? [0, 1, 2].map((a) => axisTable(m[a * 5], m[a * 4 + 3], vol.shape[a], shape[a])) : [];
  for (let ch = 0; ch < vol.channels; ch++) {
    const src = vol.data.subarray(ch * n, (ch + 1) * n);
    const dst = out.subarray(ch * outN, (ch + 1) * outN);
    if (aligned) {
      if (interpolation === 'linear') alignedLinear(toFloat32(src), vol.shape, shape, tables, dst as Float32Array);
      else if (interpolation === 'nearest') alignedNearest(src, vol.shape, shape, tables, dst);
      else alignedLabel(src, vol.shape, shape, tables, dst);
      applyFill(dst, shape, tables, fill);
    } else {
      if (interpolation === 'linear') generalLinear(toFloat32(src), vol.shape, shape, m, dst as Float32Array, fill);
      else generalPath(src, vol.shape, shape, m, dst, interpolation, fill);
    }
  }
  return deriveVolume(
    vol,
    { data: out, shape, spacing: ref.spacing, origin: ref.origin, direction: ref.direction },
    {
      op,
      params: {
        shape: [...shape],
        spacing: [...ref.spacing],
        origin: [...ref.origin],
        direction: [...ref.direction],
        interpolation,
        fill,
        path: aligned ? 'axis-aligned' : 'general',
      },
    },
  );
}

function finiteMin(d: VoxelArray): number {
  let min = Infinity;
  for (let i = 0; i < d.length; i++) {
    const v = d[i];
    if (v < min && v - v === 0) min = v;
  }
  return min === Infinity ? 0 : min;
}

function toFloat32(src: VoxelArray): Float32Array {
  return src instanceof Float32Array ? src : new Float32Array(src);
}

interface AxisTable {
  lo: Int32Array;
  hi: Int32Array;
  /** Weight of `hi`. */
  w: Float32Array;
  near: Int32Array;
  valid: Uint8Array;
  allValid: boolean;
}

/** Per output index t along one axis: x = scale·t + offset in input index units. */
function axisTable(scale: number, offset: number, n: number, m: number): AxisTable {
  const lo = new Int32Array(m);
  const hi = new Int32Array(m);
  const w = new Float32Array(m);
  const near = new Int32Array(m);
  const valid = new Uint8Array(m);
  let allValid = true;
  for (let t = 0; t < m; t++) {
    let x = scale * t + offset;
    const r = Math.round(x);
    if (Math.abs(x - r) < SNAP_EPS) x = r;
    const inside = x >= -0.5 - EDGE_EPS && x <= n - 0.5 + EDGE_EPS;
    valid[t] = inside ? 1 : 0;
    if (!inside) allValid = false;
    const xc = x < 0 ? 0 : x > n - 1 ? n - 1 : x;
    const l = Math.floor(xc);
    lo[t] = l;
    hi[t] = l + 1 < n ? l + 1 : l;
    w[t] = xc - l;
    const nn = Math.floor(x + 0.5);
    near[t] = nn < 0 ? 0 : nn > n - 1 ? n - 1 : nn;
  }
  return { lo, hi, w, near, valid, allValid };
}

/** One separable linear pass along `axis`: shape[axis] → m samples. */
function linearPass(src: Float32Array, shape: number[], axis: number, t: AxisTable, m: number, into?: Float32Array): Float32Array {
  const inner = axis === 0 ? 1 : axis === 1 ? shape[0] : shape[0] * shape[1];
  const n = shape[axis];
  const outer = axis === 0 ? shape[1] * shape[2] : axis === 1 ? shape[2] : 1;
  const out = into ?? new Float32Array(inner * m * outer);
  const { lo, hi, w } = t;
  if (inner === 1) {
    for (let r = 0; r < outer; r++) {
      const sb = r * n;
      const ob = r * m;
      for (let q = 0; q < m; q++) {
        const a = src[sb + lo[q]];
        out[ob + q] = a + w[q] * (src[sb + hi[q]] - a);
      }
    }
  } else {
    for (let r = 0; r < outer; r++) {
      for (let q = 0; q < m; q++) {
        const pa = (r * n + lo[q]) * inner;
        const pb = (r * n + hi[q]) * inner;
        const o = (r * m + q) * inner;
        const wq = w[q];
        if (wq === 0) out.set(src.subarray(pa, pa + inner), o);
        else for (let i = 0; i < inner; i++) out[o + i] = src[pa + i] + wq * (src[pb + i] - src[pa + i]);
      }
    }
  }
  return out;
}

function alignedLinear(src: Float32Array, inShape: readonly number[], outShape: readonly number[], tables: AxisTable[], dst: Float32Array): void {
  // Shrinking axes first keeps the intermediate arrays small.
  const order = [0, 1, 2].sort((a, b) => outShape[a] / inShape[a] - outShape[b] / inShape[b]);
  let cur = src;
  const shape = [inShape[0], inShape[1], inShape[2]];
  order.forEach((axis, step) => {
    cur = linearPass(cur, shape, axis, tables[axis], outShape[axis], step === 2 ? dst : undefined);
    shape[axis] = outShape[axis];
  });
}

function alignedNearest(src: VoxelArray, inShape: readonly number[], outShape: readonly number[], tables: AxisTable[], dst: VoxelArray): void {
  const nx = inShape[0];
  const nxy = inShape[0] * inShape[1];
  const ix = tables[0].near;
  const iy = tables[1].near;
  const iz = tables[2].near;
  const [mx, my, mz] = outShape;
  let o = 0;
  for (let k = 0; k < mz; k++) {
    const bk = iz[k] * nxy;
    for (let j = 0; j < my; j++) {
      const b = bk + iy[j] * nx;
      for (let i = 0; i < mx; i++) dst[o++] = src[b + ix[i]];
    }
  }
}

function alignedLabel(src: VoxelArray, inShape: readonly number[], outShape: readonly number[], tables: AxisTable[], dst: VoxelArray): void {
  const nx = inShape[0];
  const nxy = inShape[0] * inShape[1];
  const [tx, ty, tz] = tables;
  const [mx, my, mz] = outShape;
  const lab = new Float64Array(8);
  const wt = new Float64Array(8);
  let o = 0;
  for (let k = 0; k < mz; k++) {
    const z0 = tz.lo[k] * nxy;
    const z1 = tz.hi[k] * nxy;
    const wz = tz.w[k];
    for (let j = 0; j < my; j++) {
      const y0 = ty.lo[j] * nx;
      const y1 = ty.hi[j] * nx;
      const wy = ty.w[j];
      const w00 = (1 - wy) * (1 - wz);
      const w10 = wy * (1 - wz);
      const w01 = (1 - wy) * wz;
      const w11 = wy * wz;
      const r00 = z0 + y0;
      const r10 = z0 + y1;
      const r01 = z1 + y0;
      const r11 = z1 + y1;
      for (let i = 0; i < mx; i++) {
        const x0 = tx.lo[i];
        const x1 = tx.hi[i];
        const l0 = src[r00 + x0];
        // Inside a region all 8 neighbours agree: no weights needed.
        if (
          l0 === src[r00 + x1] && l0 === src[r10 + x0] && l0 === src[r10 + x1] &&
          l0 === src[r01 + x0] && l0 === src[r01 + x1] && l0 === src[r11 + x0] && l0 === src[r11 + x1]
        ) {
          dst[o++] = l0;
          continue;
        }
        const wx = tx.w[i];
        lab[0] = l0;
        lab[1] = src[r00 + x1];
        lab[2] = src[r10 + x0];
        lab[3] = src[r10 + x1];
        lab[4] = src[r01 + x0];
        lab[5] = src[r01 + x1];
        lab[6] = src[r11 + x0];
        lab[7] = src[r11 + x1];
        wt[0] = (1 - wx) * w00;
        wt[1] = wx * w00;
        wt[2] = (1 - wx) * w10;
        wt[3] = wx * w10;
        wt[4] = (1 - wx) * w01;
        wt[5] = wx * w01;
        wt[6] = (1 - wx) * w11;
        wt[7] = wx * w11;
        dst[o++] = voteLabels(lab, wt, 8);
      }
    }
  }
}

function applyFill(dst: VoxelArray, shape: readonly number[], tables: AxisTable[], fill: number): void {
  if (tables.every((t) => t.allValid)) return;
  const [mx, my, mz] = shape;
  const vx = tables[0].valid;
  const vy = tables[1].valid;
  const vz = tables[2].valid;
  let o = 0;
  for (let k = 0; k < mz; k++) {
    for (let j = 0; j < my; j++, o += mx) {
      if (vz[k] === 0 || vy[j] === 0) dst.fill(fill, o, o + mx);
      else if (!tables[0].allValid) for (let i = 0; i < mx; i++) if (vx[i] === 0) dst[o + i] = fill;
    }
  }
}

/**
 * The output i range [first, last] whose mapped point lies within [lo, hi] on one input axis, for
 * x(i) = base + step·i, intersected with the running range.
 */
function clipRange(base: number, step: number, lo: number, hi: number, range: number[]): void {
  if (step === 0) {
    if (!(base >= lo && base <= hi)) range[1] = -1;
    return;
  }
  const a = (lo - base) / step;
  const b = (hi - base) / step;
  const first = Math.ceil(Math.min(a, b) - 1e-9);
  const last = Math.floor(Math.max(a, b) + 1e-9);
  if (first > range[0]) range[0] = first;
  if (last < range[1]) range[1] = last;
}

/** Trilinear for any affine relation: per row, the inside i range is solved first, then interpolated without bounds tests. */
function generalLinear(
  src: Float32Array,
  inShape: readonly number[],
  outShape: readonly number[],
  m: readonly number[],
  dst: Float32Array,
  fill: number,
): void {
  const [nx, ny, nz] = inShape;
  const [mx, my, mz] = outShape;
  const [m0, m1, m2, m3, m4, m5, m6, m7, m8, m9, m10, m11] = m;
  const range = [0, 0];
  let o = 0;
  for (let k = 0; k < mz; k++) {
    for (let j = 0; j < my; j++, o += mx) {
      const bx = m1 * j + m2 * k + m3;
      const by = m5 * j + m6 * k + m7;
      const bz = m9 * j + m10 * k + m11;
      range[0] = 0;
      range[1] = mx - 1;
      clipRange(bx, m0, -0.5 - EDGE_EPS, nx - 0.5 + EDGE_EPS, range);
      clipRange(by, m4, -0.5 - EDGE_EPS, ny - 0.5 + EDGE_EPS, range);
      clipRange(bz, m8, -0.5 - EDGE_EPS, nz - 0.5 + EDGE_EPS, range);
      const first = range[0];
      const last = range[1];
      if (last < first) {
        dst.fill(fill, o, o + mx);
        continue;
      }
      if (first > 0) dst.fill(fill, o, o + first);
      if (last < mx - 1) dst.fill(fill, o + last + 1, o + mx);
      for (let i = first; i <= last; i++) {
        dst[o + i] = trilinearAt(src, nx, ny, nz, bx + m0 * i, by + m4 * i, bz + m8 * i);
      }
    }
  }
}

/** Nearest and label voting for any affine relation: per-voxel mapping, incremental along i. */
function generalPath(
  src: VoxelArray,
  inShape: readonly number[],
  outShape: readonly number[],
  m: readonly number[],
  dst: VoxelArray,
  interpolation: 'nearest' | 'label',
  fill: number,
): void {
  const [nx, ny, nz] = inShape;
  const [mx, my, mz] = outShape;
  const lox = -0.5 - EDGE_EPS;
  const hix = nx - 0.5 + EDGE_EPS;
  const hiy = ny - 0.5 + EDGE_EPS;
  const hiz = nz - 0.5 + EDGE_EPS;
  const scratch = voteScratch();
  let o = 0;
  for (let k = 0; k < mz; k++) {
    for (let j = 0; j < my; j++) {
      const bx = m[1] * j + m[2] * k + m[3];
      const by = m[5] * j + m[6] * k + m[7];
      const bz = m[9] * j + m[10] * k + m[11];
      for (let i = 0; i < mx; i++, o++) {
        const x = bx + m[0] * i;
        const y = by + m[4] * i;
        const z = bz + m[8] * i;
        if (!(x >= lox && x <= hix && y >= lox && y <= hiy && z >= lox && z <= hiz)) {
          dst[o] = fill;
          continue;
        }
        dst[o] = interpolation === 'nearest' ? nearestAt(src, nx, ny, nz, x, y, z) : labelVoteAt(src, nx, ny, nz, x, y, z, scratch);
      }
    }
  }
}
