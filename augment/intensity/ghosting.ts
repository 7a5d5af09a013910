/**
 * MR ghosting (TorchIO's Ghosting): along `axis`, every `numGhosts`-th k-space plane (counted from
 * the lowest frequency, as in the centred spectrum) is scaled by 1 − `intensity`, which replicates
 * faint copies of the image along that axis; planes within `restore` × n/2 of the centre are kept so
 * the contrast survives. Label maps are untouched. Not invertible. Only the 1-D transforms along
 * `axis` are computed: the other axes' transforms commute with a per-plane scaling and cancel.
 */
import { randomInt, uniform } from '../../volumes/random.ts';
import { OptionReader } from '../options.ts';
import type { Range } from '../options.ts';
import { defineRandom, defineTwin, includeParam, mapVolumes } from '../transform.ts';
import type { DeterministicTransform, Transform } from '../transform.ts';
import { editSpectrum, freqIndex } from './kspace.ts';

export interface GhostingParams {
  numGhosts: number;
  axis: number;
  intensity: number;
  restore?: number;
  include?: string[];
}

export function Ghosting(params: GhostingParams, where = 'Ghosting'): DeterministicTransform {
  const r = new OptionReader(where, params, ['numGhosts', 'axis', 'intensity', 'restore', 'include']);
  const inc = includeParam(r.include());
  const numGhosts = r.number('numGhosts', undefined, 1, 1e6, true);
  const axis = r.axis('axis', undefined);
  const intensity = r.number('intensity', undefined, 0, 1);
  const restore = r.number('restore', 0.02, 0, 1);
  return defineTwin('Ghosting', { numGhosts, axis, intensity, restore, ...inc }, (subject) =>
    mapVolumes(subject, 'intensity', (v) =>
      editSpectrum(v, (s) => {
        const shape = v.shape;
        const n = shape[axis];
        const scaled = new Uint8Array(n);
        for (let p = 0; p < n; p += numGhosts) {
          const f = p - Math.floor(n / 2);
          if (Math.abs(f) > (restore * n) / 2) scaled[freqIndex(f, n)] = 1;
        }
        const stride = axis === 0 ? 1 : axis === 1 ? shape[0] : shape[0] * shape[1];
        const g = 1 - intensity;
        for (let i = 0; i < s.re.length; i++) {
          if (scaled[Math.floor(i / stride) % n]) {
            s.re[i] *= g;
            s.im[i] *= g;
          }
        }
      }, axis),
    inc.include),
  );
}

export interface RandomGhostingOptions {
  /** Default [4, 10] (TorchIO). */
  numGhosts?: Range;
  /** Candidate axes. Default [0, 1, 2]. */
  axes?: number[];
  /** Default [0.5, 1] (TorchIO). */
  intensity?: Range;
  restore?: number;
  /** Only these images (default: every image of the subject). */
  include?: string[];
  p?: number;
}

export function RandomGhosting(options: RandomGhostingOptions = {}, where = 'RandomGhosting'): Transform {
  const r = new OptionReader(where, options, ['numGhosts', 'axes', 'intensity', 'restore', 'p', 'include']);
  const inc = includeParam(r.include());
  const ng = r.range('numGhosts', [4, 10], 1);
  if (!Number.isInteger(ng[0]) || !Number.isInteger(ng[1])) r.fail('numGhosts', 'expected [min, max] integers', ng);
  const axes = r.axes('axes', [0, 1, 2]);
  if (axes.length === 0) r.fail('axes', 'expected at least one axis', axes);
  const intensity = r.range('intensity', [0.5, 1], 0, 1);
  const restore = r.number('restore', 0.02, 0, 1);
  return defineRandom('RandomGhosting', r.prob('p', 1), (_s, rng) =>
    Ghosting({
      numGhosts: randomInt(rng, ng[0], ng[1]),
      axis: axes[randomInt(rng, 0, axes.length - 1)],
      intensity: uniform(rng, ...intensity),
      restore,
      ...inc,
    }),
  );
}
