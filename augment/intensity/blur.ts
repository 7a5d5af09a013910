/**
 * Gaussian blur (TorchIO's RandomBlur), σ in mm per world-aligned voxel axis (σ/spacing voxels),
 * separable, kernel radius ⌈3σ⌉ voxels, borders replicated. σ = 0 leaves an axis alone. Label maps
 * are untouched.
 */
import { deriveVolume, voxelCount } from '../../volumes/volume.ts';
import { uniform } from '../../volumes/random.ts';
import { OptionReader } from '../options.ts';
import type { Range, Vec3 } from '../options.ts';
import { defineRandom, defineTwin, includeParam, mapVolumes } from '../transform.ts';
import type { DeterministicTransform, Transform } from '../transform.ts';
import { floatCopy } from './common.ts';

function kernel(sigmaVox: number): Float64Array {
  const radius = Math.max(1, Math.ceil(3 * sigmaVox));
  const k = new Float64Array(2 * radius + 1);
  let s = 0;
  for (let t = -radius; t <= radius; t++) s += k[t + radius] = Math.exp(-(t * t) / (2 * sigmaVox * sigmaVox));
  for (let t = 0; t < k.length; t++) k[t] /= s;
  return k;
}

/** Blurs `data` (one channel, x fastest) in place along `axis`. */
export function blurAxis(data: Float32Array, shape: readonly number[], axis: number, sigmaVox: number): void {
  if (!(sigmaVox > 0)) return;
  const k = kernel(sigmaVox);
  const radius = (k.length - 1) / 2;
  const n = shape[axis];
  const stride = axis === 0 ? 1 : axis === 1 ? shape[0] : shape[0] * shape[1];
  const line = new Float64Array(n);
  const total = shape[0] * shape[1] * shape[2];
  for (let base = 0; base < total; base++) {
    if (Math.floor(base / stride) % n !== 0) continue;
    for (let t = 0; t < n; t++) line[t] = data[base + t * stride];
    for (let t = 0; t < n; t++) {
      let s = 0;
      for (let q = -radius; q <= radius; q++) {
        const u = t + q;
        s += k[q + radius] * line[u < 0 ? 0 : u >= n ? n - 1 : u];
      }
      data[base + t * stride] = s;
    }
  }
}

export function Blur(params: { sigmaMm: Vec3; include?: string[] }, where = 'Blur'): DeterministicTransform {
  const r = new OptionReader(where, params, ['sigmaMm', 'include']);
  const inc = includeParam(r.include());
  const sigmaMm = r.vec3('sigmaMm', undefined, 0, 1000);
  return defineTwin('Blur', { sigmaMm, ...inc }, (subject) =>
    mapVolumes(subject, 'intensity', (v) => {
      const d = floatCopy(v);
      const n = voxelCount(v.shape);
      for (let ch = 0; ch < v.channels; ch++) {
        const c = d.subarray(ch * n, (ch + 1) * n);
        for (let a = 0; a < 3; a++) blurAxis(c, v.shape, a, sigmaMm[a] / v.spacing[a]);
      }
      return deriveVolume(v, { data: d });
    }, inc.include),
  );
}

export function RandomBlur(options: { sigmaMm?: Range; p?: number; include?: string[] } = {}, where = 'RandomBlur'): Transform {
  const r = new OptionReader(where, options, ['sigmaMm', 'p', 'include']);
  const inc = includeParam(r.include());
  const s = r.range('sigmaMm', [0, 2], 0, 1000);
  return defineRandom('RandomBlur', r.prob('p', 1), (_s, rng) => Blur({ sigmaMm: [uniform(rng, ...s), uniform(rng, ...s), uniform(rng, ...s)], ...inc }));
}
