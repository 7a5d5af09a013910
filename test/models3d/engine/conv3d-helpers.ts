import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import type { KernelBackend, KernelConfig, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';

/** Replaces whatever is registered for each config's (kernel, backend) with it. */
export function registerConfigs(configs: KernelConfig[]): void {
  for (const c of configs) {
    if (tf.getKernel(c.kernelName, c.backendName) !== undefined) tf.unregisterKernel(c.kernelName, c.backendName);
    tf.registerKernel(c);
  }
}

/**
 * Test-only stand-in until engine-2d's Conv2DBackpropFilter is registered on wasm: it runs the pure-JS
 * reference kernel on copies of the data. Registered only when nothing else is.
 */
export function ensureConv2dBackpropFilterOnWasm(): void {
  if (tf.getKernel('Conv2DBackpropFilter', 'wasm') !== undefined) return;
  tf.registerKernel({
    kernelName: 'Conv2DBackpropFilter',
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const cpu = tf.findBackend('cpu') as KernelBackend;
      const wasm = backend as KernelBackend & { makeOutput(s: number[], d: string, m?: number, v?: Float32Array): TensorInfo };
      const toCpu = (t: TensorInfo): TensorInfo => ({
        dataId: cpu.write(wasm.readSync(t.dataId) as Float32Array, t.shape, t.dtype),
        shape: t.shape,
        dtype: t.dtype,
      });
      const x = toCpu(inputs.x as TensorInfo);
      const dy = toCpu(inputs.dy as TensorInfo);
      const kernel = tf.getKernel('Conv2DBackpropFilter', 'cpu') as KernelConfig;
      const r = kernel.kernelFunc({ inputs: { x, dy }, backend: cpu, attrs: attrs as NamedAttrMap }) as TensorInfo;
      const vals = cpu.readSync(r.dataId) as Float32Array;
      for (const t of [x, dy, r]) cpu.disposeData(t.dataId);
      return wasm.makeOutput(r.shape, 'float32', undefined, vals);
    },
  });
}

export async function initBothBackends(): Promise<void> {
  await tf.setBackend('cpu');
  await tf.setBackend('wasm');
}

/** Deterministic pseudo-random values in [-1, 1). */
export function randomValues(n: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/** Runs `f` on the named backend and returns its outputs as plain arrays. */
export async function onBackend(name: string, f: () => tf.Tensor[]): Promise<Float32Array[]> {
  const previous = tf.getBackend();
  await tf.setBackend(name);
  try {
    const outs = tf.tidy(f);
    const vals = outs.map((t) => t.dataSync() as Float32Array);
    tf.dispose(outs);
    return vals;
  } finally {
    await tf.setBackend(previous);
  }
}

/** max |a − b| / max |b| (falls back to absolute error where the reference is all zeros). */
export function relError(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return den === 0 ? num : num / den;
}
