/**
 * voxshift's kernels for the tfjs wasm backend. `registerWasmKernels()` (called by initBackend)
 * replaces or adds them; `restoreStockWasmKernels()` puts the stock registrations back (benchmarks).
 * Other kernel sets are added to KERNEL_SETS.
 */
import { getKernel, registerKernel, unregisterKernel, type KernelConfig } from '@tensorflow/tfjs-core';
import { activationConfigs } from './activation.ts';
import { adamUpdateConfig } from './adam-update.ts';
import { conv2dKernelConfigs } from './conv2d-kernels.ts';
import { conv3dKernelConfigs } from './conv3d-kernels.ts';
import { instanceNormConfigs } from './instance-norm.ts';
import { miscKernelConfigs } from './misc-ops.ts';
import { mirrorPadGradConfig } from './mirror-pad-grad.ts';
import { registerGradientFixes } from './op-gradient-fixes.ts';
import { stockKernels as stock, stockWasmKernel } from './util-stock-kernels.ts';

export { stockWasmKernel };

const KERNEL_SETS: readonly (readonly KernelConfig[])[] = [conv2dKernelConfigs, conv3dKernelConfigs, miscKernelConfigs, [adamUpdateConfig], instanceNormConfigs, activationConfigs, [mirrorPadGradConfig]];

export function voxshiftWasmKernels(): KernelConfig[] {
  return KERNEL_SETS.flat();
}

/** Registers every voxshift kernel on 'wasm', replacing stock ones. Idempotent. */
export function registerWasmKernels(): void {
  registerGradientFixes(); // MirrorPad fold, conv3dTranspose gradient (global, after tfjs-core's own)
  for (const config of voxshiftWasmKernels()) {
    const current = getKernel(config.kernelName, 'wasm');
    if (current === config) continue;
    if (!stock.has(config.kernelName)) stock.set(config.kernelName, current);
    if (current !== undefined) unregisterKernel(config.kernelName, 'wasm');
    registerKernel(config);
  }
}

/** Puts the stock wasm kernels back (and removes ours where stock had none). */
export function restoreStockWasmKernels(): void {
  for (const [name, config] of stock) {
    if (getKernel(name, 'wasm') !== undefined) unregisterKernel(name, 'wasm');
    if (config !== undefined) registerKernel(config);
  }
  stock.clear();
}
