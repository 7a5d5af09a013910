/**
 * Filter transforms (flipped, in/out-swapped stride-phase sub-filters) are built on the JS side once
 * per filter tensor and kept on the wasm heap until that filter's data is freed. Keyed on the filter's
 * dataId: an optimizer step or Variable.assign gives the weights a new dataId, so a stale entry can
 * never be hit; the entry is freed when the backend frees the old data.
 */
import type { DataId, TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { allocF32, f32Offset, heapF32, release } from './conv2d-util.ts';

/** One stride phase of a filter: a stride-1 filter [kh, kw, outC, inC], or null when it has no taps. */
export interface PhaseFilter {
  /** Phase offset inside the original filter (rows py, py+s, …; columns px, px+s, …). */
  py: number;
  px: number;
  kh: number;
  kw: number;
  filter: TensorInfo | null;
}

/** Transforms of one filter, by kind: the tensors they hold on the heap and the value handed out. */
type Entry = Map<string, { tensors: TensorInfo[]; value: unknown }>;

const caches = new WeakMap<BackendWasm, Map<DataId, Entry>>();

function cacheFor(backend: BackendWasm): Map<DataId, Entry> {
  let cache = caches.get(backend);
  if (cache === undefined) {
    const created = new Map<DataId, Entry>();
    cache = created;
    caches.set(backend, created);
    const original = backend.disposeData.bind(backend);
    // Free our transforms as soon as the filter's own data is freed (no wait for GC).
    backend.disposeData = (dataId: DataId, force?: boolean): boolean => {
      const freed = original(dataId, force);
      const entry = created.get(dataId);
      if (entry !== undefined && !backend.dataIdMap.has(dataId)) {
        created.delete(dataId);
        for (const item of entry.values()) for (const t of item.tensors) original(t.dataId);
      }
      return freed;
    };
  }
  return cache;
}

/**
 * Sub-filters for the input gradient with strides (sh, sw): phases[py][px] holds
 * V[j, l, co, ci] = W[py + sh·(kh−1−j), px + sw·(kw−1−l), ci, co] for a filter W [FH, FW, CI, CO].
 */
export function phaseFilters(backend: BackendWasm, filter: TensorInfo, sh: number, sw: number): PhaseFilter[][] {
  return cachedTransform(backend, filter, `phases ${sh}x${sw}`, () => {
    const phases = buildPhaseFilters(backend, filter, sh, sw);
    const tensors = phases.flat().flatMap((p) => (p.filter === null ? [] : [p.filter]));
    return { tensors, value: phases };
  });
}

/**
 * The transform of `filter` named `key`, built by `build` on first use and kept until the filter's
 * data is freed. `build` returns the heap tensors it made (owned by the cache from then on).
 */
export function cachedTransform<T>(
  backend: BackendWasm,
  filter: TensorInfo,
  key: string,
  build: () => { tensors: TensorInfo[]; value: T },
): T {
  const cache = cacheFor(backend);
  let entry = cache.get(filter.dataId);
  if (entry === undefined) {
    entry = new Map();
    cache.set(filter.dataId, entry);
  }
  const hit = entry.get(key);
  if (hit !== undefined) return hit.value as T;
  const built = build();
  entry.set(key, built);
  return built.value;
}

function buildPhaseFilters(backend: BackendWasm, filter: TensorInfo, sh: number, sw: number): PhaseFilter[][] {
  const [fh, fw, ci, co] = filter.shape;
  const phases: PhaseFilter[][] = [];
  const made: TensorInfo[] = [];
  try {
    for (let py = 0; py < sh; py++) {
      const row: PhaseFilter[] = [];
      for (let px = 0; px < sw; px++) {
        const kh = py < fh ? Math.ceil((fh - py) / sh) : 0;
        const kw = px < fw ? Math.ceil((fw - px) / sw) : 0;
        if (kh === 0 || kw === 0) {
          row.push({ py, px, kh, kw, filter: null });
          continue;
        }
        const out = allocF32(backend, [kh, kw, co, ci]);
        made.push(out);
        const heap = heapF32(backend);
        const src = f32Offset(backend, filter.dataId);
        const dst = f32Offset(backend, out.dataId);
        for (let j = 0; j < kh; j++) {
          const r = py + sh * (kh - 1 - j);
          for (let l = 0; l < kw; l++) {
            const c = px + sw * (kw - 1 - l);
            const s0 = src + (r * fw + c) * ci * co;
            const d0 = dst + (j * kw + l) * co * ci;
            for (let o = 0; o < co; o++) {
              const d = d0 + o * ci;
              for (let i = 0; i < ci; i++) heap[d + i] = heap[s0 + i * co + o];
            }
          }
        }
        row.push({ py, px, kh, kw, filter: out });
      }
      phases.push(row);
    }
  } catch (error) {
    release(backend, ...made);
    throw error;
  }
  return phases;
}

/** Number of filter tensors whose transforms are cached (for leak tests). */
export function cachedFilterCount(backend: BackendWasm): number {
  return caches.get(backend)?.size ?? 0;
}
