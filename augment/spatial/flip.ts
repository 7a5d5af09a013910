/**
 * Flip (TorchIO's Flip): reverses the voxel order along the given voxel axes, keeping the grid, in
 * every volume of the subject (exact copies: no interpolation). Its own inverse. No axis is flipped
 * by default: a left–right flip silently swaps lateralised labels (left/right structures).
 */
import { OptionReader } from '../options.ts';
import { defineRandom, defineTwin } from '../transform.ts';
import type { DeterministicTransform, Transform } from '../transform.ts';
import { subjectGrid } from '../subject.ts';
import { warpSubject } from './interpolation.ts';

export interface FlipParams {
  axes: number[];
}

export function Flip(params: FlipParams, where = 'Flip'): DeterministicTransform {
  const r = new OptionReader(where, params, ['axes']);
  const axes = r.axes('axes', []);
  const self: DeterministicTransform = defineTwin(
    'Flip',
    { axes },
    (subject) => {
      if (axes.length === 0) return { ...subject };
      const s = subjectGrid(subject).shape;
      const f = [0, 1, 2].map((a) => axes.includes(a));
      const m = [
        f[0] ? -1 : 1, 0, 0, f[0] ? s[0] - 1 : 0,
        0, f[1] ? -1 : 1, 0, f[1] ? s[1] - 1 : 0,
        0, 0, f[2] ? -1 : 1, f[2] ? s[2] - 1 : 0,
      ];
      return warpSubject(subject, m, null, { imageInterpolation: 'nearest', labelInterpolation: 'nearest' });
    },
    () => self,
  );
  return self;
}

export interface RandomFlipOptions {
  /** Candidate axes; each is flipped with probability `flipProbability`. Default none. */
  axes?: number[];
  flipProbability?: number;
  p?: number;
}

export function RandomFlip(options: RandomFlipOptions = {}, where = 'RandomFlip'): Transform {
  const r = new OptionReader(where, options, ['axes', 'flipProbability', 'p']);
  const axes = r.axes('axes', []);
  const q = r.prob('flipProbability', 0.5);
  return defineRandom('RandomFlip', r.prob('p', 1), (_s, rng) => Flip({ axes: axes.filter(() => rng() < q) }));
}
