/**
 * The segmentation loss of nnU-Net: soft Dice + cross-entropy on logits [batch, ...spatial, C] and
 * one-hot targets of the same shape. A voxel whose target row is all zero (padding outside the
 * volume) takes no part in either term.
 *   CE   = −Σ_v Σ_c y_vc · log softmax(z)_vc / Σ_v Σ_c y_vc
 *   Dice = 1 − mean_{c ≥ 1} (2·Σ_v p_vc·y_vc + ε) / (Σ_v p_vc·m_v + Σ_v y_vc + ε),  m_v = Σ_c y_vc
 * (batch Dice: the sums run over the whole batch; background, class 0, is left out of the mean).
 */
import * as tf from '@tensorflow/tfjs-core';

export const DICE_SMOOTH = 1e-5;

export interface SegmentationLoss {
  total: tf.Scalar;
  ce: tf.Scalar;
  dice: tf.Scalar;
}

export function diceCrossEntropyLoss(logits: tf.Tensor, target: tf.Tensor): SegmentationLoss {
  return tf.tidy(() => {
    const c = logits.shape[logits.rank - 1];
    const z = tf.reshape(logits, [-1, c]);
    const y = tf.reshape(target, [-1, c]);
    const logP = tf.logSoftmax(z);
    const labelled = tf.maximum(tf.sum(y), 1);
    const ce = tf.div(tf.neg(tf.sum(tf.mul(y, logP))), labelled) as tf.Scalar;
    const p = tf.exp(logP);
    const m = tf.sum(y, 1, true);
    const inter = tf.sum(tf.mul(p, y), 0);
    const denom = tf.add(tf.sum(tf.mul(p, m), 0), tf.sum(y, 0));
    const perClass = tf.div(tf.add(tf.mul(inter, 2), DICE_SMOOTH), tf.add(denom, DICE_SMOOTH));
    const dice = tf.sub(1, tf.mean(tf.slice(perClass, [1], [c - 1]))) as tf.Scalar;
    return { total: tf.add(ce, dice) as tf.Scalar, ce, dice };
  });
}
