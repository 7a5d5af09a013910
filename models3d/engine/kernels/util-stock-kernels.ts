import { getKernel, type KernelConfig } from '@tensorflow/tfjs-core';

/** Stock wasm registrations that voxshift replaced (undefined: there was none). */
export const stockKernels = new Map<string, KernelConfig | undefined>();

/** The stock wasm kernel for `name` (the one registered before voxshift's, or the current one). */
export function stockWasmKernel(name: string): KernelConfig | undefined {
  return stockKernels.has(name) ? stockKernels.get(name) : getKernel(name, 'wasm');
}
