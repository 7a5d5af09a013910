/**
 * Activation recomputation ("gradient checkpointing"): runs `fn` forward without keeping its
 * intermediates, and in the backward pass runs it again under a gradient tape to get the gradients of
 * its input and parameters. Peak memory becomes one network's activations instead of the sum over all
 * networks in a loss, for about one extra forward pass of compute.
 *
 * tfjs-core's engine.gradients() assumes it is not called from inside another backward pass: it
 * replaces and then clears the engine's active tape. The outer tape is therefore saved and restored
 * around the inner gradient computation.
 */
import * as tf from '@tensorflow/tfjs-core';

export function withRecompute(fn: (x: tf.Tensor) => tf.Tensor, x: tf.Tensor, params: tf.Variable[]): tf.Tensor {
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const inputs = args.slice(0, -1) as tf.Tensor[];
    save([inputs[0]]);
    const value = fn(inputs[0]);
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]): tf.Tensor[] => {
      const engine = tf.engine();
      const outerTape = engine.state.activeTape;
      const xs = saved[0];
      try {
        const { value: y, grads } = engine.gradients(() => fn(xs), [xs, ...params], dy as tf.Tensor, true);
        y.dispose();
        return grads.map((g, i) => g ?? tf.zerosLike(i === 0 ? xs : params[i - 1]));
      } finally {
        engine.state.activeTape = outerTape;
      }
    };
    return { value, gradFunc };
  });
  return f(x, ...params) as tf.Tensor;
}
