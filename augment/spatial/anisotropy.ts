/**
 * Simulated anisotropy / low resolution (TorchIO's RandomAnisotropy): each image is resampled with
 * nearest neighbour to `factor` × its spacing along `axis` (thick slices) and back onto its own grid
 * with linear interpolation. It degrades images only: label maps stay the full-resolution target
 * (bit-identical), and the grid does not change, so alignment is kept. Not invertible.
 */
import { resample, resampleToGrid } from '../../volumes/resample.ts';
import { uniform, randomInt } from '../../volumes/random.ts';
import { OptionReader } from '../options.ts';
import { defineRandom, defineTwin, includeParam, mapVolumes } from '../transform.ts';
import type { DeterministicTransform, Transform } from '../transform.ts';
import type { Range } from '../options.ts';

export interface AnisotropyParams {
  axis: number;
  /** Spacing multiplier along `axis` (>= 1). */
  factor: number;
  include?: string[];
}

export function Anisotropy(params: AnisotropyParams, where = 'Anisotropy'): DeterministicTransform {
  const r = new OptionReader(where, params, ['axis', 'factor', 'include']);
  const inc = includeParam(r.include());
  const axis = r.axis('axis', undefined);
  const factor = r.number('factor', undefined, 1, 64);
  return defineTwin('Anisotropy', { axis, factor, ...inc }, (subject) =>
    mapVolumes(subject, 'intensity', (v) => {
      const sp = [...v.spacing];
      sp[axis] *= factor;
      const low = resample(v, sp, { interpolation: 'nearest' });
      return resampleToGrid(low, v, { interpolation: 'linear' });
    }, inc.include),
  );
}

export interface RandomAnisotropyOptions {
  /** Candidate axes, one drawn uniformly. Default [0, 1, 2]. */
  axes?: number[];
  /** Default [1.5, 5] (TorchIO). */
  factor?: Range;
  /** Only these images (default: every image of the subject). */
  include?: string[];
  p?: number;
}

export function RandomAnisotropy(options: RandomAnisotropyOptions = {}, where = 'RandomAnisotropy'): Transform {
  const r = new OptionReader(where, options, ['axes', 'factor', 'p', 'include']);
  const inc = includeParam(r.include());
  const axes = r.axes('axes', [0, 1, 2]);
  if (axes.length === 0) r.fail('axes', 'expected at least one axis', axes);
  const factor = r.range('factor', [1.5, 5], 1, 64);
  return defineRandom('RandomAnisotropy', r.prob('p', 1), (_s, rng) =>
    Anisotropy({ axis: axes[randomInt(rng, 0, axes.length - 1)], factor: uniform(rng, ...factor), ...inc }),
  );
}
