/**
 * Every transform by name, for JSON pipelines (random transforms and twins) and for replaying a
 * history entry (`twinFromHistory`): a twin's recorded `{ op, params }` rebuilds it exactly.
 */
import { VoxshiftError } from '../volumes/errors.ts';
import type { HistoryEntry } from '../volumes/volume.ts';
import { Anisotropy, RandomAnisotropy } from './spatial/anisotropy.ts';
import { Affine, RandomAffine } from './spatial/affine.ts';
import { Crop, CropOrPad, Pad } from './spatial/crop-pad.ts';
import { Elastic, RandomElastic } from './spatial/elastic.ts';
import { Flip, RandomFlip } from './spatial/flip.ts';
import { RandomPatch } from './spatial/random-patch.ts';
import { BiasField, RandomBiasField } from './intensity/bias-field.ts';
import { Blur, RandomBlur } from './intensity/blur.ts';
import { BrightnessContrast, RandomBrightnessContrast } from './intensity/brightness-contrast.ts';
import { Gamma, RandomGamma } from './intensity/gamma.ts';
import { Ghosting, RandomGhosting } from './intensity/ghosting.ts';
import { Motion, RandomMotion } from './intensity/motion.ts';
import { Noise, RandomNoise } from './intensity/noise.ts';
import { RandomRicianNoise, RicianNoise } from './intensity/rician-noise.ts';
import { RandomSpike, Spike } from './intensity/spike.ts';
import { LabelToImage, RandomLabelToImage } from './synthesis/label-to-image.ts';
import { Identity } from './transform.ts';
import type { DeterministicTransform, Transform } from './transform.ts';

type Factory<T> = (options: never, where: string) => T;

/** Deterministic twins: the names written into history. */
export const TWINS: Readonly<Record<string, Factory<DeterministicTransform>>> = {
  Flip,
  Affine,
  Elastic,
  Anisotropy,
  Crop,
  Pad,
  CropOrPad,
  BiasField,
  Blur,
  BrightnessContrast,
  Gamma,
  Ghosting,
  Motion,
  Noise,
  RicianNoise,
  Spike,
  LabelToImage,
};

export const RANDOM_TRANSFORMS: Readonly<Record<string, Factory<Transform>>> = {
  RandomFlip,
  RandomAffine,
  RandomElastic,
  RandomAnisotropy,
  RandomPatch,
  RandomBiasField,
  RandomBlur,
  RandomBrightnessContrast,
  RandomGamma,
  RandomGhosting,
  RandomMotion,
  RandomNoise,
  RandomRicianNoise,
  RandomSpike,
  RandomLabelToImage,
};

/** Rebuilds the twin that wrote a history entry (augmentation entries only). */
export function twinFromHistory(entry: HistoryEntry): DeterministicTransform {
  if (entry?.op === 'Identity') return Identity;
  const factory = TWINS[entry?.op];
  if (!factory) {
    throw new VoxshiftError('INVALID_ARGUMENT', `history op ${JSON.stringify(entry?.op)} is not an augmentation twin (expected one of ${Object.keys(TWINS).join(', ')})`, {
      param: 'op',
    });
  }
  return (factory as (o: unknown, w: string) => DeterministicTransform)(entry.params, `history.${entry.op}`);
}
