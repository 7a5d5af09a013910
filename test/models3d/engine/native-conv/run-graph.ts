/** Runs one convolution graph on onnxruntime directly (no routing rule in between), 1 thread. */
import * as tf from '@tensorflow/tfjs-core';
import { graphShapes, type ConvGeometry, type ConvOp } from '../../../../models3d/engine/native-conv/conv-graphs.ts';
import { loadOrtSync } from '../../../../models3d/engine/native-conv/ort-binding.ts';

export function runConvGraph(bytes: Uint8Array, op: ConvOp, g: ConvGeometry, a: Float32Array, b: Float32Array): Float32Array {
  const { ort } = loadOrtSync();
  if (ort === undefined) throw new Error('onnxruntime-node is not loaded');
  const shapes = graphShapes(op, g);
  const session = ort.newSession();
  try {
    session.loadModel(bytes.buffer, bytes.byteOffset, bytes.byteLength, {
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      enableCpuMemArena: true,
    });
    const y = ort.tensor(new Float32Array(tf.util.sizeFromShape(shapes.y)), shapes.y);
    session.run({ a: ort.tensor(a, shapes.a), b: ort.tensor(b, shapes.b) }, { y }, {});
    return y.data;
  } finally {
    session.dispose();
  }
}
