/**
 * Exact Euclidean distance transform with anisotropic spacing (Felzenszwalb & Huttenlocher 2012):
 * one 1-D lower-envelope-of-parabolas pass per axis on squared distances, positions in mm.
 * Returns, for every voxel, the distance in mm to the nearest feature (non-zero) voxel — scipy's
 * distance_transform_edt(features == 0, sampling=spacing) — or Infinity when there is no feature.
 */
import type { Shape3, Vec3, VoxelArray } from '../../volumes/volume.ts';

function pass1d(f: Float64Array, n: number, h: number, d: Float64Array, v: Int32Array, z: Float64Array): void {
  let k = -1;
  for (let q = 0; q < n; q++) {
    const fq = f[q];
    if (fq === Infinity) continue;
    if (k < 0) {
      k = 0;
      v[0] = q;
      z[0] = -Infinity;
      z[1] = Infinity;
      continue;
    }
    const pq = q * h;
    let s: number;
    // z[0] = -Infinity, so this stops at k = 0 at the latest
    for (;;) {
      const pv = v[k] * h;
      s = (fq + pq * pq - (f[v[k]] + pv * pv)) / (2 * (pq - pv));
      if (s > z[k]) break;
      k--;
    }
    k++;
    v[k] = q;
    z[k] = s;
    z[k + 1] = Infinity;
  }
  if (k < 0) {
    d.fill(Infinity, 0, n);
    return;
  }
  k = 0;
  for (let q = 0; q < n; q++) {
    const pq = q * h;
    while (z[k + 1] < pq) k++;
    const dv = pq - v[k] * h;
    d[q] = dv * dv + f[v[k]];
  }
}

/** Squared distances (mm²) to the nearest feature voxel. */
export function squaredDistanceTransform(features: VoxelArray, shape: Shape3, spacing: Vec3): Float64Array {
  const [nx, ny, nz] = shape;
  const out = new Float64Array(nx * ny * nz);
  for (let p = 0; p < out.length; p++) out[p] = features[p] !== 0 ? 0 : Infinity;
  const maxN = Math.max(nx, ny, nz);
  const f = new Float64Array(maxN);
  const d = new Float64Array(maxN);
  const v = new Int32Array(maxN);
  const z = new Float64Array(maxN + 1);
  const strides = [1, nx, nx * ny];
  for (let axis = 0; axis < 3; axis++) {
    const n = shape[axis];
    if (n === 1) continue;
    const stride = strides[axis];
    const others = shape.map((s, a) => (a === axis ? 1 : s));
    for (let c = 0; c < others[2]; c++) {
      for (let b = 0; b < others[1]; b++) {
        for (let a = 0; a < others[0]; a++) {
          const base = a + nx * (b + ny * c);
          for (let q = 0; q < n; q++) f[q] = out[base + q * stride];
          pass1d(f, n, spacing[axis], d, v, z);
          for (let q = 0; q < n; q++) out[base + q * stride] = d[q];
        }
      }
    }
  }
  return out;
}

export function euclideanDistanceTransform(features: VoxelArray, shape: Shape3, spacing: Vec3): Float64Array {
  const sq = squaredDistanceTransform(features, shape, spacing);
  for (let p = 0; p < sq.length; p++) sq[p] = Math.sqrt(sq[p]);
  return sq;
}
