/**
 * Rician noise, the noise of MR magnitude images: y = √((x + σ·n₁)² + (σ·n₂)²) with n₁, n₂ ~ N(0, 1)
 * and σ = `std` × the image's standard deviation. Seeded like Noise. Label maps are untouched. An
 * image with negative values (CT) is refused: the magnitude would fold them (use `include`).
 */
import { VoxshiftError } from '../../volumes/errors.ts';
import { deriveVolume } from '../../volumes/volume.ts';
import { nextSeed, uniform } from '../../volumes/random.ts';
import { OptionReader } from '../options.ts';
import type { Range } from '../options.ts';
import { defineRandom, defineTwin, includeParam, mapVolumes } from '../transform.ts';
import type { DeterministicTransform, Transform } from '../transform.ts';
import { floatCopy, gaussianFill, meanStd, volumeRng } from './common.ts';

export function RicianNoise(params: { std: number; seed: number; include?: string[] }, where = 'RicianNoise'): DeterministicTransform {
  const r = new OptionReader(where, params, ['std', 'seed', 'include']);
  const inc = includeParam(r.include());
  const std = r.number('std', undefined, 0);
  const seed = r.seed('seed');
  return defineTwin('RicianNoise', { std, seed, ...inc }, (subject) =>
    mapVolumes(subject, 'intensity', (v, key) => {
      const d = floatCopy(v);
      const st = meanStd(d);
      if (st.min < 0) {
        throw new VoxshiftError(
          'INVALID_ARGUMENT',
          `${where}: image "${key}" has negative values (min ${st.min}); Rician noise models magnitude MR and would fold them — restrict it with include`,
          { param: `${where}.include`, details: { key, min: st.min } },
        );
      }
      const sigma = std * st.std;
      const g = new Float32Array(2 * d.length);
      gaussianFill(volumeRng(seed, key), g);
      for (let i = 0; i < d.length; i++) d[i] = Math.hypot(d[i] + sigma * g[2 * i], sigma * g[2 * i + 1]);
      return deriveVolume(v, { data: d });
    }, inc.include),
  );
}

export function RandomRicianNoise(options: { std?: Range; p?: number; include?: string[] } = {}, where = 'RandomRicianNoise'): Transform {
  const r = new OptionReader(where, options, ['std', 'p', 'include']);
  const inc = includeParam(r.include());
  const std = r.range('std', [0, 0.1], 0);
  return defineRandom('RandomRicianNoise', r.prob('p', 1), (_s, rng) => RicianNoise({ std: uniform(rng, ...std), seed: nextSeed(rng), ...inc }));
}
