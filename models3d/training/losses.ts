/**
 * The losses of CycleGAN (Zhu et al. 2017) and pix2pix (Isola et al. 2017), as pure functions on
 * tensors. Every function returns a scalar mean over all elements.
 */
import * as tf from '@tensorflow/tfjs-core';

export type GanMode = 'lsgan' | 'vanilla';

/**
 * Adversarial loss of discriminator logits against a constant target (1 = real, 0 = fake):
 * LSGAN (Mao et al.): mean((D(x) − t)²); vanilla GAN: binary cross-entropy with logits.
 */
export function ganLoss(logits: tf.Tensor, target: 0 | 1, mode: GanMode = 'lsgan'): tf.Scalar {
  return tf.tidy(() => {
    if (mode === 'lsgan') return tf.mean(tf.square(tf.sub(logits, target))) as tf.Scalar;
    // BCE with logits, stable form: max(z, 0) − z·t + log(1 + exp(−|z|)).
    const z = logits;
    return tf.mean(tf.add(tf.sub(tf.relu(z), tf.mul(z, target)), tf.log1p(tf.exp(tf.neg(tf.abs(z)))))) as tf.Scalar;
  });
}

/** Mean absolute error (L1), the cycle-consistency, identity and pix2pix reconstruction loss. */
export function l1Loss(a: tf.Tensor, b: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.abs(tf.sub(a, b))) as tf.Scalar);
}

/** Discriminator loss: ½·(GAN(D(real), 1) + GAN(D(fake), 0)), as in the reference implementation. */
export function discriminatorLoss(realLogits: tf.Tensor, fakeLogits: tf.Tensor, mode: GanMode = 'lsgan'): tf.Scalar {
  return tf.tidy(() => tf.mul(tf.add(ganLoss(realLogits, 1, mode), ganLoss(fakeLogits, 0, mode)), 0.5) as tf.Scalar);
}
