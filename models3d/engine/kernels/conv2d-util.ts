/**
 * Small helpers for kernels that compose the wasm backend's own kernels. Every TensorInfo a helper
 * returns is owned by the caller, who must either return it from the kernel or `release` it.
 */
import { getKernel, util, type DataId, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { VoxshiftError } from '../../../volumes/errors.ts';

/**
 * Runs whatever kernel is registered for `name` on wasm now: looked up per call, not at import, so
 * faster kernels registered later (ours replacing stock ones) are picked up.
 */
export function callWasmKernel(
  name: string,
  backend: BackendWasm,
  inputs: Record<string, TensorInfo>,
  attrs: NamedAttrMap = {},
): TensorInfo {
  const config = getKernel(name, 'wasm');
  if (config === undefined) {
    throw new VoxshiftError('BACKEND_UNAVAILABLE', `kernel '${name}' is not registered on the wasm backend`, { details: { kernel: name } });
  }
  const out = config.kernelFunc({ inputs, backend, attrs });
  if (Array.isArray(out)) throw new VoxshiftError('INTERNAL', `kernel '${name}' returned several outputs where one was expected`);
  return out;
}

export function release(backend: BackendWasm, ...infos: Array<TensorInfo | undefined>): void {
  for (const info of infos) if (info !== undefined) backend.disposeData(info.dataId);
}

/**
 * The same data seen with another shape. It takes a reference of its own, so it is released like
 * any other intermediate (and may be returned from a kernel).
 */
export function viewAs(backend: BackendWasm, info: TensorInfo, shape: number[]): TensorInfo {
  if (util.sizeFromShape(shape) !== util.sizeFromShape(info.shape)) {
    throw new Error(`voxshift engine: cannot view shape [${info.shape.join(',')}] as [${shape.join(',')}]`);
  }
  backend.incRef(info.dataId);
  return { dataId: info.dataId, shape, dtype: info.dtype };
}

/** Transpose through the wasm kernel; a permutation that moves no data becomes a view. */
export function transposeWasm(backend: BackendWasm, x: TensorInfo, perm: number[]): TensorInfo {
  const shape = perm.map((p) => x.shape[p]);
  const moved = perm.filter((p) => x.shape[p] !== 1);
  if (moved.every((p, i) => i === 0 || p > moved[i - 1])) return viewAs(backend, x, shape);
  return callWasmKernel('Transpose', backend, { x }, { perm });
}

/** A new float32 tensor on the wasm heap (contents undefined). */
export function allocF32(backend: BackendWasm, shape: number[]): TensorInfo {
  return backend.makeOutput(shape, 'float32');
}

/** The whole wasm heap as float32, re-read after every allocation (the heap can grow and move). */
export function heapF32(backend: BackendWasm): Float32Array {
  const wasm = backend.wasm as unknown as { HEAPU8: Uint8Array; wasmMemory?: { buffer: ArrayBufferLike } };
  // With threads the memory is shared and may have been grown by a worker: read the live buffer.
  return new Float32Array(wasm.wasmMemory?.buffer ?? wasm.HEAPU8.buffer);
}

/** Offset of a float32 tensor's first element in `heapF32()`. */
export function f32Offset(backend: BackendWasm, dataId: DataId): number {
  const data = backend.dataIdMap.get(dataId);
  if (data === undefined || data.memoryOffset === null) throw new Error('voxshift engine: tensor is not on the wasm heap');
  return data.memoryOffset / 4;
}

export function zerosWasm(backend: BackendWasm, shape: number[]): TensorInfo {
  const out = allocF32(backend, shape);
  const start = f32Offset(backend, out.dataId);
  heapF32(backend).fill(0, start, start + util.sizeFromShape(shape));
  return out;
}

/** Accepts 'NHWC' (the tfjs default) only; other layouts are not used by voxshift. */
export function assertNhwc(kernel: string, dataFormat: unknown): void {
  if (dataFormat !== undefined && dataFormat !== 'NHWC' && dataFormat !== 'channelsLast') {
    throw new Error(`voxshift engine: ${kernel} on wasm supports dataFormat 'NHWC' only; received '${String(dataFormat)}'`);
  }
}
