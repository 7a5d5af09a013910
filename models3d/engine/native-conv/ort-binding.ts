/**
 * onnxruntime-node's native binding, called synchronously. tfjs kernels must return their result
 * synchronously, and the package's public `InferenceSession.run` only defers the binding's own
 * synchronous `run` to a later tick; so the convolution engine loads the binding directly. Loading
 * never throws: a missing or broken onnxruntime-node yields undefined and the reason.
 */
import { createRequire } from 'node:module';

export interface OrtTensor {
  readonly data: Float32Array;
  readonly dims: readonly number[];
}

export interface OrtSessionOptions {
  intraOpNumThreads: number;
  interOpNumThreads: number;
  graphOptimizationLevel: 'disabled' | 'basic' | 'extended' | 'all';
  executionMode: 'sequential' | 'parallel';
  enableCpuMemArena: boolean;
  extra?: Record<string, Record<string, Record<string, string>>>;
}

export interface OrtNativeSession {
  loadModel(buffer: ArrayBufferLike, byteOffset: number, byteLength: number, options: OrtSessionOptions): void;
  run(feeds: Record<string, OrtTensor>, fetches: Record<string, OrtTensor | null>, options: Record<string, never>): Record<string, OrtTensor>;
  dispose(): void;
}

export interface OrtSync {
  newSession(): OrtNativeSession;
  /** A tensor object the binding accepts (onnxruntime-common's Tensor) over `data` (not copied). */
  tensor(data: Float32Array, dims: readonly number[]): OrtTensor;
  version: string;
}

interface BindingModule {
  binding: { InferenceSession: new () => OrtNativeSession };
  initOrt(): void;
}

interface CommonModule {
  Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => OrtTensor;
}

let loaded: { ort?: OrtSync; reason?: string } | undefined;

export function loadOrtSync(): { ort?: OrtSync; reason?: string } {
  if (loaded !== undefined) return loaded;
  try {
    const require = createRequire(import.meta.url);
    const pkg = require('onnxruntime-node/package.json') as { version: string };
    const mod = require('onnxruntime-node/dist/binding.js') as BindingModule;
    const common = require('onnxruntime-common') as CommonModule;
    mod.initOrt();
    loaded = {
      ort: {
        newSession: () => new mod.binding.InferenceSession(),
        tensor: (data, dims) => new common.Tensor('float32', data, dims),
        version: pkg.version,
      },
    };
  } catch (e) {
    loaded = { reason: e instanceof Error ? e.message : String(e) };
  }
  return loaded;
}
