import * as tf from '@tensorflow/tfjs-core';
import { VoxshiftError } from '../../../volumes/errors.ts';
import { mirrorPadFold } from './mirror-pad-fold.ts';

/** Padding of the spatial dimensions: one width for all, one per dimension, or [before, after] pairs. */
export type SpatialPadding = number | readonly number[] | ReadonlyArray<readonly [number, number]>;

function spatialPairs(x: tf.Tensor, pad: SpatialPadding): [number, number][] {
  const spatial = x.rank - 2;
  const pairs: [number, number][] =
    typeof pad === 'number'
      ? Array.from({ length: spatial }, (): [number, number] => [pad, pad])
      : pad.map((p): [number, number] => (typeof p === 'number' ? [p, p] : [p[0], p[1]]));
  if (pairs.length !== spatial) {
    throw new VoxshiftError('INVALID_ARGUMENT', `reflectPad: expected padding for ${spatial} spatial dimensions, got ${pairs.length}`, {
      param: 'pad',
      details: { received: pad, shape: x.shape },
    });
  }
  pairs.forEach(([before, after], i) => {
    const n = x.shape[i + 1];
    const ok = Number.isInteger(before) && Number.isInteger(after) && before >= 0 && after >= 0 && before < n && after < n;
    if (!ok) {
      throw new VoxshiftError('INVALID_ARGUMENT', `reflectPad: padding [${before}, ${after}] of spatial dimension ${i} (size ${n}) must be whole numbers in [0, ${n - 1}]`, {
        param: 'pad',
        details: { received: [before, after], size: n },
      });
    }
  });
  return pairs;
}

/**
 * Reflection padding of the spatial dimensions of an NHWC (4-D) or NDHWC (5-D) tensor, as the
 * ResNet generators use it ("reflect": the edge voxel is not repeated). Differentiable with the full
 * gradient: the border's gradient is folded back onto the voxels it mirrors.
 */
export function reflectPad<T extends tf.Tensor4D | tf.Tensor5D>(x: T, pad: SpatialPadding): T {
  if (x.rank !== 4 && x.rank !== 5) {
    throw new VoxshiftError('INVALID_ARGUMENT', `reflectPad: expected a 4-D (NHWC) or 5-D (NDHWC) tensor, got rank ${x.rank}`, {
      param: 'x',
      details: { shape: x.shape },
    });
  }
  const paddings: [number, number][] = [[0, 0], ...spatialPairs(x, pad), [0, 0]];
  if (paddings.every(([b, a]) => b === 0 && a === 0)) return tf.clone(x);
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const input = args[0] as tf.Tensor;
    return {
      value: tf.mirrorPad(input, paddings, 'reflect'),
      gradFunc: (dy: tf.Tensor) => mirrorPadFold(dy, input.shape, paddings, 'reflect'),
    };
  });
  return f(x) as T;
}
