/**
 * Test helper: the backends the training tests compare. The engine's initBackend (models3d/engine/
 * backend.ts) starts wasm with voxshift's kernels; the pure-JS cpu backend is the reference.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { initBackend } from '../../../models3d/engine/backend.ts';

export async function useBackend(kind: 'wasm' | 'cpu'): Promise<string> {
  const info = await initBackend(kind, { threads: 1 });
  if (tf.getBackend() !== kind) throw new Error(`expected backend ${kind}, got ${tf.getBackend()}`);
  return info.backend;
}
