/**
 * The transform contract (MONAI's Randomizable, TorchIO's history):
 * - A deterministic transform ("twin", e.g. `Affine`) has fixed `params`; applying it appends
 *   `{ op: name, params }` to the history of every volume it changes, exactly once.
 * - A random transform (e.g. `RandomAffine`) draws its parameters from an injected `Rng` in
 *   `sample()` and returns the twin; `apply(subject, rng)` is `sample(subject, rng).apply(subject)`.
 *   With probability 1 − p it returns `Identity` (one uniform draw decides, when p < 1).
 * - Invertible twins have `inverse()`; others throw INVALID_ARGUMENT from it.
 */
import { VoxshiftError } from '../volumes/errors.ts';
import { assertFinite } from '../volumes/stats.ts';
import type { Rng } from '../volumes/random.ts';
import { deriveVolume } from '../volumes/volume.ts';
import type { HistoryEntry, Volume } from '../volumes/volume.ts';
import type { Subject } from './subject.ts';

export interface Transform {
  readonly name: string;
  /** Draws this application's parameters; a deterministic transform returns itself. */
  sample(subject: Subject, rng: Rng): DeterministicTransform;
  apply(subject: Subject, rng?: Rng): Subject;
}

export interface DeterministicTransform extends Transform {
  /** JSON-serialisable; `twinFromHistory` rebuilds the transform from `{ op: name, params }`. */
  readonly params: Readonly<Record<string, unknown>>;
  readonly invertible: boolean;
  inverse(): DeterministicTransform;
  apply(subject: Subject): Subject;
}

/**
 * Builds a twin from a function that maps a subject to a subject. Every output volume that is a
 * new object gets the input's history plus this twin's single entry (the helpers' own entries,
 * e.g. `resampleToGrid`, are dropped so the history reads as the augmentation did it).
 */
export function defineTwin(
  name: string,
  params: Record<string, unknown>,
  run: (subject: Subject) => Record<string, Volume>,
  inverse?: () => DeterministicTransform,
): DeterministicTransform {
  const frozen = Object.freeze({ ...params });
  const step: HistoryEntry = { op: name, params: frozen };
  const self: DeterministicTransform = {
    name,
    params: frozen,
    invertible: inverse !== undefined,
    inverse() {
      if (!inverse) throw new VoxshiftError('INVALID_ARGUMENT', `${name} is not invertible`, { param: 'transform' });
      return inverse();
    },
    sample: () => self,
    apply(subject: Subject): Subject {
      const out = run(subject);
      const result: Record<string, Volume> = {};
      for (const key of Object.keys(subject)) {
        const before = subject[key];
        const after = out[key];
        result[key] = after === before ? before : deriveVolume(after, { data: after.data, history: before.history }, step);
      }
      return Object.freeze(result);
    },
  };
  return Object.freeze(self);
}

/** The do-nothing twin (what a random transform returns when its probability says "skip"). */
export const Identity: DeterministicTransform = Object.freeze({
  name: 'Identity',
  params: Object.freeze({}),
  invertible: true,
  inverse: () => Identity,
  sample: () => Identity,
  apply: (subject: Subject) => subject,
});

export function checkRng(rng: unknown, name: string): asserts rng is Rng {
  if (typeof rng !== 'function') {
    throw new VoxshiftError('INVALID_ARGUMENT', `${name} is random: pass an rng (createRng(seed)) to apply()`, { param: 'rng' });
  }
}

/** Builds a random transform from a parameter draw; `p` is the probability of applying it at all. */
export function defineRandom(name: string, p: number, draw: (subject: Subject, rng: Rng) => DeterministicTransform): Transform {
  const self: Transform = {
    name,
    sample(subject: Subject, rng: Rng): DeterministicTransform {
      checkRng(rng, name);
      if (p < 1 && !(rng() < p)) return Identity;
      return draw(subject, rng);
    },
    apply(subject: Subject, rng?: Rng): Subject {
      checkRng(rng, name);
      return self.sample(subject, rng).apply(subject);
    },
  };
  return Object.freeze(self);
}

/**
 * The volumes a twin changes: all of them (spatial) or the intensity ones only, optionally only
 * those named in `include` (each must be an image of the subject). Images given to an intensity
 * transform must be finite (NON_FINITE_VALUES otherwise).
 */
export function mapVolumes(
  subject: Subject,
  which: 'all' | 'intensity',
  fn: (vol: Volume, key: string) => Volume,
  include?: readonly string[],
): Record<string, Volume> {
  for (const name of include ?? []) {
    if (subject[name] === undefined || subject[name].kind !== 'intensity') {
      throw new VoxshiftError('INVALID_ARGUMENT', `include names ${JSON.stringify(name)}, which is not an image of the subject (${Object.keys(subject).join(', ')})`, {
        param: 'include',
      });
    }
  }
  const out: Record<string, Volume> = {};
  for (const key of Object.keys(subject)) {
    const v = subject[key];
    const skip = (which === 'intensity' && v.kind !== 'intensity') || (include !== undefined && !include.includes(key));
    // Means, ranges and spectra of an image with NaN/Inf would be silently wrong everywhere.
    if (!skip && which === 'intensity') assertFinite(v, `subject.${key}`);
    out[key] = skip ? v : fn(v, key);
  }
  return out;
}

/** `{ include }` when given, `{}` otherwise (keeps recorded params short). */
export function includeParam(include: string[] | undefined): { include?: string[] } {
  return include ? { include } : {};
}
