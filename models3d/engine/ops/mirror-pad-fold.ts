import * as tf from '@tensorflow/tfjs-core';
import { VoxshiftError } from '../../../volumes/errors.ts';

export type MirrorMode = 'reflect' | 'symmetric';

function sliceAxis(t: tf.Tensor, axis: number, begin: number, size: number): tf.Tensor {
  const b = t.shape.map(() => 0);
  const s = t.shape.slice();
  b[axis] = begin;
  s[axis] = size;
  return tf.slice(t, b, s);
}

/** Folds the gradient of one padded axis back onto the unpadded positions it was copied from. */
function foldAxis(dy: tf.Tensor, axis: number, before: number, after: number, n: number, mode: MirrorMode): tf.Tensor {
  // reflect:   padded j < before maps to x[before − j],   j ≥ before + n maps to x[2n − 2 − (j − before)]
  // symmetric: padded j < before maps to x[before − 1 − j], j ≥ before + n maps to x[2n − 1 − (j − before)]
  // Reversed, the left border lands on x[off, off + before) and the right one on x[rightStart, rightStart + after).
  const off = mode === 'reflect' ? 1 : 0;
  const rightStart = n - after - off;
  const center = sliceAxis(dy, axis, before, n);
  const left = before > 0 ? tf.reverse(sliceAxis(dy, axis, 0, before), axis) : null;
  const right = after > 0 ? tf.reverse(sliceAxis(dy, axis, before + n, after), axis) : null;
  if (off + before <= rightStart) {
    // Disjoint borders: rebuild the axis from pieces (no full-size zero padding).
    const pieces: tf.Tensor[] = [];
    const push = (begin: number, size: number, extra: tf.Tensor | null): void => {
      if (size <= 0) return;
      const part = sliceAxis(center, axis, begin, size);
      pieces.push(extra === null ? part : tf.add(part, extra));
    };
    push(0, off, null);
    push(off, before, left);
    push(off + before, rightStart - off - before, null);
    push(rightStart, after, right);
    push(rightStart + after, n - rightStart - after, null);
    return pieces.length === 1 ? pieces[0] : tf.concat(pieces, axis);
  }
  let sum = center;
  const padded = (t: tf.Tensor, start: number, size: number): tf.Tensor => {
    const p = t.shape.map((): [number, number] => [0, 0]);
    p[axis] = [start, n - start - size];
    return tf.pad(t, p);
  };
  if (left !== null) sum = tf.add(sum, padded(left, off, before));
  if (right !== null) sum = tf.add(sum, padded(right, rightStart, after));
  return sum;
}

/**
 * The gradient of MirrorPad with respect to its input: the centre of `dy` plus every border folded back
 * onto the position it was mirrored from (tfjs-core's own gradient keeps only the centre).
 */
export function mirrorPadFold(
  dy: tf.Tensor,
  xShape: readonly number[],
  paddings: ReadonlyArray<readonly [number, number]>,
  mode: MirrorMode,
): tf.Tensor {
  if (paddings.length !== xShape.length) {
    throw new VoxshiftError('INVALID_ARGUMENT', `mirror padding has ${paddings.length} pairs for a rank-${xShape.length} tensor`, {
      param: 'paddings',
    });
  }
  return tf.tidy(() => {
    let g = dy;
    for (let axis = 0; axis < xShape.length; axis++) {
      const [before, after] = paddings[axis];
      if (before === 0 && after === 0) continue;
      g = foldAxis(g, axis, before, after, xShape[axis], mode);
    }
    return g;
  });
}
