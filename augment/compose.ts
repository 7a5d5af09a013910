/**
 * compose (TorchIO's Compose): transforms in order. Sampling a composition samples each member in
 * turn against the subject as the previous ones left it, giving a composition of twins that is
 * deterministic, and invertible (members inverted in reverse order) when every member is.
 */
import { VoxshiftError } from '../volumes/errors.ts';
import type { Rng } from '../volumes/random.ts';
import type { Subject } from './subject.ts';
import { checkRng } from './transform.ts';
import type { DeterministicTransform, Transform } from './transform.ts';

function composeTwins(twins: DeterministicTransform[]): DeterministicTransform {
  const self: DeterministicTransform = Object.freeze({
    name: 'Compose',
    params: Object.freeze({ transforms: twins.map((t) => ({ op: t.name, params: t.params })) }),
    invertible: twins.every((t) => t.invertible),
    inverse: () => composeTwins([...twins].reverse().map((t) => t.inverse())),
    sample: () => self,
    apply: (subject: Subject) => twins.reduce((s, t) => t.apply(s), subject),
  });
  return self;
}

export function compose(transforms: readonly Transform[]): Transform {
  if (!Array.isArray(transforms) || !transforms.every((t) => t && typeof t.sample === 'function')) {
    throw new VoxshiftError('INVALID_ARGUMENT', 'compose needs an array of transforms', { param: 'transforms' });
  }
  const list = [...transforms];
  const isTwin = (t: Transform): t is DeterministicTransform => 'params' in t && 'invertible' in t;
  if (list.every(isTwin)) return composeTwins(list);
  const self: Transform = Object.freeze({
    name: 'Compose',
    sample(subject: Subject, rng: Rng): DeterministicTransform {
      checkRng(rng, 'Compose');
      const twins: DeterministicTransform[] = [];
      let s = subject;
      for (const t of list) {
        const twin = t.sample(s, rng);
        twins.push(twin);
        s = twin.apply(s);
      }
      return composeTwins(twins);
    },
    apply(subject: Subject, rng?: Rng): Subject {
      checkRng(rng, 'Compose');
      let s = subject;
      for (const t of list) s = t.sample(s, rng).apply(s);
      return s;
    },
  });
  return self;
}
