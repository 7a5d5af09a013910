import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { miscKernelConfigs, sliceViewStats } from '../../../models3d/engine/kernels/misc-ops.ts';
import { initBothBackends, randomValues } from './conv3d-helpers.ts';

function wasmBackend(): BackendWasm {
  return tf.backend() as unknown as BackendWasm;
}

function offsetOf(t: tf.Tensor): number {
  return wasmBackend().dataIdMap.get(t.dataId)?.memoryOffset ?? -1;
}

/** Reference slice computed in JS. */
function sliceRef(vals: Float32Array, shape: number[], begin: number[], size: number[]): Float32Array {
  return tf.tidy(() => {
    const buf = tf.buffer(shape, 'float32', vals);
    const out = tf.buffer(size, 'float32');
    for (let i = 0; i < out.size; i++) {
      const loc = out.indexToLoc(i);
      out.values[i] = buf.get(...loc.map((v, k) => v + begin[k]));
    }
    return out.values as Float32Array;
  });
}

describe('no-copy Slice and Identity on wasm', () => {
  beforeAll(initBothBackends);

  it('is registered on wasm by initBackend', () => {
    for (const c of miscKernelConfigs) expect(tf.getKernel(c.kernelName, 'wasm')).toBe(c);
  });
  afterEach(() => {
    expect(sliceViewStats(wasmBackend())).toEqual({ views: 0, blocks: 0, orphanedBlocks: 0 });
  });

  const shape = [3, 4, 5, 6];
  const vals = randomValues(3 * 4 * 5 * 6, 5);

  it.each([
    { begin: [1, 0, 0, 0], size: [2, 4, 5, 6], view: true },
    { begin: [2, 1, 0, 0], size: [1, 2, 5, 6], view: true },
    { begin: [1, 2, 3, 0], size: [1, 1, 2, 6], view: true },
    { begin: [0, 1, 0, 0], size: [3, 2, 5, 6], view: false },
    { begin: [1, 0, 0, 2], size: [1, 4, 5, 3], view: false },
    { begin: [0, 0, 0, 0], size: [3, 4, 5, 6], view: true },
  ])('slices %o correctly, sharing memory exactly when contiguous', ({ begin, size, view }) => {
    const x = tf.tensor(vals, shape);
    const y = tf.slice(x, begin, size);
    expect(Array.from(y.dataSync())).toEqual(Array.from(sliceRef(vals, shape, begin, size)));
    const start = offsetOf(x);
    const end = start + vals.length * 4;
    const shares = offsetOf(y) >= start && offsetOf(y) < end;
    expect(shares).toBe(view);
    tf.dispose([x, y]);
  });

  it.each([
    { shape: [2, 3, 4, 5, 2], begin: [0, 1, 1, 0, 0], size: [2, 2, 3, 5, 2] },
    { shape: [2, 3, 4, 5, 2], begin: [1, 0, 2, 1, 1], size: [1, 3, 2, 3, 1] },
    { shape: [5, 7], begin: [1, 2], size: [3, 4] },
    { shape: [5, 7], begin: [1, 2], size: [0, 4] },
  ])('copies non-contiguous slices of any rank correctly: %o', ({ shape: sh, begin, size }) => {
    const v = randomValues(tf.util.sizeFromShape(sh), 17);
    const x = tf.tensor(v, sh);
    const y = tf.slice(x, begin, size);
    expect(y.shape).toEqual(size);
    expect(Array.from(y.dataSync())).toEqual(Array.from(sliceRef(v, sh, begin, size)));
    tf.dispose([x, y]);
  });

  it('views feed other wasm kernels (Add, Conv2D) with the right data', () => {
    const x = tf.tensor(vals, shape);
    const w = tf.tensor(randomValues(3 * 3 * 6 * 2, 9), [3, 3, 6, 2]) as tf.Tensor4D;
    const view = tf.slice(x, [1, 0, 0, 0], [2, 4, 5, 6]);
    const copy = tf.tensor(sliceRef(vals, shape, [1, 0, 0, 0], [2, 4, 5, 6]), [2, 4, 5, 6]) as tf.Tensor4D;
    const a = tf.conv2d(view as tf.Tensor4D, w, 1, 'same');
    const b = tf.conv2d(copy, w, 1, 'same');
    expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
    const s = tf.add(view, view);
    expect(Array.from(s.dataSync())).toEqual(Array.from(copy.dataSync()).map((v) => v + v));
    tf.dispose([x, w, view, copy, a, b, s]);
  });

  it('a view stays valid when its source is disposed first, and the block is freed with the last view', () => {
    const backend = wasmBackend();
    const free = vi.spyOn(backend.wasm as unknown as { _free(p: number): void }, '_free');
    const x = tf.tensor(vals, shape);
    const base = offsetOf(x);
    const v1 = tf.slice(x, [1, 0, 0, 0], [1, 4, 5, 6]);
    const v2 = tf.slice(v1, [0, 1, 0, 0], [1, 2, 5, 6]); // a view of a view
    x.dispose();
    expect(free).not.toHaveBeenCalledWith(base);
    expect(sliceViewStats(backend)).toEqual({ views: 2, blocks: 1, orphanedBlocks: 1 });
    // New allocations must not land on the still-used block.
    const junk = Array.from({ length: 20 }, () => tf.fill([3, 4, 5, 6], 123));
    expect(Array.from(v1.dataSync())).toEqual(Array.from(sliceRef(vals, shape, [1, 0, 0, 0], [1, 4, 5, 6])));
    expect(Array.from(v2.dataSync())).toEqual(Array.from(sliceRef(vals, shape, [1, 1, 0, 0], [1, 2, 5, 6])));
    v1.dispose();
    expect(free).not.toHaveBeenCalledWith(base);
    v2.dispose();
    expect(free).toHaveBeenCalledWith(base);
    tf.dispose(junk);
    free.mockRestore();
  });

  it('keeps other disposeData wrappers in the chain (views and orphaned owners pass through them)', () => {
    const backend = wasmBackend();
    const x = tf.tensor(vals, shape);
    const v = tf.slice(x, [1, 0, 0, 0], [1, 4, 5, 6]); // installs the view bookkeeping first
    const inner = backend.disposeData.bind(backend);
    const seen: { dataId: object; released: boolean }[] = [];
    backend.disposeData = (dataId: object, force?: boolean): boolean => {
      const released = inner(dataId, force);
      seen.push({ dataId, released });
      return released;
    };
    try {
      x.dispose();
      const w = tf.slice(v, [0, 2, 0, 0], [1, 1, 5, 6]);
      v.dispose();
      expect(Array.from(w.dataSync())).toEqual(Array.from(sliceRef(vals, shape, [1, 2, 0, 0], [1, 1, 5, 6])));
      w.dispose();
      expect(seen.map((e) => e.released)).toEqual([true, true, true]);
      expect(seen.map((e) => e.dataId)).toEqual([x.dataId, v.dataId, w.dataId]);
    } finally {
      backend.disposeData = inner;
    }
  });

  it('Identity shares the data and clone survives disposal of the original', () => {
    const x = tf.tensor(vals, shape);
    const y = tf.clone(x);
    expect(y.dataId).toBe(x.dataId);
    x.dispose();
    expect(Array.from(y.dataSync())).toEqual(Array.from(vals));
    y.dispose();
  });

  it('is leak-free across repeated slice / identity / gradient calls', () => {
    const backend = wasmBackend();
    const x = tf.tensor(vals, shape);
    const step = (): void => {
      tf.tidy(() => {
        const a = tf.slice(x, [1, 0, 0, 0], [2, 4, 5, 6]);
        const b = tf.clone(a);
        const c = tf.slice(b, [0, 0, 1, 0], [2, 4, 3, 6]);
        const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.slice(t, [2, 0, 0, 0], [1, 4, 5, 6]), 2)))(x);
        return [tf.add(c, 1), g];
      }).forEach((t) => t.dispose());
    };
    step();
    const before = { ...tf.memory(), ids: backend.numDataIds() };
    for (let i = 0; i < 5; i++) step();
    expect(tf.memory().numTensors).toBe(before.numTensors);
    expect(tf.memory().numBytes).toBe(before.numBytes);
    expect(backend.numDataIds()).toBe(before.ids);
    x.dispose();
  });

  it('string and bool tensors still slice correctly', () => {
    const s = tf.tensor(['a', 'b', 'c', 'd'], [2, 2]);
    const ss = tf.slice(s, [1, 0], [1, 2]);
    expect(ss.arraySync()).toEqual([['c', 'd']]);
    const sc = tf.slice(s, [0, 1], [2, 1]);
    expect(sc.arraySync()).toEqual([['b'], ['d']]);
    const si = tf.clone(s);
    expect(si.arraySync()).toEqual([['a', 'b'], ['c', 'd']]);
    tf.dispose([sc, si]);
    const b = tf.tensor([true, false, true, true], [2, 2], 'bool');
    const bs = tf.slice(b, [1, 0], [1, 2]);
    expect(Array.from(bs.dataSync())).toEqual([1, 1]);
    tf.dispose([s, ss, b, bs]);
  });
});
