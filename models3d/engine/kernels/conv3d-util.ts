import { util, type DataId, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { VoxshiftError } from '../../../volumes/errors.ts';
import { callWasmKernel, release } from './conv2d-util.ts';


/** A TensorInfo that reads the same data with another shape (no copy, no new reference). */
export function reshaped(info: TensorInfo, shape: number[]): TensorInfo {
  if (util.sizeFromShape(shape) !== util.sizeFromShape(info.shape)) {
    throw new VoxshiftError('INTERNAL', `cannot view shape [${info.shape.join(', ')}] as [${shape.join(', ')}]`);
  }
  return { dataId: info.dataId, shape, dtype: info.dtype };
}

/**
 * Gathers depth slabs of a [N, D, ...] float32 tensor into a new [N·count, ...slab] tensor:
 * output slab (n, j) = input slab (n, source(j)), or zeros where source(j) is outside [0, D).
 * `slabShape` is the shape of one depth slab (e.g. [H, W, C]).
 */
export function gatherDepths(
  backend: BackendWasm,
  x: TensorInfo,
  batch: number,
  depth: number,
  slabShape: number[],
  count: number,
  source: (j: number) => number,
): TensorInfo {
  const slab = util.sizeFromShape(slabShape);
  const out = backend.makeOutput([batch * count, ...slabShape], 'float32');
  // Views are taken after the allocation: a heap growth would detach earlier ones.
  const dst = backend.typedArrayFromHeap(out);
  const src = backend.typedArrayFromHeap(x);
  for (let n = 0; n < batch; n++) {
    for (let j = 0; j < count; j++) {
      const d = source(j);
      const o = (n * count + j) * slab;
      if (d < 0 || d >= depth) {
        dst.fill(0, o, o + slab);
      } else {
        const s = (n * depth + d) * slab;
        dst.set(src.subarray(s, s + slab), o);
      }
    }
  }
  return out;
}

function copyTap(backend: BackendWasm, filter: TensorInfo, t: number, tapShape: number[]): TensorInfo {
  const size = util.sizeFromShape(tapShape);
  const out = backend.makeOutput(tapShape, 'float32');
  const dst = backend.typedArrayFromHeap(out);
  const src = backend.typedArrayFromHeap(filter);
  dst.set(src.subarray(t * size, (t + 1) * size));
  return out;
}

/** filter dataId → (filter shape → its depth taps) */
type TapCache = Map<DataId, Map<string, (TensorInfo | undefined)[]>>;
const tapCaches = new WeakMap<BackendWasm, TapCache>();

function tapCache(backend: BackendWasm): TapCache {
  const existing = tapCaches.get(backend);
  if (existing !== undefined) return existing;
  const cache: TapCache = new Map();
  tapCaches.set(backend, cache);
  const original = backend.disposeData.bind(backend);
  backend.disposeData = (dataId: DataId, force?: boolean): boolean => {
    const released = original(dataId, force);
    const entry = cache.get(dataId);
    if (entry !== undefined && !backend.dataIdMap.has(dataId)) {
      cache.delete(dataId);
      // Through the whole current chain: other wrappers may hold caches keyed on the taps.
      for (const taps of entry.values()) for (const tap of taps) if (tap !== undefined) backend.disposeData(tap.dataId);
    }
    return released;
  };
  return cache;
}

/**
 * Filter tap `t` (the contiguous block W[t] of a [kd, ...tapShape] filter) as its own tensor, kept
 * until the filter's data is freed. The stable dataId lets the 2-D kernels reuse what they cache per
 * filter (XNNPACK's packed weights, flipped sub-filters) across calls. Owned by the cache: do not
 * dispose it.
 */
export function filterTap(backend: BackendWasm, filter: TensorInfo, t: number, tapShape: number[]): TensorInfo {
  const cache = tapCache(backend);
  let byShape = cache.get(filter.dataId);
  if (byShape === undefined) {
    byShape = new Map();
    cache.set(filter.dataId, byShape);
  }
  const key = filter.shape.join('x');
  let taps = byShape.get(key);
  if (taps === undefined) {
    taps = new Array<TensorInfo | undefined>(filter.shape[0]).fill(undefined);
    byShape.set(key, taps);
  }
  const hit = taps[t];
  if (hit !== undefined) return hit;
  const made = copyTap(backend, filter, t, tapShape);
  taps[t] = made;
  return made;
}

/** Running sum that owns its partial results: `add(y)` consumes `y`. */
export class Accumulator {
  private acc: TensorInfo | null = null;

  constructor(private readonly backend: BackendWasm) {}

  add(y: TensorInfo): void {
    if (this.acc === null) {
      this.acc = y;
      return;
    }
    const sum = callWasmKernel('Add', this.backend, { a: this.acc, b: y });
    release(this.backend, this.acc);
    release(this.backend, y);
    this.acc = sum;
  }

  /** Frees the partial sum (on an error path). */
  dispose(): void {
    if (this.acc !== null) release(this.backend, this.acc);
    this.acc = null;
  }

  /** The sum (ownership passes to the caller), or a zero tensor of `shape` when nothing was added. */
  take(shape: number[]): TensorInfo {
    const acc = this.acc;
    this.acc = null;
    if (acc !== null) return acc;
    const zeros = this.backend.makeOutput(shape, 'float32');
    this.backend.typedArrayFromHeap(zeros).fill(0);
    return zeros;
  }
}
