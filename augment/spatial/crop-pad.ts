/**
 * Crop and Pad of every volume of the subject by voxel counts per side (TorchIO's Crop/Pad with
 * bounds), exact geometry (volumes/crop-pad.ts): each kept voxel keeps its world position. Crop and
 * Pad with the same counts are each other's inverse (Pad then Crop is exact; Crop then Pad restores
 * the kept box and fills the rest).
 */
import { VoxshiftError } from '../../volumes/errors.ts';
import { crop, pad } from '../../volumes/crop-pad.ts';
import { cropOrPad } from '../../volumes/crop-pad.ts';
import { OptionReader } from '../options.ts';
import type { Vec3 } from '../options.ts';
import { subjectGrid } from '../subject.ts';
import { defineTwin, mapVolumes } from '../transform.ts';
import type { DeterministicTransform } from '../transform.ts';
import { defaultFill } from './warp.ts';

export interface CropParams {
  before: Vec3;
  after: Vec3;
}

export interface PadParams {
  before: Vec3;
  after: Vec3;
  /** 'constant' fills images with their minimum and labels with 0. Default 'constant'. */
  mode?: 'constant' | 'edge' | 'reflect';
}

export function Crop(params: CropParams, where = 'Crop'): DeterministicTransform {
  const r = new OptionReader(where, params, ['before', 'after']);
  const before = r.int3('before', undefined, 0);
  const after = r.int3('after', undefined, 0);
  return defineTwin(
    'Crop',
    { before, after },
    (subject) => {
      const shape = subjectGrid(subject).shape;
      const size = [0, 1, 2].map((a) => shape[a] - before[a] - after[a]);
      if (size.some((s) => s < 1)) {
        throw new VoxshiftError('INVALID_ARGUMENT', `${where}: cropping [${before}] + [${after}] leaves nothing of shape [${shape.join(', ')}]`, {
          param: where,
        });
      }
      return mapVolumes(subject, 'all', (v) => crop(v, before, size));
    },
    () => Pad({ before, after }),
  );
}

export function Pad(params: PadParams, where = 'Pad'): DeterministicTransform {
  const r = new OptionReader(where, params, ['before', 'after', 'mode']);
  const before = r.int3('before', undefined, 0);
  const after = r.int3('after', undefined, 0);
  const mode = r.choice('mode', 'constant', ['constant', 'edge', 'reflect'] as const);
  return defineTwin(
    'Pad',
    { before, after, mode },
    (subject) => mapVolumes(subject, 'all', (v) => pad(v, before, after, { mode, value: defaultFill(v) })),
    () => Crop({ before, after }),
  );
}

export interface CropOrPadParams {
  shape: Vec3;
  mode?: 'constant' | 'edge' | 'reflect';
}

/** Centred crop and/or pad to `shape` (TorchIO's CropOrPad); not invertible (the original shape is not kept). */
export function CropOrPad(params: CropOrPadParams, where = 'CropOrPad'): DeterministicTransform {
  const r = new OptionReader(where, params, ['shape', 'mode']);
  const shape = r.int3('shape', undefined, 1);
  const mode = r.choice('mode', 'constant', ['constant', 'edge', 'reflect'] as const);
  return defineTwin('CropOrPad', { shape, mode }, (subject) =>
    mapVolumes(subject, 'all', (v) => cropOrPad(v, shape, { mode, value: defaultFill(v) })),
  );
}
