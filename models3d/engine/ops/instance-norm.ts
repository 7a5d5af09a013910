import * as tf from '@tensorflow/tfjs-core';
import { VoxshiftError } from '../../../volumes/errors.ts';
import { INSTANCE_NORM, INSTANCE_NORM_GRAD } from '../kernels/instance-norm.ts';

export interface InstanceNormOptions {
  /** Added to the variance (default 1e-5, as PyTorch's InstanceNorm). */
  epsilon?: number;
  /** Per-channel scale, shape [C]. */
  gamma?: tf.Tensor1D;
  /** Per-channel shift, shape [C]. */
  beta?: tf.Tensor1D;
}

const normalizers = new Map<string, (x: tf.Tensor) => tf.Tensor>();

/**
 * x̂ = (x − μ) / √(σ² + ε) over the spatial axes, per sample and channel, with the analytic backward
 *   ∂L/∂x = (1/√(σ² + ε)) · (g − mean(g) − x̂ · mean(g · x̂))
 * instead of the autograd of moments (one op per term of its chain).
 */
function normalizer(rank: number, epsilon: number): (x: tf.Tensor) => tf.Tensor {
  const fused = tf.getBackend() === 'wasm' && tf.getKernel(INSTANCE_NORM, 'wasm') !== undefined;
  const key = `${rank}:${epsilon}:${fused}`;
  const cached = normalizers.get(key);
  if (cached !== undefined) return cached;
  const axes = rank === 4 ? [1, 2] : [1, 2, 3];
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const x = args[0] as tf.Tensor;
    const save = args[1] as tf.GradSaveFunc;
    if (fused) {
      const [xhat, rstd] = tf.engine().runKernel(INSTANCE_NORM, { x }, { epsilon }) as tf.Tensor[];
      save([xhat, rstd]);
      return {
        value: xhat,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.engine().runKernel(INSTANCE_NORM_GRAD, { dy, xhat: saved[0], rstd: saved[1] }) as tf.Tensor,
      };
    }
    const { mean, variance } = tf.moments(x, axes, true);
    const rstd = tf.rsqrt(tf.add(variance, epsilon));
    const xhat = tf.mul(tf.sub(x, mean), rstd);
    save([xhat, rstd]);
    return {
      value: xhat,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xh, r] = saved;
        const meanDy = tf.mean(dy, axes, true);
        const meanDyXhat = tf.mean(tf.mul(dy, xh), axes, true);
        return tf.mul(r, tf.sub(tf.sub(dy, meanDy), tf.mul(xh, meanDyXhat)));
      },
    };
  }) as (x: tf.Tensor) => tf.Tensor;
  normalizers.set(key, f);
  return f;
}

function checkChannelParam(name: 'gamma' | 'beta', p: tf.Tensor | undefined, channels: number): void {
  if (p !== undefined && (p.rank !== 1 || p.shape[0] !== channels)) {
    throw new VoxshiftError('INVALID_ARGUMENT', `instanceNorm: ${name} must have shape [${channels}], got [${p.shape.join(', ')}]`, {
      param: name,
      details: { expected: [channels], received: p.shape },
    });
  }
}

/**
 * Instance normalisation of an NHWC (4-D) or NDHWC (5-D) tensor, optionally followed by a per-channel
 * affine transform (γ x̂ + β). Differentiable in x, γ and β.
 */
export function instanceNorm<T extends tf.Tensor4D | tf.Tensor5D>(x: T, options: InstanceNormOptions = {}): T {
  const { epsilon = 1e-5, gamma, beta } = options;
  if (x.rank !== 4 && x.rank !== 5) {
    throw new VoxshiftError('INVALID_ARGUMENT', `instanceNorm: expected a 4-D (NHWC) or 5-D (NDHWC) tensor, got rank ${x.rank}`, {
      param: 'x',
      details: { shape: x.shape },
    });
  }
  if (!(epsilon > 0) || !Number.isFinite(epsilon)) {
    throw new VoxshiftError('INVALID_ARGUMENT', `instanceNorm: epsilon must be a positive finite number, got ${epsilon}`, {
      param: 'epsilon',
    });
  }
  const channels = x.shape[x.rank - 1];
  checkChannelParam('gamma', gamma, channels);
  checkChannelParam('beta', beta, channels);
  return tf.tidy(() => {
    let y = normalizer(x.rank, epsilon)(x);
    if (gamma !== undefined) y = tf.mul(y, gamma);
    if (beta !== undefined) y = tf.add(y, beta);
    return y as T;
  });
}
