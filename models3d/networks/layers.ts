/**
 * The few tensor operations the networks are made of, written once for 2-D (NHWC) and 3-D (NDHWC)
 * activations. This is the one indirection between the networks and the engine: when the engine
 * provides a faster or more correct kernel for an operation, it is switched here and nowhere else.
 */
import * as tf from '@tensorflow/tfjs-core';
import { instanceNorm as engineInstanceNorm } from '../engine/ops/instance-norm.ts';
import { reflectPad as engineReflectPad } from '../engine/ops/reflect-pad.ts';
import type { SpatialDims } from './spec.ts';

type ExplicitPadding = [[number, number], [number, number], [number, number], [number, number]];

function spatialDimsOf(x: tf.Tensor): SpatialDims {
  if (x.rank === 4) return 2;
  if (x.rank === 5) return 3;
  throw new Error(`expected a rank-4 (NHWC) or rank-5 (NDHWC) tensor, got shape [${x.shape.join(', ')}]`);
}

/** Zero-padded convolution as PyTorch's Conv2d/Conv3d(padding=p): `w` is [...kernel, in, out]. */
export function conv(x: tf.Tensor, w: tf.Tensor, stride: number, padding: number): tf.Tensor {
  if (spatialDimsOf(x) === 2) {
    const pad = padding === 0 ? 'valid' : ([[0, 0], [padding, padding], [padding, padding], [0, 0]] as ExplicitPadding);
    return tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, stride, pad);
  }
  if (padding === 0) return tf.conv3d(x as tf.Tensor5D, w as tf.Tensor5D, stride, 'valid');
  // tfjs's conv3d op types `pad` as 'valid' | 'same' only, but its Conv3D kernels and gradient read it
  // through computeConv3DInfo, which takes a number (zero padding on every side): no padded copy of x
  // (and of its gradient) per layer, as tf.pad + 'valid' needed.
  const attrs = { strides: [stride, stride, stride], pad: padding, dataFormat: 'NDHWC', dilations: [1, 1, 1] };
  return tf.engine().runKernel(tf.Conv3D, { x, filter: w }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
}

/** Output size of PyTorch's ConvTranspose along one axis. */
export function convTransposeSize(n: number, kernel: number, stride: number, padding: number, outputPadding: number): number {
  return (n - 1) * stride - 2 * padding + kernel + outputPadding;
}

/**
 * Transposed convolution as PyTorch's ConvTranspose2d/3d(kernel, stride, padding, output_padding):
 * `w` is [...kernel, out, in].
 */
export function convTranspose(x: tf.Tensor, w: tf.Tensor, stride: number, padding: number, outputPadding: number): tf.Tensor {
  const dims = spatialDimsOf(x);
  const kernel = w.shape[0] as number;
  const outChannels = w.shape[dims] as number;
  const spatial = x.shape.slice(1, 1 + dims).map((n: number) => convTransposeSize(n, kernel, stride, padding, outputPadding));
  if (dims === 2) {
    // conv2dTranspose is the input gradient of a conv over the output grid; explicit symmetric padding
    // p makes that conv's geometry PyTorch's (output_padding only enlarges the grid at the far end).
    const pad = [[0, 0], [padding, padding], [padding, padding], [0, 0]] as ExplicitPadding;
    const outShape = [x.shape[0], spatial[0], spatial[1], outChannels] as [number, number, number, number];
    return tf.conv2dTranspose(x as tf.Tensor4D, w as tf.Tensor4D, outShape, stride, padding === 0 ? 'valid' : pad);
  }
  // 3-D: tfjs-core registers no gradient for conv3dTranspose, so one is supplied here. The full ('valid')
  // transposed convolution is computed, then PyTorch's window [padding, padding + out) is cut out of it.
  const full = x.shape.slice(1, 4).map((n) => (n - 1) * stride + kernel);
  const y = convTranspose3dValid(x as tf.Tensor5D, w as tf.Tensor5D, stride, full, outChannels);
  if (padding === 0 && outputPadding === 0) return y;
  const extra = spatial.map((n, i) => Math.max(0, padding + n - full[i]));
  const yy = extra.some((e) => e > 0) ? tf.pad(y, [[0, 0], [0, extra[0]], [0, extra[1]], [0, extra[2]], [0, 0]]) : y;
  return tf.slice(yy, [0, padding, padding, padding, 0], [-1, spatial[0], spatial[1], spatial[2], -1]);
}

function convTranspose3dValid(x: tf.Tensor5D, w: tf.Tensor5D, stride: number, full: number[], outChannels: number): tf.Tensor5D {
  const outShape: [number, number, number, number, number] = [x.shape[0], full[0], full[1], full[2], outChannels];
  const strides: [number, number, number] = [stride, stride, stride];
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xi, wi] = args as tf.Tensor[];
    const save = args[2] as tf.GradSaveFunc;
    save([xi, wi]);
    const value = tf.engine().runKernel('Conv3DBackpropInputV2', { dy: xi, filter: wi }, {
      strides,
      pad: 'valid',
      inputShape: outShape,
    }) as tf.Tensor5D;
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]): tf.Tensor[] => {
      const [xs, ws] = saved;
      const dx = tf.conv3d(dy as tf.Tensor5D, ws as tf.Tensor5D, strides, 'valid');
      const dw = tf.engine().runKernel('Conv3DBackpropFilterV2', { x: dy, dy: xs }, {
        strides,
        pad: 'valid',
        filterShape: ws.shape,
      }) as tf.Tensor;
      return [dx, dw];
    };
    return { value, gradFunc };
  });
  return f(x, w) as tf.Tensor5D;
}

/**
 * Reflection padding of every spatial axis by `pad` (PyTorch ReflectionPad2d/3d), with the full
 * gradient (the border's gradient folds back onto the voxels it mirrors; tfjs-core's MirrorPad
 * gradient drops it).
 */
export function reflectPad(x: tf.Tensor, pad: number): tf.Tensor {
  spatialDimsOf(x);
  if (pad === 0) return x;
  return engineReflectPad(x as tf.Tensor4D | tf.Tensor5D, pad);
}

/** Instance normalisation over the spatial axes (PyTorch InstanceNorm, affine=False, biased variance). */
export function instanceNorm(x: tf.Tensor, epsilon: number): tf.Tensor {
  spatialDimsOf(x);
  return engineInstanceNorm(x as tf.Tensor4D | tf.Tensor5D, { epsilon });
}

/** Output size of PyTorch's AvgPool/Conv along one axis: ⌊(n + 2p − k)/s⌋ + 1. */
export function poolSize(n: number, kernel: number, stride: number, padding: number): number {
  return Math.floor((n + 2 * padding - kernel) / stride) + 1;
}

/**
 * Average pooling as PyTorch's AvgPool2d/3d(kernel, stride, padding, count_include_pad=False): each
 * output is the mean of the input voxels its window covers, the zero padding not counted. Computed as
 * the pooled zero-padded input divided by the pooled padded ones (the fraction of real voxels).
 */
export function avgPool(x: tf.Tensor, kernel: number, stride: number, padding: number): tf.Tensor {
  const dims = spatialDimsOf(x);
  return tf.tidy(() => {
    const spatial = x.shape.slice(1, -1);
    const pads = [[0, 0], ...spatial.map((): [number, number] => [padding, padding]), [0, 0]] as [number, number][];
    const pool = (t: tf.Tensor): tf.Tensor =>
      dims === 2 ? tf.avgPool(t as tf.Tensor4D, kernel, stride, 'valid') : tf.avgPool3d(t as tf.Tensor5D, kernel, stride, 'valid');
    if (padding === 0) return pool(x);
    const sum = pool(tf.pad(x, pads));
    // The fraction of each window that is real input; a constant (no gradient path to x).
    const fraction = pool(tf.pad(tf.ones([1, ...spatial, 1]), pads));
    return tf.div(sum, fraction);
  });
}

/** Unit vector x / max(‖x‖, 1e-12) (PyTorch's F.normalize, as its spectral norm uses). */
function normalize(x: tf.Tensor): tf.Tensor {
  return tf.div(x, tf.maximum(tf.norm(x), 1e-12));
}

/** A conv weight ([...kernel, in, out]) as the matrix M = [kernel·in, out] whose σ is normalised. */
function weightMatrix(w: tf.Tensor): tf.Tensor2D {
  const out = w.shape[w.rank - 1];
  return tf.reshape(w, [-1, out]);
}

/**
 * One power iteration of spectral normalisation (Miyato et al. 2018) as torch.nn.utils.spectral_norm
 * does it. With M the weight as a [kernel·in, out] matrix (PyTorch's weight_mat transposed, same σ),
 * `u` of length out and `v` of length kernel·in:  v ← normalize(M u),  u ← normalize(Mᵀ v).
 * Returns the new vectors; the caller stores them.
 */
export function spectralPowerIteration(w: tf.Tensor, u: tf.Tensor): { u: tf.Tensor1D; v: tf.Tensor1D } {
  return tf.tidy(() => {
    const m = weightMatrix(w);
    const v = normalize(tf.reshape(tf.matMul(m, tf.reshape(u, [-1, 1])), [-1])) as tf.Tensor1D;
    const un = normalize(tf.reshape(tf.matMul(m, tf.reshape(v, [-1, 1]), true, false), [-1])) as tf.Tensor1D;
    return { u: un, v };
  });
}

/**
 * The spectrally normalised weight W/σ with σ = vᵀ M u (u, v from the last power iteration; PyTorch's
 * σ = uᵀ W_mat v). Pass the stored vectors (tensors with no gradient path to W): the gradient then
 * reaches W through W itself and through σ with u, v constant, as in PyTorch.
 */
export function spectralNormalize(w: tf.Tensor, u: tf.Tensor, v: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const sigma = tf.sum(tf.mul(tf.reshape(v, [-1, 1]), tf.matMul(weightMatrix(w), tf.reshape(u, [-1, 1]))));
    return tf.div(w, sigma);
  });
}
