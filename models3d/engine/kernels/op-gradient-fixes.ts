import * as tf from '@tensorflow/tfjs-core';
import {
  Conv3DBackpropFilterV2,
  Conv3DBackpropInputV2,
  MirrorPad,
  type Conv3DBackpropInputV2Attrs,
  type GradConfig,
  type MirrorPadAttrs,
  type NamedAttrMap,
} from '@tensorflow/tfjs-core';
import { mirrorPadFold } from '../ops/mirror-pad-fold.ts';
import { leakyReluGrad, reluGrad } from './activation.ts';

function single(dy: tf.Tensor | tf.Tensor[]): tf.Tensor {
  return Array.isArray(dy) ? dy[0] : dy;
}

/** MirrorPad: fold the border gradient back (tfjs-core's gradient only slices out the centre). */
export const mirrorPadGradFix: GradConfig = {
  kernelName: MirrorPad,
  inputsToSave: ['x'],
  gradFunc: (dy, saved, attrs) => {
    const [x] = saved;
    const { paddings, mode } = attrs as unknown as MirrorPadAttrs;
    return { x: () => mirrorPadFold(single(dy), x.shape, paddings, mode) };
  },
};

/**
 * Conv3DBackpropInputV2 (the forward of conv3dTranspose) has no gradient in tfjs-core. It computes
 * y = Aᵀ·dy where A is the conv3d operator of `filter`, so ∂L/∂dy = A·g = conv3d(g, filter) and, since
 * ⟨g, Aᵀdy⟩ = ⟨conv3d(g, filter), dy⟩, ∂L/∂filter = conv3dBackpropFilter(x = g, dy = dy).
 */
export const conv3dBackpropInputGrad: GradConfig = {
  kernelName: Conv3DBackpropInputV2,
  inputsToSave: ['dy', 'filter'],
  gradFunc: (ddx, saved, attrs) => {
    const [dy, filter] = saved;
    const { strides, pad } = attrs as unknown as Conv3DBackpropInputV2Attrs;
    const g = single(ddx) as tf.Tensor5D;
    return {
      dy: () => tf.conv3d(g, filter as tf.Tensor5D, strides, pad),
      filter: () =>
        tf.engine().runKernel(
          Conv3DBackpropFilterV2,
          { x: g, dy },
          { strides, pad, filterShape: filter.shape } as unknown as NamedAttrMap,
        ) as tf.Tensor,
    };
  },
};

/**
 * Gradient configs that fix, complete or speed up tfjs-core's (register globally with
 * tf.registerGradient; the activation gradients fall back to tfjs-core's formulas off wasm).
 */
export const gradientFixConfigs: GradConfig[] = [mirrorPadGradFix, conv3dBackpropInputGrad, reluGrad, leakyReluGrad];

/**
 * Registers `gradientFixConfigs` globally (every backend). Call it after tfjs-core's own gradients are
 * loaded, or they would override these. Idempotent.
 */
export function registerGradientFixes(): void {
  for (const config of gradientFixConfigs) {
    if (tf.getGradient(config.kernelName) !== config) tf.registerGradient(config);
  }
}
