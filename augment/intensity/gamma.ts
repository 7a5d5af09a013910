/**
 * Gamma (nnU-Net's gamma transform, TorchIO's RandomGamma with log-gamma draws): each image is
 * rescaled to [0, 1] by its minimum and maximum, raised to `gamma` and scaled back, so the range is
 * kept and Gamma(1/γ) is the inverse. Label maps are untouched.
 */
import { deriveVolume } from '../../volumes/volume.ts';
import { uniform } from '../../volumes/random.ts';
import { OptionReader } from '../options.ts';
import type { Range } from '../options.ts';
import { defineRandom, defineTwin, includeParam, mapVolumes } from '../transform.ts';
import type { DeterministicTransform, Transform } from '../transform.ts';
import { floatCopy, meanStd } from './common.ts';

export function Gamma(params: { gamma: number; include?: string[] }, where = 'Gamma'): DeterministicTransform {
  const r = new OptionReader(where, params, ['gamma', 'include']);
  const gamma = r.number('gamma', undefined, 1e-3, 1e3);
  const inc = includeParam(r.include());
  return defineTwin(
    'Gamma',
    { gamma, ...inc },
    (subject) =>
      mapVolumes(subject, 'intensity', (v) => {
        const d = floatCopy(v);
        const { min, max } = meanStd(d);
        const span = max - min;
        if (span > 0) for (let i = 0; i < d.length; i++) d[i] = min + span * ((d[i] - min) / span) ** gamma;
        return deriveVolume(v, { data: d });
      }, inc.include),
    () => Gamma({ gamma: 1 / gamma, ...inc }),
  );
}

export interface RandomGammaOptions {
  /** log(γ) is uniform in this range. Default [-0.3, 0.3] (TorchIO). */
  logGamma?: Range;
  /** Only these images (default: every image of the subject). */
  include?: string[];
  p?: number;
}

export function RandomGamma(options: RandomGammaOptions = {}, where = 'RandomGamma'): Transform {
  const r = new OptionReader(where, options, ['logGamma', 'p', 'include']);
  const inc = includeParam(r.include());
  const lg = r.range('logGamma', [-0.3, 0.3], -5, 5);
  return defineRandom('RandomGamma', r.prob('p', 1), (_s, rng) => Gamma({ gamma: Math.exp(uniform(rng, ...lg)), ...inc }));
}
