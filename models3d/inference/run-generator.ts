/**
 * One generator call: a float32 buffer in, the output values back in JS. A tfjs generator runs inside
 * tf.tidy with every tensor disposed whatever happens (its input and output are freed in `finally`);
 * a buffer generator (onnxruntime) is handed the buffer as it is.
 */
import * as tf from '@tensorflow/tfjs-core';
import { setImmediate as nextMacrotask } from 'node:timers/promises';
import { VoxshiftError } from '../../volumes/errors.ts';
import { isBufferGenerator, type Generator } from './options.ts';

export async function runGenerator(generator: Generator, input: Float32Array, shape: number[]): Promise<Float32Array> {
  if (isBufferGenerator(generator)) {
    const out = await generator.run(input, shape);
    const size = shape.reduce((a, b) => a * b, 1);
    if (!(out instanceof Float32Array) || out.length !== size) {
      throw new VoxshiftError(
        'INVALID_ARGUMENT',
        `generator must return ${size} float32 values (its input's shape [${shape.join(', ')}], one output channel), got ${out instanceof Float32Array ? out.length : typeof out}`,
        { param: 'generator', details: { expected: shape } },
      );
    }
    return out;
  }
  const x = tf.tensor(input, shape, 'float32');
  let y: tf.Tensor | undefined;
  try {
    y = tf.tidy(() => {
      const out = generator(x);
      if (!(out instanceof tf.Tensor)) {
        throw new VoxshiftError('INVALID_ARGUMENT', `generator must return a tf.Tensor, got ${typeof out}`, { param: 'generator' });
      }
      if (out.shape.length !== shape.length || out.shape.some((n, a) => n !== shape[a])) {
        throw new VoxshiftError(
          'INVALID_ARGUMENT',
          `generator must return its input's shape [${shape.join(', ')}] (one output channel), got [${out.shape.join(', ')}]`,
          { param: 'generator', details: { expected: shape, received: out.shape } },
        );
      }
      // A generator that returns its input unchanged gets a copy, so disposing x leaves y valid.
      return out === x ? x.clone() : out.dtype === 'float32' ? out : tf.cast(out, 'float32');
    });
    return (await y.data()) as Float32Array;
  } finally {
    x.dispose();
    y?.dispose();
  }
}

/** Lets timers, signals (Ctrl-C) and sockets run between generator calls. */
export function yieldToEventLoop(): Promise<void> {
  return nextMacrotask();
}

/** NON_FINITE_VALUES for a NaN/±Inf the generator produced (never written silently into the output). */
export function nonFiniteOutput(value: number, where: string): VoxshiftError {
  return new VoxshiftError('NON_FINITE_VALUES', `generator returned ${value} at ${where}`, {
    param: 'generator',
    details: { value: String(value) },
  });
}
