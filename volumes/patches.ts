/**
 * Patches for patch-based training and sliding-window inference (MONAI's sliding_window_inference,
 * RandSpatialCrop / RandCropByPosNegLabel).
 */
import { voxelToWorld } from './affine.ts';
import { checkIndex3, copyBox, writeBox } from './box.ts';
import type { Grid } from './box.ts';
import { VoxshiftError } from './errors.ts';
import type { Rng } from './random.ts';
import { deriveVolume } from './volume.ts';
import type { Shape3, Volume, VoxelArray } from './volume.ts';

export type Index3 = [number, number, number];

/** The box [start, start + size) of every channel as a volume of its own (origin at voxel `start`). */
export function extractPatch<T extends VoxelArray>(vol: Volume<T>, start: readonly number[], size: readonly number[]): Volume<T> {
  const s = checkIndex3(start, 'start', 0);
  const z = checkIndex3(size, 'size', 1);
  const data = copyBox(vol, s, z);
  return deriveVolume<T>(vol, { data, shape: z, origin: voxelToWorld(vol, s) }, { op: 'extractPatch', params: { start: s, size: z } });
}

/**
 * Writes `patch` into `target` at `start`, IN PLACE. mode 'replace' (default) overwrites;
 * mode 'add' accumulates, optionally times per-voxel `weights` (e.g. gaussianWeights) — divide
 * the accumulator by the accumulated weights afterwards for weighted sliding-window averaging.
 */
export function insertPatch(
  target: Grid,
  patch: Grid,
  start: readonly number[],
  options: { mode?: 'replace' | 'add'; weights?: ArrayLike<number> } = {},
): void {
  writeBox(target, patch, checkIndex3(start, 'start', 0), options);
}

function perAxis(value: number | readonly number[], param: string): [number, number, number] {
  const v = typeof value === 'number' ? [value, value, value] : value;
  if (v.length !== 3 || !v.every((x) => Number.isFinite(x))) {
    throw new VoxshiftError('INVALID_ARGUMENT', `${param} must be a number or 3 numbers, got ${JSON.stringify(value)}`, { param });
  }
  return [v[0], v[1], v[2]];
}

function checkFits(shape: readonly number[], size: readonly number[]): void {
  for (let a = 0; a < 3; a++) {
    if (size[a] > shape[a]) {
      throw new VoxshiftError(
        'INVALID_ARGUMENT',
        `patch size [${size.join(', ')}] exceeds the volume shape [${shape.join(', ')}] along axis ${a}; pad first (cropOrPad)`,
        { param: 'patchSize', details: { shape: [...shape], patchSize: [...size] } },
      );
    }
  }
}

/**
 * Patch starts covering `shape` for sliding-window inference: along each axis, starts at 0, step,
 * 2·step… with step = max(1, floor(patch × (1 − overlap))), and a last patch flush with the far edge
 * (start = n − patch) when the steps do not land there. `overlap` is a fraction in [0, 1) (MONAI's
 * convention), one for all axes or one per axis. Order: i varies fastest, then j, then k.
 */
export function patchGrid(shape: Shape3 | readonly number[], patchSize: readonly number[], overlap: number | readonly number[] = 0): Index3[] {
  const sh = checkIndex3(shape, 'shape', 1);
  const ps = checkIndex3(patchSize, 'patchSize', 1);
  const ov = perAxis(overlap, 'overlap');
  if (!ov.every((x) => x >= 0 && x < 1)) {
    throw new VoxshiftError('INVALID_ARGUMENT', `overlap must be in [0, 1), got ${JSON.stringify(overlap)}`, { param: 'overlap' });
  }
  checkFits(sh, ps);
  const starts = [0, 1, 2].map((a) => {
    const step = Math.max(1, Math.floor(ps[a] * (1 - ov[a])));
    const last = sh[a] - ps[a];
    const s: number[] = [];
    for (let x = 0; x < last; x += step) s.push(x);
    s.push(last);
    return s;
  });
  const out: Index3[] = [];
  for (const k of starts[2]) for (const j of starts[1]) for (const i of starts[0]) out.push([i, j, k]);
  return out;
}

/**
 * MONAI-style gaussian importance map for blending overlapping patches: exp(−d²/(2σ²)) per axis
 * with σ = sigmaScale × patch size, centred on the patch centre (size − 1)/2 (MONAI centres on
 * size // 2; the symmetric centre keeps even-sized maps symmetric), normalised to a maximum of 1
 * and with every value at least the smallest positive one (as MONAI clamps zeros), so no voxel gets
 * zero weight. Layout i fastest.
 */
export function gaussianWeights(patchSize: readonly number[], sigmaScale: number | readonly number[] = 0.125): Float32Array {
  const ps = checkIndex3(patchSize, 'patchSize', 1);
  const ss = perAxis(sigmaScale, 'sigmaScale');
  if (!ss.every((x) => x > 0)) {
    throw new VoxshiftError('INVALID_ARGUMENT', `sigmaScale must be positive, got ${JSON.stringify(sigmaScale)}`, { param: 'sigmaScale' });
  }
  const g = ps.map((n, a) => {
    const sigma = ss[a] * n;
    const c = (n - 1) / 2;
    const line = new Float64Array(n);
    let max = 0;
    for (let x = 0; x < n; x++) {
      line[x] = Math.exp(-((x - c) ** 2) / (2 * sigma * sigma));
      if (line[x] > max) max = line[x];
    }
    for (let x = 0; x < n; x++) line[x] /= max;
    return line;
  });
  const out = new Float32Array(ps[0] * ps[1] * ps[2]);
  let o = 0;
  let minPos = Infinity;
  for (let k = 0; k < ps[2]; k++) {
    for (let j = 0; j < ps[1]; j++) {
      const jk = g[1][j] * g[2][k];
      for (let i = 0; i < ps[0]; i++) {
        const w = g[0][i] * jk;
        out[o++] = w;
        if (w > 0 && w < minPos) minPos = w;
      }
    }
  }
  if (minPos < Infinity) for (let p = 0; p < out.length; p++) if (!(out[p] > 0)) out[p] = minPos;
  return out;
}

/** Precomputed linear indices of foreground voxels, for sampling many patches from one mask. */
export interface ForegroundIndex {
  indices: Uint32Array;
  shape: Index3;
}

/** Linear indices (i fastest) of the voxels where `mask` (channel 0) is non-zero. */
export function foregroundIndex(mask: Grid): ForegroundIndex {
  const shape = checkIndex3(mask.shape, 'shape', 1);
  const n = shape[0] * shape[1] * shape[2];
  const d = mask.data;
  let count = 0;
  for (let p = 0; p < n; p++) if (d[p] !== 0) count++;
  const indices = new Uint32Array(count);
  for (let p = 0, q = 0; p < n; p++) if (d[p] !== 0) indices[q++] = p;
  return { indices, shape };
}

/**
 * A random patch start with rng-drawn coordinates (never Math.random). With probability
 * `foregroundProb`, and when `foreground` (a mask grid or a precomputed ForegroundIndex of the same
 * shape) has any foreground, the patch is centred (start = voxel − floor(size/2), clamped inside the
 * volume) on a foreground voxel drawn uniformly; otherwise the start is uniform over all valid starts.
 */
export function randomPatchStart(
  shape: Shape3 | readonly number[],
  patchSize: readonly number[],
  rng: Rng,
  foreground?: Grid | ForegroundIndex,
  foregroundProb = 0.5,
): Index3 {
  const sh = checkIndex3(shape, 'shape', 1);
  const ps = checkIndex3(patchSize, 'patchSize', 1);
  checkFits(sh, ps);
  if (typeof rng !== 'function') {
    throw new VoxshiftError('INVALID_ARGUMENT', 'rng must be a function returning numbers in [0, 1) (see createRng)', { param: 'rng' });
  }
  if (!(foregroundProb >= 0 && foregroundProb <= 1)) {
    throw new VoxshiftError('INVALID_ARGUMENT', `foregroundProb must be in [0, 1], got ${foregroundProb}`, { param: 'foregroundProb' });
  }
  const draw = (m: number): number => Math.min(m - 1, Math.floor(rng() * m));
  if (foreground !== undefined && rng() < foregroundProb) {
    const fg = 'indices' in foreground ? foreground : foregroundIndex(foreground);
    if (fg.shape.some((n, a) => n !== sh[a])) {
      throw new VoxshiftError('INVALID_ARGUMENT', `foreground mask shape [${fg.shape.join(', ')}] differs from shape [${sh.join(', ')}]`, {
        param: 'foreground',
      });
    }
    if (fg.indices.length > 0) {
      const p = fg.indices[draw(fg.indices.length)];
      const c = [p % sh[0], Math.floor(p / sh[0]) % sh[1], Math.floor(p / (sh[0] * sh[1]))];
      return [0, 1, 2].map((a) => Math.min(sh[a] - ps[a], Math.max(0, c[a] - Math.floor(ps[a] / 2)))) as Index3;
    }
  }
  return [draw(sh[0] - ps[0] + 1), draw(sh[1] - ps[1] + 1), draw(sh[2] - ps[2] + 1)];
}
