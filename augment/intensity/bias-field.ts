/**
 * MR bias field (TorchIO's BiasField): images are multiplied by exp(Σ c·x^a·y^b·z^c), a smooth
 * polynomial of degree ≤ `order` in voxel coordinates normalised to [−1, 1] per axis. Terms are
 * ordered a = 0..order, b = 0..order−a, c = 0..order−a−b (TorchIO's order), (order+1)(order+2)(order+3)/6
 * coefficients. Inverse: the negated coefficients. Label maps are untouched.
 */
import { deriveVolume, voxelCount } from '../../volumes/volume.ts';
import { uniform } from '../../volumes/random.ts';
import { OptionReader } from '../options.ts';
import { defineRandom, defineTwin, includeParam, mapVolumes } from '../transform.ts';
import type { DeterministicTransform, Transform } from '../transform.ts';
import { floatCopy } from './common.ts';

export function biasTermCount(order: number): number {
  return ((order + 1) * (order + 2) * (order + 3)) / 6;
}

export function biasField(shape: readonly number[], order: number, coefficients: readonly number[]): Float32Array {
  const pw = [0, 1, 2].map((a) => {
    const n = shape[a];
    const t = new Float64Array(n * (order + 1));
    for (let i = 0; i < n; i++) {
      const x = n > 1 ? (2 * i) / (n - 1) - 1 : 0;
      let p = 1;
      for (let e = 0; e <= order; e++, p *= x) t[i * (order + 1) + e] = p;
    }
    return t;
  });
  const terms: number[][] = [];
  for (let a = 0; a <= order; a++) for (let b = 0; b <= order - a; b++) for (let c = 0; c <= order - a - b; c++) terms.push([a, b, c]);
  const [nx, ny, nz] = shape;
  const out = new Float32Array(nx * ny * nz);
  const o1 = order + 1;
  // Per row (j, k), the polynomial in x has coefficients q[a] = Σ_{b,c} coef·y^b·z^c.
  const q = new Float64Array(o1);
  let o = 0;
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      q.fill(0);
      terms.forEach(([a, b, c], t) => {
        q[a] += coefficients[t] * pw[1][j * o1 + b] * pw[2][k * o1 + c];
      });
      for (let i = 0; i < nx; i++) {
        let s = 0;
        for (let a = 0; a <= order; a++) s += q[a] * pw[0][i * o1 + a];
        out[o++] = Math.exp(s);
      }
    }
  }
  return out;
}

export function BiasField(params: { order: number; coefficients: number[]; include?: string[] }, where = 'BiasField'): DeterministicTransform {
  const r = new OptionReader(where, params, ['order', 'coefficients', 'include']);
  const inc = includeParam(r.include());
  const order = r.number('order', undefined, 0, 6, true);
  const coefficients = r.numbers('coefficients', undefined, biasTermCount(order));
  return defineTwin(
    'BiasField',
    { order, coefficients, ...inc },
    (subject) => {
      let field: Float32Array | null = null;
      return mapVolumes(subject, 'intensity', (v) => {
        field ??= biasField(v.shape, order, coefficients);
        const d = floatCopy(v);
        const n = voxelCount(v.shape);
        for (let i = 0; i < d.length; i++) d[i] *= field[i % n];
        return deriveVolume(v, { data: d });
      }, inc.include);
    },
    () => BiasField({ order, coefficients: coefficients.map((c) => -c), ...inc }),
  );
}

export interface RandomBiasFieldOptions {
  /** Each coefficient uniform in ±this. Default 0.5 (TorchIO). */
  coefficients?: number;
  /** Default 3. */
  order?: number;
  /** Only these images (default: every image of the subject). */
  include?: string[];
  p?: number;
}

export function RandomBiasField(options: RandomBiasFieldOptions = {}, where = 'RandomBiasField'): Transform {
  const r = new OptionReader(where, options, ['coefficients', 'order', 'p', 'include']);
  const inc = includeParam(r.include());
  const c = r.number('coefficients', 0.5, 0, 5);
  const order = r.number('order', 3, 0, 6, true);
  return defineRandom('RandomBiasField', r.prob('p', 1), (_s, rng) =>
    BiasField({ order, coefficients: Array.from({ length: biasTermCount(order) }, () => uniform(rng, -c, c)), ...inc }),
  );
}
