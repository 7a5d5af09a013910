/**
 * oneOf (TorchIO's OneOf): with probability `p`, one transform drawn with the given weights (default
 * equal) is applied; otherwise Identity.
 */
import { VoxshiftError } from '../volumes/errors.ts';
import type { Rng } from '../volumes/random.ts';
import type { Subject } from './subject.ts';
import { checkRng, Identity } from './transform.ts';
import type { DeterministicTransform, Transform } from './transform.ts';

export function oneOf(transforms: readonly Transform[], weights?: readonly number[], p = 1): Transform {
  if (!Array.isArray(transforms) || transforms.length === 0 || !transforms.every((t) => t && typeof t.sample === 'function')) {
    throw new VoxshiftError('INVALID_ARGUMENT', 'oneOf needs a non-empty array of transforms', { param: 'transforms' });
  }
  const w = weights ?? transforms.map(() => 1);
  if (w.length !== transforms.length || !w.every((x) => Number.isFinite(x) && x >= 0) || !(w.reduce((a, b) => a + b, 0) > 0)) {
    throw new VoxshiftError('INVALID_ARGUMENT', `oneOf weights must be ${transforms.length} non-negative numbers with a positive sum, got ${JSON.stringify(weights)}`, {
      param: 'weights',
    });
  }
  if (!(p >= 0 && p <= 1)) throw new VoxshiftError('INVALID_ARGUMENT', `oneOf p must be in [0, 1], got ${p}`, { param: 'p' });
  const total = w.reduce((a, b) => a + b, 0);
  const list = [...transforms];
  const self: Transform = Object.freeze({
    name: 'OneOf',
    sample(subject: Subject, rng: Rng): DeterministicTransform {
      checkRng(rng, 'OneOf');
      if (p < 1 && !(rng() < p)) return Identity;
      let u = rng() * total;
      let pick = list.length - 1;
      for (let i = 0; i < list.length; i++) {
        if (w[i] > 0 && u < w[i]) {
          pick = i;
          break;
        }
        u -= w[i];
      }
      return list[pick].sample(subject, rng);
    },
    apply(subject: Subject, rng?: Rng): Subject {
      checkRng(rng, 'OneOf');
      return self.sample(subject, rng).apply(subject);
    },
  });
  return self;
}
