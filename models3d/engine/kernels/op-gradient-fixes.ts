import * as tf from '@tensorflow/tfjs-core';
import {
  Conv3DBackpropFilterV2,
  Conv3DBackpropInputV2,
  LeakyRelu,
  MirrorPad,
  Relu,
  type Conv3DBackpropInputV2Attrs,
  type LeakyReluAttrs,
  type GradConfig,
  type MirrorPadAttrs,
  type NamedAttrMap,
} from '@tensorflow/tfjs-core';
import { mirrorPadFold } from '../ops/mirror-pad-fold.ts';
import { ACTIVATION_GRAD } from './activation.ts';
import { simdKernelUsable } from '../simd/simd-runtime.ts';

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

function activationGradKernel(x: tf.Tensor, dy: tf.Tensor): boolean {
  return x.dtype === 'float32' && dy.dtype === 'float32' && simdKernelUsable(ACTIVATION_GRAD);
}

/** ReLU's gradient: one kernel on wasm (activation.ts), tfjs-core's dy·step(x) elsewhere. */
export const reluGrad: GradConfig = {
  kernelName: Relu,
  inputsToSave: ['x'],
  gradFunc: (dyIn, saved) => {
    const [x] = saved;
    const dy = single(dyIn);
    if (activationGradKernel(x, dy)) return { x: () => tf.engine().runKernel(ACTIVATION_GRAD, { x, dy }, { alpha: 0, nanOut: true }) as tf.Tensor };
    return { x: () => tf.mul(dy, tf.cast(tf.step(x), 'float32')) };
  },
};

/** Leaky ReLU's gradient: one kernel on wasm (activation.ts), tfjs-core's where(x > 0, dy, α·dy) elsewhere. */
export const leakyReluGrad: GradConfig = {
  kernelName: LeakyRelu,
  inputsToSave: ['x'],
  gradFunc: (dyIn, saved, attrs) => {
    const [x] = saved;
    const dy = single(dyIn);
    const { alpha } = attrs as unknown as LeakyReluAttrs;
    if (activationGradKernel(x, dy)) return { x: () => tf.engine().runKernel(ACTIVATION_GRAD, { x, dy }, { alpha, nanOut: false }) as tf.Tensor };
    return { x: () => tf.where(tf.greater(x, 0), dy, tf.mul(dy, alpha)) };
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
