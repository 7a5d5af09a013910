/**
 * MR spike / herringbone artefact (TorchIO's Spike): at each spike's k-space position (relative
 * frequencies in [−0.5, 0.5] per axis) `intensity` × the largest spectrum magnitude is added, which
 * overlays stripes on the image. Label maps are untouched. Not invertible.
 */
import { randomInt, uniform } from '../../volumes/random.ts';
import { OptionReader } from '../options.ts';
import type { Range } from '../options.ts';
import { defineRandom, defineTwin, includeParam, mapVolumes } from '../transform.ts';
import type { DeterministicTransform, Transform } from '../transform.ts';
import { editSpectrum, freqIndex } from './kspace.ts';

export interface SpikeParams {
  /** 3 relative frequencies per spike, each in [−0.5, 0.5]. */
  positions: number[];
  intensity: number;
  include?: string[];
}

export function Spike(params: SpikeParams, where = 'Spike'): DeterministicTransform {
  const r = new OptionReader(where, params, ['positions', 'intensity', 'include']);
  const inc = includeParam(r.include());
  const positions = r.numbers('positions', undefined);
  if (positions.length % 3 !== 0 || positions.some((x) => x < -0.5 || x > 0.5)) {
    r.fail('positions', 'expected 3 relative frequencies in [-0.5, 0.5] per spike', positions);
  }
  const intensity = r.number('intensity', undefined, -100, 100);
  return defineTwin('Spike', { positions, intensity, ...inc }, (subject) =>
    mapVolumes(subject, 'intensity', (v) =>
      editSpectrum(v, (s) => {
        let max = 0;
        for (let i = 0; i < s.re.length; i++) max = Math.max(max, Math.hypot(s.re[i], s.im[i]));
        const [nx, ny, nz] = v.shape;
        for (let q = 0; q < positions.length; q += 3) {
          const i = freqIndex(Math.round(positions[q] * nx), nx);
          const j = freqIndex(Math.round(positions[q + 1] * ny), ny);
          const k = freqIndex(Math.round(positions[q + 2] * nz), nz);
          s.re[i + nx * (j + ny * k)] += intensity * max;
        }
      }),
    inc.include),
  );
}

export interface RandomSpikeOptions {
  /** Default [1, 1]. */
  numSpikes?: Range;
  /** Default [1, 3] (TorchIO), sign drawn at random. */
  intensity?: Range;
  /** Only these images (default: every image of the subject). */
  include?: string[];
  p?: number;
}

export function RandomSpike(options: RandomSpikeOptions = {}, where = 'RandomSpike'): Transform {
  const r = new OptionReader(where, options, ['numSpikes', 'intensity', 'p', 'include']);
  const inc = includeParam(r.include());
  const ns = r.range('numSpikes', [1, 1], 1, 100);
  if (!Number.isInteger(ns[0]) || !Number.isInteger(ns[1])) r.fail('numSpikes', 'expected [min, max] integers', ns);
  const intensity = r.range('intensity', [1, 3], 0, 100);
  return defineRandom('RandomSpike', r.prob('p', 1), (_s, rng) => {
    const count = randomInt(rng, ns[0], ns[1]);
    const positions = Array.from({ length: 3 * count }, () => uniform(rng, -0.5, 0.5));
    const sign = rng() < 0.5 ? -1 : 1;
    return Spike({ positions, intensity: sign * uniform(rng, ...intensity), ...inc });
  });
}
