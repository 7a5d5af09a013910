/**
 * Additive Gaussian noise (TorchIO's RandomNoise, nnU-Net's GaussianNoise). `mean` and `std` are
 * fractions of each image's own standard deviation (over all voxels), so one pipeline suits HU and
 * arbitrary MR units. The noise comes from `seed` (recorded; each volume of the subject gets its own
 * stream derived from seed and key), so the twin replays exactly. Label maps are untouched.
 */
import { deriveVolume } from '../../volumes/volume.ts';
import { nextSeed, uniform } from '../../volumes/random.ts';
import { OptionReader } from '../options.ts';
import type { Range } from '../options.ts';
import { defineRandom, defineTwin, includeParam, mapVolumes } from '../transform.ts';
import type { DeterministicTransform, Transform } from '../transform.ts';
import { floatCopy, gaussianFill, meanStd, volumeRng } from './common.ts';

export interface NoiseParams {
  std: number;
  mean?: number;
  seed: number;
  include?: string[];
}

export function Noise(params: NoiseParams, where = 'Noise'): DeterministicTransform {
  const r = new OptionReader(where, params, ['std', 'mean', 'seed', 'include']);
  const inc = includeParam(r.include());
  const std = r.number('std', undefined, 0);
  const mean = r.number('mean', 0);
  const seed = r.seed('seed');
  return defineTwin('Noise', { std, mean, seed, ...inc }, (subject) =>
    mapVolumes(subject, 'intensity', (v, key) => {
      const d = floatCopy(v);
      const scale = meanStd(d).std;
      const g = new Float32Array(d.length);
      gaussianFill(volumeRng(seed, key), g);
      for (let i = 0; i < d.length; i++) d[i] += scale * (mean + std * g[i]);
      return deriveVolume(v, { data: d });
    }, inc.include),
  );
}

export interface RandomNoiseOptions {
  /** Relative standard deviation range. Default [0, 0.1]. */
  std?: Range;
  /** Relative mean range. Default [0, 0]. */
  mean?: Range;
  /** Only these images (default: every image of the subject). */
  include?: string[];
  p?: number;
}

export function RandomNoise(options: RandomNoiseOptions = {}, where = 'RandomNoise'): Transform {
  const r = new OptionReader(where, options, ['std', 'mean', 'p', 'include']);
  const inc = includeParam(r.include());
  const std = r.range('std', [0, 0.1], 0);
  const mean = r.range('mean', [0, 0]);
  return defineRandom('RandomNoise', r.prob('p', 1), (_s, rng) =>
    Noise({ std: uniform(rng, ...std), mean: uniform(rng, ...mean), seed: nextSeed(rng), ...inc }),
  );
}
