import * as tf from '@tensorflow/tfjs-core';
import { VoxshiftError } from '../../../volumes/errors.ts';
import { MIRROR_PAD_GRAD } from '../kernels/mirror-pad-grad.ts';
import { simdKernelUsable } from '../simd/simd-runtime.ts';

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
  // So x[off + i] receives dy[before − 1 − i] (i < before) and x[rightStart + i] receives
  // dy[before + n + after − 1 − i] (i < after), besides its own dy[before + position].
  const off = mode === 'reflect' ? 1 : 0;
  const rightStart = n - after - off;
  if (off + before <= rightStart) {
    // Disjoint borders: rebuild the axis from slabs (no Reverse — slow on wasm — and no full-size adds;
    // slabs of the outermost axis are contiguous, i.e. free views with the no-copy Slice).
    const pieces: tf.Tensor[] = [];
    const own = (p: number, size: number): void => {
      if (size > 0) pieces.push(sliceAxis(dy, axis, before + p, size));
    };
    own(0, off);
    for (let i = 0; i < before; i++) {
      pieces.push(tf.add(sliceAxis(dy, axis, before + off + i, 1), sliceAxis(dy, axis, before - 1 - i, 1)));
    }
    own(off + before, rightStart - off - before);
    for (let i = 0; i < after; i++) {
      pieces.push(tf.add(sliceAxis(dy, axis, before + rightStart + i, 1), sliceAxis(dy, axis, before + n + after - 1 - i, 1)));
    }
    own(rightStart + after, n - rightStart - after);
    return pieces.length === 1 ? pieces[0] : tf.concat(pieces, axis);
  }
  // Borders that overlap (padding close to the size): zero-pad the reversed borders and add.
  const padded = (t: tf.Tensor, start: number, size: number): tf.Tensor => {
    const p = t.shape.map((): [number, number] => [0, 0]);
    p[axis] = [start, n - start - size];
    return tf.pad(t, p);
  };
  let sum = sliceAxis(dy, axis, before, n);
  if (before > 0) sum = tf.add(sum, padded(tf.reverse(sliceAxis(dy, axis, 0, before), axis), off, before));
  if (after > 0) sum = tf.add(sum, padded(tf.reverse(sliceAxis(dy, axis, before + n, after), axis), rightStart, after));
  return sum;
}

/** Whether the one-pass wasm kernel (kernels/mirror-pad-grad.ts) takes this fold. */
function foldKernelApplies(dy: tf.Tensor, xShape: readonly number[], paddings: ReadonlyArray<readonly [number, number]>): boolean {
  const rank = xShape.length;
  if (rank !== 4 && rank !== 5) return false;
  if (paddings[0].some((p) => p !== 0) || paddings[rank - 1].some((p) => p !== 0)) return false;
  return dy.dtype === 'float32' && simdKernelUsable(MIRROR_PAD_GRAD);
}

/**
 * The gradient of MirrorPad with respect to its input: the centre of `dy` plus every border folded back
 * onto the position it was mirrored from (tfjs-core's own gradient keeps only the centre). One wasm
 * SIMD kernel for spatial paddings of 4-D/5-D tensors on wasm; slab slices, adds and concats otherwise.
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
  if (foldKernelApplies(dy, xShape, paddings)) {
    const attrs = { xShape: [...xShape], paddings: paddings.map(([b, a]) => [b, a]), mode };
    return tf.engine().runKernel(MIRROR_PAD_GRAD, { dy }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
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
