/**
 * The losses of CycleGAN (Zhu et al. 2017) and pix2pix (Isola et al. 2017), as pure functions on
 * tensors. Every function returns a scalar mean over all elements.
 *
 * A multi-scale discriminator (pix2pixHD) gives one logits tensor per scale: the adversarial losses
 * then take the mean over the scales of each scale's loss (pix2pixHD sums them; the mean keeps the
 * loss on the single-scale scale, i.e. the sum with the adversarial weight divided by the number of
 * scales). One tensor is exactly the single-scale loss.
 */
import * as tf from '@tensorflow/tfjs-core';
import { VoxshiftError } from '../../volumes/errors.ts';

export type GanMode = 'lsgan' | 'vanilla';

/** One discriminator output, or one per scale. */
export type Logits = tf.Tensor | readonly tf.Tensor[];

function checkTarget(target: number): void {
  if (!(target >= 0 && target <= 1)) {
    throw new VoxshiftError('INVALID_ARGUMENT', `a GAN target must be a number in [0, 1], got ${String(target)}`, { param: 'target' });
  }
}

function oneGanLoss(z: tf.Tensor, target: number, mode: GanMode): tf.Scalar {
  if (mode === 'lsgan') return tf.mean(tf.square(tf.sub(z, target))) as tf.Scalar;
  // BCE with logits, stable form (any target t in [0, 1]): max(z, 0) − z·t + log(1 + exp(−|z|)).
  return tf.mean(tf.add(tf.sub(tf.relu(z), tf.mul(z, target)), tf.log1p(tf.exp(tf.neg(tf.abs(z)))))) as tf.Scalar;
}

/**
 * Adversarial loss of discriminator logits against a constant target (1 = real, 0 = fake; a smoothed
 * real target such as 0.9 is allowed): LSGAN (Mao et al.): mean((D(x) − t)²); vanilla GAN: binary
 * cross-entropy with logits. For several scales, the mean of the per-scale losses.
 */
export function ganLoss(logits: Logits, target: number, mode: GanMode = 'lsgan'): tf.Scalar {
  checkTarget(target);
  return tf.tidy(() => {
    if (!Array.isArray(logits)) return oneGanLoss(logits as tf.Tensor, target, mode);
    if (logits.length === 0) throw new VoxshiftError('INVALID_ARGUMENT', 'logits must hold at least one tensor', { param: 'logits' });
    if (logits.length === 1) return oneGanLoss(logits[0], target, mode);
    return tf.div(tf.addN(logits.map((z) => oneGanLoss(z, target, mode))), logits.length) as tf.Scalar;
  });
}

/** Mean absolute error (L1), the cycle-consistency, identity and pix2pix reconstruction loss. */
export function l1Loss(a: tf.Tensor, b: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.abs(tf.sub(a, b))) as tf.Scalar);
}

/**
 * Discriminator loss: ½·(GAN(D(real), 1 − s) + GAN(D(fake), 0)), as in the reference implementation,
 * with one-sided label smoothing s (Salimans et al. 2016; 0 = none): only the real target is softened.
 */
export function discriminatorLoss(realLogits: Logits, fakeLogits: Logits, mode: GanMode = 'lsgan', labelSmoothing = 0): tf.Scalar {
  if (!(labelSmoothing >= 0 && labelSmoothing < 1)) {
    throw new VoxshiftError('INVALID_ARGUMENT', `labelSmoothing must be a number in [0, 1), got ${String(labelSmoothing)}`, { param: 'labelSmoothing' });
  }
  return tf.tidy(() => tf.mul(tf.add(ganLoss(realLogits, 1 - labelSmoothing, mode), ganLoss(fakeLogits, 0, mode)), 0.5) as tf.Scalar);
}
