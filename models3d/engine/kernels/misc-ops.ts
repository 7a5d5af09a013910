import {
  Identity,
  Slice,
  slice_util,
  util,
  type DataId,
  type KernelConfig,
  type KernelFunc,
  type SliceAttrs,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { VoxshiftError } from '../../../volumes/errors.ts';

/**
 * No-copy Slice and Identity for the wasm backend.
 *
 * The stock kernels copy their whole input. Here Identity shares the input's data (a new reference to
 * the same dataId, as Reshape does), and a Slice that is contiguous in memory becomes a *view*: a new
 * dataId whose memoryOffset points inside the source's heap block. The backend frees a dataId's block
 * with `_free(memoryOffset)`, which would be wrong for a view, so `disposeData` of the backend instance
 * is wrapped (once, on the first view) to keep per-block view counts: a view's disposal never frees,
 * and the block of a source disposed while views are alive is freed when its last view goes. The
 * engine's own accounting (numTensors, numBytes, numDataBuffers) is the same as with copies.
 */

interface WasmModuleInternals {
  _free(ptr: number): void;
}

interface Block {
  views: number;
  ownerGone: boolean;
}

interface ViewState {
  /** view dataId → base address of the heap block it lives in */
  views: Map<DataId, number>;
  /** heap block base address → bookkeeping, only while views of it are alive */
  blocks: Map<number, Block>;
}

const states = new WeakMap<BackendWasm, ViewState>();

function viewState(backend: BackendWasm): ViewState {
  const existing = states.get(backend);
  if (existing !== undefined) return existing;
  const state: ViewState = { views: new Map(), blocks: new Map() };
  const wasm = backend.wasm as unknown as WasmModuleInternals;
  const original = backend.disposeData.bind(backend);

  // Other modules may wrap disposeData too (e.g. caches keyed on a dataId). To keep every wrapper in
  // the chain, disposal always goes through `original`; only the final `_free` of a view, or of a block
  // that views still read, is neutralised by pointing the entry at address 0 (free(NULL) is a no-op).
  backend.disposeData = (dataId: DataId, force = false): boolean => {
    const data = backend.dataIdMap.get(dataId);
    if (data === undefined) return original(dataId, force);
    const final = force || data.refCount <= 1;
    const base = state.views.get(dataId);
    if (base !== undefined) {
      if (final) data.memoryOffset = 0;
      const released = original(dataId, force);
      if (released) {
        state.views.delete(dataId);
        const block = state.blocks.get(base) as Block;
        block.views--;
        if (block.views === 0) {
          state.blocks.delete(base);
          if (block.ownerGone) wasm._free(base);
        }
      }
      return released;
    }
    const block = state.blocks.get(data.memoryOffset);
    if (block !== undefined && !block.ownerGone && final) {
      // Views still read this block: forget the tensor, keep the memory until the last view goes.
      data.memoryOffset = 0;
      const released = original(dataId, force);
      block.ownerGone = released;
      return released;
    }
    return original(dataId, force);
  };
  states.set(backend, state);
  return state;
}

/** Live views and heap blocks kept alive for them (for leak tests and diagnostics). */
export function sliceViewStats(backend: BackendWasm): { views: number; blocks: number; orphanedBlocks: number } {
  const state = states.get(backend);
  if (state === undefined) return { views: 0, blocks: 0, orphanedBlocks: 0 };
  let orphaned = 0;
  for (const b of state.blocks.values()) if (b.ownerGone) orphaned++;
  return { views: state.views.size, blocks: state.blocks.size, orphanedBlocks: orphaned };
}

/** A view of `size` elements starting `elementOffset` elements into `x`'s data. */
function makeView(backend: BackendWasm, x: TensorInfo, elementOffset: number, shape: number[]): TensorInfo {
  const state = viewState(backend);
  const src = backend.dataIdMap.get(x.dataId);
  if (src === undefined) throw new VoxshiftError('INTERNAL', 'Slice input has no data on the wasm backend');
  const base = state.views.get(x.dataId) ?? src.memoryOffset;
  const out = backend.makeOutput(shape, x.dtype, src.memoryOffset + elementOffset * util.bytesPerElement(x.dtype));
  state.views.set(out.dataId, base);
  const block = state.blocks.get(base);
  if (block === undefined) state.blocks.set(base, { views: 1, ownerGone: false });
  else block.views++;
  return out;
}

/**
 * Copies a non-contiguous slice: trailing dimensions taken whole are merged into one run, and one
 * run is copied per position of the leading dimensions.
 */
function sliceCopy(backend: BackendWasm, x: TensorInfo, begin: number[], size: number[]): TensorInfo {
  const rank = x.shape.length;
  const strides = [...util.computeStrides(x.shape), 1];
  let k = rank - 1;
  while (k > 0 && size[k] === x.shape[k]) k--;
  const run = size[k] * strides[k];
  const outer = size.slice(0, k);
  const count = util.sizeFromShape(outer);
  const out = backend.makeOutput(size, x.dtype);
  const starts: number[] = [];
  const idx = outer.map(() => 0);
  for (let i = 0; i < count; i++) {
    let start = begin[k] * strides[k];
    for (let d = 0; d < k; d++) start += (begin[d] + idx[d]) * strides[d];
    starts.push(start);
    for (let d = k - 1; d >= 0; d--) {
      if (++idx[d] < outer[d]) break;
      idx[d] = 0;
    }
  }
  if (x.dtype === 'string') {
    const src = backend.readSync(x.dataId) as Uint8Array[];
    const entry = backend.dataIdMap.get(out.dataId);
    if (entry !== undefined) entry.stringBytes = starts.flatMap((st) => src.slice(st, st + run));
    return out;
  }
  const dst = backend.typedArrayFromHeap(out);
  const src = backend.typedArrayFromHeap(x);
  starts.forEach((st, i) => dst.set(src.subarray(st, st + run), i * run));
  return out;
}

export function sliceNoCopy(args: { inputs: { x: TensorInfo }; backend: BackendWasm; attrs: SliceAttrs }): TensorInfo {
  const { inputs: { x }, backend, attrs: { begin, size } } = args;
  const [begin_, size_] = slice_util.parseSliceParams(x, begin, size);
  const count = util.sizeFromShape(size_);
  if (x.dtype === 'string' || count === 0 || !slice_util.isSliceContinous(x.shape, begin_, size_)) {
    return sliceCopy(backend, x, begin_, size_);
  }
  const flatOffset = slice_util.computeFlatOffset(begin_, util.computeStrides(x.shape));
  if (flatOffset === 0 && count === util.sizeFromShape(x.shape)) {
    backend.incRef(x.dataId);
    return { dataId: x.dataId, shape: size_, dtype: x.dtype };
  }
  return makeView(backend, x, flatOffset, size_);
}

export function identityNoCopy(args: { inputs: { x: TensorInfo }; backend: BackendWasm }): TensorInfo {
  const { inputs: { x }, backend } = args;
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

/** No-copy Slice and Identity on the wasm backend. */
export const miscKernelConfigs: KernelConfig[] = [
  { kernelName: Slice, backendName: 'wasm', kernelFunc: sliceNoCopy as unknown as KernelFunc },
  { kernelName: Identity, backendName: 'wasm', kernelFunc: identityNoCopy as unknown as KernelFunc },
];
