/**
 * The 4×4 voxel→world (LPS mm) affine of a volume and its inverse, as pure functions of the fields.
 * Matrices are row-major `number[16]`.
 */
import { VoxshiftError } from './errors.ts';
import type { Mat3, Vec3, Volume } from './volume.ts';

export type Mat4 = number[];

export interface Geometry {
  spacing: Vec3;
  origin: Vec3;
  direction: Mat3;
}

/** world = A · [i, j, k, 1]ᵀ with A = [D·diag(s) | o]. */
export function affineOf(g: Geometry): Mat4 {
  const { spacing: s, origin: o, direction: d } = g;
  return [
    d[0] * s[0], d[1] * s[1], d[2] * s[2], o[0],
    d[3] * s[0], d[4] * s[1], d[5] * s[2], o[1],
    d[6] * s[0], d[7] * s[1], d[8] * s[2], o[2],
    0, 0, 0, 1,
  ];
}

/** Splits an affine into spacing (column norms), origin and direction (normalised columns). */
export function geometryFromAffine(a: readonly number[]): Geometry & { orthonormal: boolean } {
  const spacing: number[] = [];
  const dir = new Array<number>(9);
  for (let c = 0; c < 3; c++) {
    const n = Math.hypot(a[c], a[4 + c], a[8 + c]);
    if (!(n > 0) || !Number.isFinite(n)) {
      throw new VoxshiftError('MALFORMED_HEADER', `affine column ${c} has zero or non-finite length`, { param: 'affine' });
    }
    spacing.push(n);
    for (let r = 0; r < 3; r++) dir[r * 3 + c] = a[r * 4 + c] / n;
  }
  let orthonormal = true;
  for (let x = 0; x < 3; x++) {
    for (let y = x + 1; y < 3; y++) {
      let dot = 0;
      for (let r = 0; r < 3; r++) dot += dir[r * 3 + x] * dir[r * 3 + y];
      if (Math.abs(dot) > 1e-4) orthonormal = false;
    }
  }
  return {
    spacing: [spacing[0], spacing[1], spacing[2]],
    origin: [a[3], a[7], a[11]],
    direction: dir as unknown as Mat3,
    orthonormal,
  };
}

export function invertAffine(a: readonly number[]): Mat4 {
  // Inverse of [M | t] is [M⁻¹ | -M⁻¹ t].
  const m = [a[0], a[1], a[2], a[4], a[5], a[6], a[8], a[9], a[10]];
  const det =
    m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) + m[2] * (m[3] * m[7] - m[4] * m[6]);
  if (Math.abs(det) < 1e-12) {
    throw new VoxshiftError('INVALID_VOLUME', 'affine is singular and cannot be inverted', { param: 'affine' });
  }
  const inv = [
    (m[4] * m[8] - m[5] * m[7]) / det,
    (m[2] * m[7] - m[1] * m[8]) / det,
    (m[1] * m[5] - m[2] * m[4]) / det,
    (m[5] * m[6] - m[3] * m[8]) / det,
    (m[0] * m[8] - m[2] * m[6]) / det,
    (m[2] * m[3] - m[0] * m[5]) / det,
    (m[3] * m[7] - m[4] * m[6]) / det,
    (m[1] * m[6] - m[0] * m[7]) / det,
    (m[0] * m[4] - m[1] * m[3]) / det,
  ];
  const t = [a[3], a[7], a[11]];
  return [
    inv[0], inv[1], inv[2], -(inv[0] * t[0] + inv[1] * t[1] + inv[2] * t[2]),
    inv[3], inv[4], inv[5], -(inv[3] * t[0] + inv[4] * t[1] + inv[5] * t[2]),
    inv[6], inv[7], inv[8], -(inv[6] * t[0] + inv[7] * t[1] + inv[8] * t[2]),
    0, 0, 0, 1,
  ];
}

export function multiplyAffine(a: readonly number[], b: readonly number[]): Mat4 {
  const out = new Array<number>(16).fill(0);
  for (let r = 0; r < 4; r++) for (let c = 0; c < 4; c++) for (let k = 0; k < 4; k++) out[r * 4 + c] += a[r * 4 + k] * b[k * 4 + c];
  return out;
}

export function applyAffine(a: readonly number[], p: readonly number[]): Vec3 {
  return [
    a[0] * p[0] + a[1] * p[1] + a[2] * p[2] + a[3],
    a[4] * p[0] + a[5] * p[1] + a[6] * p[2] + a[7],
    a[8] * p[0] + a[9] * p[1] + a[10] * p[2] + a[11],
  ];
}

export function voxelToWorld(vol: Geometry, ijk: readonly number[]): Vec3 {
  return applyAffine(affineOf(vol), ijk);
}

export function worldToVoxel(vol: Geometry, xyz: readonly number[]): Vec3 {
  return applyAffine(invertAffine(affineOf(vol)), xyz);
}

/** LPS → RAS flips the sign of the first two world axes (and back: the map is its own inverse). */
export function lpsToRasAffine(a: readonly number[]): Mat4 {
  const out = [...a];
  for (let c = 0; c < 4; c++) {
    out[c] = -a[c];
    out[4 + c] = -a[4 + c];
  }
  return out;
}

export const rasToLpsAffine = lpsToRasAffine;

export function sameGeometry(a: Volume, b: Volume, tolMm = 1e-3): boolean {
  if (a.shape.some((n, i) => n !== b.shape[i])) return false;
  const fa = affineOf(a);
  const fb = affineOf(b);
  return fa.every((v, i) => Math.abs(v - fb[i]) <= tolMm);
}
