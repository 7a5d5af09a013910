/**
 * Point samplers shared by resampling (volumes/resample.ts) and spatial augmentation
 * (augment/spatial/warp.ts). Each takes a continuous voxel index (x, y, z) of a single-channel
 * x-fastest array with dimensions (nx, ny, nz). Callers decide the field of view (inside when the
 * index lies in [−0.5, n − 0.5]); inside it the index is clamped to the border voxel centres here.
 * Small enough for V8 to inline into the callers' row loops.
 */
import type { VoxelArray } from './volume.ts';

/** Trilinear interpolation. */
export function trilinearAt(src: ArrayLike<number>, nx: number, ny: number, nz: number, x: number, y: number, z: number): number {
  const xmax = nx - 1;
  const ymax = ny - 1;
  const zmax = nz - 1;
  const nxy = nx * ny;
  const xc = x < 0 ? 0 : x > xmax ? xmax : x;
  const yc = y < 0 ? 0 : y > ymax ? ymax : y;
  const zc = z < 0 ? 0 : z > zmax ? zmax : z;
  const x0 = Math.floor(xc);
  const y0 = Math.floor(yc);
  const z0 = Math.floor(zc);
  const fx = xc - x0;
  const fy = yc - y0;
  const fz = zc - z0;
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
  return c0 + fz * (c1 - c0);
}

/** Nearest neighbour (round half up). */
export function nearestAt(src: VoxelArray, nx: number, ny: number, nz: number, x: number, y: number, z: number): number {
  let xi = Math.floor(x + 0.5);
  let yi = Math.floor(y + 0.5);
  let zi = Math.floor(z + 0.5);
  xi = xi < 0 ? 0 : xi >= nx ? nx - 1 : xi;
  yi = yi < 0 ? 0 : yi >= ny ? ny - 1 : yi;
  zi = zi < 0 ? 0 : zi >= nz ? nz - 1 : zi;
  return src[xi + yi * nx + zi * nx * ny];
}

/** Scratch space for `labelVoteAt`, allocated once per row loop. */
export interface VoteScratch {
  lab: Float64Array;
  wt: Float64Array;
}

export function voteScratch(): VoteScratch {
  return { lab: new Float64Array(8), wt: new Float64Array(8) };
}

/**
 * One-hot/argmax label interpolation: the label whose indicator has the largest trilinear value
 * among the 8 neighbours (ties → the smaller label). Never returns a value absent from `src`.
 */
export function labelVoteAt(src: VoxelArray, nx: number, ny: number, nz: number, x: number, y: number, z: number, s: VoteScratch): number {
  const xmax = nx - 1;
  const ymax = ny - 1;
  const zmax = nz - 1;
  const nxy = nx * ny;
  const xc = x < 0 ? 0 : x > xmax ? xmax : x;
  const yc = y < 0 ? 0 : y > ymax ? ymax : y;
  const zc = z < 0 ? 0 : z > zmax ? zmax : z;
  const x0 = Math.floor(xc);
  const y0 = Math.floor(yc);
  const z0 = Math.floor(zc);
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
    return l0;
  }
  const { lab, wt } = s;
  const fx = xc - x0;
  const fy = yc - y0;
  const fz = zc - z0;
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
  return voteLabels(lab, wt, 8);
}

/** The label with the largest summed weight among the first `count` entries with positive weight (ties → smaller label). */
export function voteLabels(lab: ArrayLike<number>, wt: ArrayLike<number>, count: number): number {
  let best = lab[0];
  let bestW = -1;
  for (let a = 0; a < count; a++) {
    if (wt[a] <= 0) continue;
    const l = lab[a];
    let seen = false;
    for (let b = 0; b < a; b++) {
      if (lab[b] === l && wt[b] > 0) {
        seen = true;
        break;
      }
    }
    if (seen) continue;
    let s = wt[a];
    for (let b = a + 1; b < count; b++) if (lab[b] === l) s += wt[b];
    if (s > bestW + 1e-9 || (s >= bestW - 1e-9 && l < best)) {
      best = l;
      bestW = s;
    }
  }
  return best;
}
