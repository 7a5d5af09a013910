/**
 * Crop, pad and centred crop-or-pad (TorchIO's Crop, Pad, CropOrPad) with exact geometry: the
 * origin moves to the world position of the new voxel (0, 0, 0) — origin + D·diag(s)·start for a
 * crop, origin − D·diag(s)·before for a pad — so every kept voxel keeps its world position.
 */
import { voxelToWorld } from './affine.ts';
import { checkIndex3, copyBox } from './box.ts';
import { VoxshiftError } from './errors.ts';
import { allocate, deriveVolume, dtypeOf } from './volume.ts';
import type { HistoryEntry, Shape3, Volume, VoxelArray } from './volume.ts';

export type PadMode = 'constant' | 'edge' | 'reflect';

export interface PadOptions {
  /** 'constant' fills with `value`; 'edge' repeats the border voxel; 'reflect' mirrors without repeating the border (numpy 'reflect'). */
  mode?: PadMode;
  /** Fill for mode 'constant' (default 0; cast to the volume's dtype). */
  value?: number;
}

export interface Box {
  start: [number, number, number];
  size: [number, number, number];
}

function cropCore<T extends VoxelArray>(vol: Volume<T>, start: readonly number[], size: readonly number[], step?: HistoryEntry): Volume<T> {
  const data = copyBox(vol, start, size);
  return deriveVolume<T>(vol, { data, shape: [size[0], size[1], size[2]], origin: voxelToWorld(vol, start) }, step);
}

/** The sub-volume [start, start + size) along i, j, k (all channels), with the origin moved to voxel `start`. */
export function crop<T extends VoxelArray>(vol: Volume<T>, start: readonly number[], size: readonly number[]): Volume<T> {
  const s = checkIndex3(start, 'start', 0);
  const z = checkIndex3(size, 'size', 1);
  return cropCore(vol, s, z, { op: 'crop', params: { start: s, size: z } });
}

function padIndexTable(n: number, before: number, total: number, mode: PadMode): Int32Array {
  const t = new Int32Array(total);
  const period = 2 * (n - 1);
  for (let o = 0; o < total; o++) {
    const x = o - before;
    if (x >= 0 && x < n) t[o] = x;
    else if (mode === 'constant') t[o] = -1;
    else if (mode === 'edge' || n === 1) t[o] = x < 0 ? 0 : n - 1;
    else {
      const m = ((x % period) + period) % period;
      t[o] = m >= n ? period - m : m;
    }
  }
  return t;
}

function padCore<T extends VoxelArray>(
  vol: Volume<T>,
  before: readonly number[],
  after: readonly number[],
  options: PadOptions,
  step?: HistoryEntry,
): Volume<T> {
  const mode = options.mode ?? 'constant';
  if (mode !== 'constant' && mode !== 'edge' && mode !== 'reflect') {
    throw new VoxshiftError('INVALID_ARGUMENT', `pad mode must be 'constant', 'edge' or 'reflect', got ${JSON.stringify(mode)}`, {
      param: 'mode',
    });
  }
  const value = options.value ?? 0;
  if (!Number.isFinite(value)) {
    throw new VoxshiftError('INVALID_ARGUMENT', `pad value must be a finite number, got ${value}`, { param: 'value' });
  }
  const [nx, ny, nz] = vol.shape;
  const NX = nx + before[0] + after[0];
  const NY = ny + before[1] + after[1];
  const NZ = nz + before[2] + after[2];
  const tx = padIndexTable(nx, before[0], NX, mode);
  const ty = padIndexTable(ny, before[1], NY, mode);
  const tz = padIndexTable(nz, before[2], NZ, mode);
  const n = nx * ny * nz;
  const src = vol.data;
  const out = allocate(dtypeOf(src), NX * NY * NZ * vol.channels) as T;
  const bx = before[0];
  let o = 0;
  for (let ch = 0; ch < vol.channels; ch++) {
    for (let k = 0; k < NZ; k++) {
      for (let j = 0; j < NY; j++) {
        if (tz[k] < 0 || ty[j] < 0) {
          out.fill(value, o, o + NX);
          o += NX;
          continue;
        }
        const row = ch * n + nx * (ty[j] + ny * tz[k]);
        for (let i = 0; i < bx; i++) out[o + i] = tx[i] < 0 ? value : src[row + tx[i]];
        out.set(src.subarray(row, row + nx), o + bx);
        for (let i = bx + nx; i < NX; i++) out[o + i] = tx[i] < 0 ? value : src[row + tx[i]];
        o += NX;
      }
    }
  }
  const origin = voxelToWorld(vol, [-before[0], -before[1], -before[2]]);
  return deriveVolume<T>(vol, { data: out, shape: [NX, NY, NZ], origin }, step);
}

/** Adds `before[a]` voxels before and `after[a]` voxels after each axis a; the origin moves back by `before`. */
export function pad<T extends VoxelArray>(
  vol: Volume<T>,
  before: readonly number[],
  after: readonly number[],
  options: PadOptions = {},
): Volume<T> {
  const b = checkIndex3(before, 'before', 0);
  const a = checkIndex3(after, 'after', 0);
  return padCore(vol, b, a, options, {
    op: 'pad',
    params: { before: b, after: a, mode: options.mode ?? 'constant', value: options.value ?? 0 },
  });
}

/**
 * Centred crop and/or pad to `shape` (TorchIO's CropOrPad): per axis, a difference d is split as
 * ceil(d/2) before and floor(d/2) after (the odd voxel goes to the start, as TorchIO does), cropping
 * where the volume is larger and padding (with `options`) where it is smaller.
 */
export function cropOrPad<T extends VoxelArray>(vol: Volume<T>, shape: Shape3 | readonly number[], options: PadOptions = {}): Volume<T> {
  const target = checkIndex3(shape, 'shape', 1);
  const cropStart = [0, 0, 0];
  const cropSize = [...vol.shape];
  const before = [0, 0, 0];
  const after = [0, 0, 0];
  for (let a = 0; a < 3; a++) {
    const d = target[a] - vol.shape[a];
    if (d < 0) {
      cropStart[a] = Math.ceil(-d / 2);
      cropSize[a] = target[a];
    } else {
      before[a] = Math.ceil(d / 2);
      after[a] = d - before[a];
    }
  }
  let out: Volume<T> = vol;
  if (cropSize.some((s, a) => s !== vol.shape[a])) out = cropCore(out, cropStart, cropSize);
  if (before.some((b, a) => b > 0 || after[a] > 0)) out = padCore(out, before, after, options);
  if (out === vol) out = deriveVolume<T>(vol, { data: vol.data.slice() as T });
  return deriveVolume<T>(out, { data: out.data }, {
    op: 'cropOrPad',
    params: { shape: target, cropStart, padBefore: before, padAfter: after, mode: options.mode ?? 'constant', value: options.value ?? 0 },
  });
}

/**
 * The smallest box holding every foreground voxel (over all channels), or null when there is none.
 * `foreground` is a threshold (voxel > threshold; default 0) or a predicate. `margin` voxels are
 * added on every side, clipped to the volume.
 */
export function boundingBox(
  vol: Volume,
  foreground: number | ((value: number) => boolean) = 0,
  options: { margin?: number | readonly number[] } = {},
): Box | null {
  const [nx, ny, nz] = vol.shape;
  const src = vol.data;
  let x0 = nx, y0 = ny, z0 = nz, x1 = -1, y1 = -1, z1 = -1;
  const thr = typeof foreground === 'number' ? foreground : 0;
  const pred = typeof foreground === 'function' ? foreground : null;
  if (pred === null && !(typeof thr === 'number' && !Number.isNaN(thr))) {
    throw new VoxshiftError('INVALID_ARGUMENT', `foreground must be a number or a predicate`, { param: 'foreground' });
  }
  let p = 0;
  for (let ch = 0; ch < vol.channels; ch++) {
    for (let k = 0; k < nz; k++) {
      for (let j = 0; j < ny; j++, p += nx) {
        let first = -1;
        let last = -1;
        if (pred) {
          for (let i = 0; i < nx; i++) if (pred(src[p + i])) { first = i; break; }
          if (first < 0) continue;
          for (let i = nx - 1; i >= first; i--) if (pred(src[p + i])) { last = i; break; }
        } else {
          for (let i = 0; i < nx; i++) if (src[p + i] > thr) { first = i; break; }
          if (first < 0) continue;
          for (let i = nx - 1; i >= first; i--) if (src[p + i] > thr) { last = i; break; }
        }
        if (first < x0) x0 = first;
        if (last > x1) x1 = last;
        if (j < y0) y0 = j;
        if (j > y1) y1 = j;
        if (k < z0) z0 = k;
        if (k > z1) z1 = k;
      }
    }
  }
  if (x1 < 0) return null;
  const m = options.margin ?? 0;
  const margin = typeof m === 'number' ? [m, m, m] : m;
  checkIndex3(margin, 'margin', 0);
  const lo = [Math.max(0, x0 - margin[0]), Math.max(0, y0 - margin[1]), Math.max(0, z0 - margin[2])];
  const hi = [Math.min(nx - 1, x1 + margin[0]), Math.min(ny - 1, y1 + margin[1]), Math.min(nz - 1, z1 + margin[2])];
  return { start: [lo[0], lo[1], lo[2]], size: [hi[0] - lo[0] + 1, hi[1] - lo[1] + 1, hi[2] - lo[2] + 1] };
}
