import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { reflectPad } from '../../../models3d/engine/ops/reflect-pad.ts';
import { initBothBackends, onBackend, randomValues, relError } from './conv3d-helpers.ts';

/** Gradient of sum(reflectPad(x) · g) by brute force, along the reflect index map. */
function expectedGrad(g: Float32Array, xShape: number[], pads: [number, number][]): Float32Array {
  const full: [number, number][] = [[0, 0], ...pads, [0, 0]];
  const pShape = xShape.map((n, i) => n + full[i][0] + full[i][1]);
  const pStrides = [...tf.util.computeStrides(pShape), 1];
  const xStrides = [...tf.util.computeStrides(xShape), 1];
  const out = new Float32Array(tf.util.sizeFromShape(xShape));
  for (let flat = 0; flat < g.length; flat++) {
    let rest = flat;
    let target = 0;
    for (let a = 0; a < pShape.length; a++) {
      const j = Math.floor(rest / pStrides[a]);
      rest -= j * pStrides[a];
      const n = xShape[a];
      let k = j - full[a][0];
      if (k < 0) k = -k;
      if (k >= n) k = 2 * n - 2 - k;
      target += k * xStrides[a];
    }
    out[target] += g[flat];
  }
  return out;
}

const cases: { x: number[]; pad: number | [number, number][] }[] = [
  { x: [2, 8, 7, 3], pad: 3 },
  { x: [1, 5, 6, 1], pad: [[1, 2], [2, 1]] },
  { x: [1, 6, 5, 4, 2], pad: 1 },
  { x: [2, 4, 5, 6, 1], pad: [[3, 3], [1, 0], [2, 3]] },
];

describe('reflectPad', () => {
  beforeAll(initBothBackends);

  it.each(cases)('pads like reflect mirrorPad and has the folded gradient, on cpu and wasm: %o', async ({ x: shape, pad }) => {
    const spatial = shape.length - 2;
    const pairs: [number, number][] = typeof pad === 'number' ? Array.from({ length: spatial }, (): [number, number] => [pad, pad]) : pad;
    const pShape = shape.map((n, i) => (i === 0 || i === shape.length - 1 ? n : n + pairs[i - 1][0] + pairs[i - 1][1]));
    const f = (): tf.Tensor[] => {
      const x = tf.tensor(randomValues(tf.util.sizeFromShape(shape), 1), shape) as unknown as tf.Tensor4D;
      const g = tf.tensor(randomValues(tf.util.sizeFromShape(pShape), 2), pShape);
      const y = reflectPad(x, pad);
      const ref = tf.mirrorPad(x, [[0, 0], ...pairs, [0, 0]], 'reflect');
      const dx = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(reflectPad(a as tf.Tensor4D, pad), g)))(x);
      return [y, ref, dx, g];
    };
    for (const backend of ['cpu', 'wasm']) {
      const [y, ref, dx, g] = await onBackend(backend, f);
      expect(Array.from(y)).toEqual(Array.from(ref));
      expect(relError(dx, expectedGrad(g, shape, pairs)), backend).toBeLessThan(1e-6);
    }
  });

  it('rejects a padding as wide as the dimension and wrong ranks with VoxshiftError', () => {
    const x = tf.zeros([1, 3, 5, 1]) as tf.Tensor4D;
    expect(() => reflectPad(x, 3)).toThrow(expect.objectContaining({ code: 'VOXSHIFT_E_INVALID_ARGUMENT', param: 'pad' }));
    expect(() => reflectPad(x, [1, 1, 1])).toThrow(expect.objectContaining({ param: 'pad' }));
    expect(() => reflectPad(tf.zeros([3, 5, 1]) as unknown as tf.Tensor4D, 1)).toThrow(expect.objectContaining({ param: 'x' }));
    x.dispose();
  });
});
