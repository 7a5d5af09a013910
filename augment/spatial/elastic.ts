/**
 * Elastic deformation (TorchIO's ElasticDeformation): random displacements (mm, world LPS) on a
 * coarse control grid spread evenly over the volume, turned into a smooth dense field by a cubic
 * B-spline (separable, 4 taps per axis); output voxel o samples the input at o + d(o). The same
 * field moves every volume, so labels stay aligned with images. Not invertible.
 */
import { uniform } from '../../volumes/random.ts';
import type { Volume } from '../../volumes/volume.ts';
import { OptionReader } from '../options.ts';
import type { Vec3 } from '../options.ts';
import { subjectGrid } from '../subject.ts';
import { defineRandom, defineTwin } from '../transform.ts';
import type { DeterministicTransform, Transform } from '../transform.ts';
import { INTERPOLATION_KEYS, readInterpolation, warpSubject } from './interpolation.ts';
import type { InterpolationOptions } from './interpolation.ts';
import type { Displacement } from './warp.ts';

export interface ElasticParams extends InterpolationOptions {
  /** Control points along i, j, k (each >= 2). */
  controlPoints: Vec3;
  /** World displacements (mm) at the control points: all x components (i fastest), then all y, then all z. */
  displacementMm: number[];
}

interface Taps {
  idx: Int32Array;
  w: Float32Array;
}

/** Cubic B-spline taps mapping n voxels onto c control points (both ends coincide). */
function bsplineTaps(n: number, c: number): Taps {
  const idx = new Int32Array(n * 4);
  const w = new Float32Array(n * 4);
  for (let t = 0; t < n; t++) {
    const u = n > 1 ? (t * (c - 1)) / (n - 1) : 0;
    const q = Math.min(Math.floor(u), c - 1);
    const f = u - q;
    const ws = [(1 - f) ** 3 / 6, (3 * f ** 3 - 6 * f ** 2 + 4) / 6, (-3 * f ** 3 + 3 * f ** 2 + 3 * f + 1) / 6, f ** 3 / 6];
    for (let a = 0; a < 4; a++) {
      idx[t * 4 + a] = Math.min(c - 1, Math.max(0, q - 1 + a));
      w[t * 4 + a] = ws[a];
    }
  }
  return { idx, w };
}

/** One separable pass along `axis` from shape[axis] samples to taps.length/4 samples. */
function pass(src: Float32Array, shape: number[], axis: number, taps: Taps): Float32Array<ArrayBuffer> {
  const m = taps.idx.length / 4;
  const inner = axis === 0 ? 1 : axis === 1 ? shape[0] : shape[0] * shape[1];
  const outer = axis === 0 ? shape[1] * shape[2] : axis === 1 ? shape[2] : 1;
  const n = shape[axis];
  const out = new Float32Array(inner * m * outer);
  for (let r = 0; r < outer; r++) {
    for (let q = 0; q < m; q++) {
      const o = (r * m + q) * inner;
      for (let a = 0; a < 4; a++) {
        const wa = taps.w[q * 4 + a];
        if (wa === 0) continue;
        const s = (r * n + taps.idx[q * 4 + a]) * inner;
        for (let i = 0; i < inner; i++) out[o + i] += wa * src[s + i];
      }
    }
  }
  shape[axis] = m;
  return out;
}

/** The dense input-index displacement field of the control-point displacements on `grid`. */
export function elasticField(grid: Volume, controlPoints: Vec3, displacementMm: readonly number[]): Displacement {
  const nc = controlPoints[0] * controlPoints[1] * controlPoints[2];
  const taps = [0, 1, 2].map((a) => bsplineTaps(grid.shape[a], controlPoints[a]));
  const d = grid.direction;
  const s = grid.spacing;
  // Control displacements to index units first (linear, so it commutes with the spline): diag(1/s)·Dᵀ·d.
  const comps = [0, 1, 2].map((axis) => {
    const v = new Float32Array(nc);
    for (let p = 0; p < nc; p++) {
      const x = displacementMm[p], y = displacementMm[nc + p], z = displacementMm[2 * nc + p];
      v[p] = (d[axis] * x + d[3 + axis] * y + d[6 + axis] * z) / s[axis];
    }
    const shape = [...controlPoints];
    let f: Float32Array = v;
    for (let a = 0; a < 3; a++) f = pass(f, shape, a, taps[a]);
    return f;
  });
  return { dx: comps[0], dy: comps[1], dz: comps[2] };
}

export function Elastic(params: ElasticParams, where = 'Elastic'): DeterministicTransform {
  const r = new OptionReader(where, params, ['controlPoints', 'displacementMm', ...INTERPOLATION_KEYS]);
  const controlPoints = r.int3('controlPoints', undefined, 2);
  const displacementMm = r.numbers('displacementMm', undefined, controlPoints[0] * controlPoints[1] * controlPoints[2] * 3);
  const interp = readInterpolation(r);
  return defineTwin('Elastic', { controlPoints, displacementMm, ...interp }, (subject) => {
    const grid = subjectGrid(subject);
    return warpSubject(subject, [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0], elasticField(grid, controlPoints, displacementMm), interp);
  });
}

export interface RandomElasticOptions extends InterpolationOptions {
  /** Per axis or one for all (>= 4; the outer layer is held at zero). Default 7. */
  controlPoints?: number | Vec3;
  /** Each control displacement component is uniform in ±this (mm). Default 7.5 (TorchIO). */
  maxDisplacementMm?: number;
  p?: number;
}

export function RandomElastic(options: RandomElasticOptions = {}, where = 'RandomElastic'): Transform {
  const r = new OptionReader(where, options, ['controlPoints', 'maxDisplacementMm', 'p', ...INTERPOLATION_KEYS]);
  const cp = r.perAxis('controlPoints', 7, 4, true);
  const max = r.number('maxDisplacementMm', 7.5, 0);
  const interp = readInterpolation(r);
  return defineRandom('RandomElastic', r.prob('p', 1), (_s, rng) => {
    const nc = cp[0] * cp[1] * cp[2];
    const disp = new Array<number>(nc * 3).fill(0);
    for (let c = 0; c < 3; c++) {
      for (let k = 1; k < cp[2] - 1; k++) {
        for (let j = 1; j < cp[1] - 1; j++) {
          // Rounded to 0.1 µm: keeps the recorded history compact (what is recorded is what is applied).
          for (let i = 1; i < cp[0] - 1; i++) disp[c * nc + i + cp[0] * (j + cp[1] * k)] = Math.round(uniform(rng, -max, max) * 1e4) / 1e4;
        }
      }
    }
    return Elastic({ controlPoints: cp, displacementMm: disp, ...interp });
  });
}
