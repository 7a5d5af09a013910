/** The CycleGAN image buffer: fill phase, 50/50 mixing, copies, pass-through and state round trip. */
import { describe, expect, it } from 'vitest';
import { ImagePool } from '../../../models3d/data/image-pool.ts';
import { createRng } from '../../../volumes/random.ts';
import { thrown } from './fixtures.ts';

const ITEM = [2, 2, 1];
/** A batch of items whose 4 values are all `ids[t]`. */
const batchOf = (...ids: number[]): Float32Array => Float32Array.from(ids.flatMap((id) => [id, id, id, id]));
const idsOf = (out: Float32Array): number[] => {
  const ids: number[] = [];
  for (let t = 0; t < out.length; t += 4) {
    expect(new Set(out.subarray(t, t + 4)).size).toBe(1);
    ids.push(out[t]);
  }
  return ids;
};
const stored = (pool: ImagePool): number[] => pool.getState().items.map((x) => x[0]);

describe('ImagePool', () => {
  it('returns the first `size` items unchanged while filling', () => {
    const pool = new ImagePool(3, ITEM);
    const rng = createRng(1);
    expect(idsOf(pool.query(batchOf(1, 2), rng))).toEqual([1, 2]);
    expect(pool.count).toBe(2);
    // the third item fills the pool and is returned; the fourth is already subject to mixing
    const out = idsOf(pool.query(batchOf(3), rng));
    expect(out).toEqual([3]);
    expect(stored(pool)).toEqual([1, 2, 3]);
  });

  it('once full, returns either the new item or a stored one it replaces, about half each', () => {
    const pool = new ImagePool(5, ITEM);
    const rng = createRng(2);
    pool.query(batchOf(1, 2, 3, 4, 5), rng);
    let swapped = 0;
    const total = 400;
    for (let id = 6; id < 6 + total; id++) {
      const before = stored(pool);
      const [out] = idsOf(pool.query(batchOf(id), rng));
      const after = stored(pool);
      if (out === id) {
        expect(after).toEqual(before);
      } else {
        swapped++;
        const slot = before.indexOf(out);
        expect(slot).toBeGreaterThanOrEqual(0);
        const expected = [...before];
        expected[slot] = id;
        expect(after).toEqual(expected);
      }
    }
    expect(swapped / total).toBeGreaterThan(0.4);
    expect(swapped / total).toBeLessThan(0.6);
  });

  it('handles batches of several items in order and stores copies', () => {
    const pool = new ImagePool(2, ITEM);
    const input = batchOf(7, 8, 9);
    const out = pool.query(input, createRng(3));
    expect(out).not.toBe(input);
    const ids = idsOf(out);
    expect(ids.slice(0, 2)).toEqual([7, 8]);
    expect([9, 7, 8]).toContain(ids[2]);
    input.fill(-5);
    expect(stored(pool).every((x) => x !== -5)).toBe(true);
    const state = pool.getState();
    state.items[0].fill(42);
    expect(stored(pool)).not.toContain(42);
  });

  it('size 0 passes the batch through', () => {
    const pool = new ImagePool(0, ITEM);
    const b = batchOf(1, 2);
    expect(pool.query(b, createRng(1))).toBe(b);
    expect(pool.getState().items).toEqual([]);
  });

  it('state round trip: a restored pool continues exactly like the original', () => {
    const a = new ImagePool(4, ITEM);
    const r = createRng(9);
    for (let id = 1; id < 12; id++) a.query(batchOf(id), r);
    const b = new ImagePool(4, ITEM);
    b.setState(a.getState());
    expect(b.getState()).toEqual(a.getState());
    const ra = createRng(10);
    const rb = createRng(10);
    for (let id = 20; id < 40; id++) expect(b.query(batchOf(id, id + 100), rb)).toEqual(a.query(batchOf(id, id + 100), ra));
  });

  it('validates shapes, sizes and restored state', () => {
    expect(thrown(() => new ImagePool(-1, ITEM)).param).toBe('size');
    expect(thrown(() => new ImagePool(2, [2, 0])).param).toBe('itemShape');
    const pool = new ImagePool(2, ITEM);
    expect(thrown(() => pool.query(new Float32Array(6), createRng(1))).param).toBe('batch');
    const other = new ImagePool(2, [4, 1, 1]);
    expect(thrown(() => pool.setState(other.getState())).shortCode).toBe('INCOMPATIBLE_CHECKPOINT');
    expect(thrown(() => pool.setState({ size: 3, itemShape: ITEM, items: [] })).shortCode).toBe('INCOMPATIBLE_CHECKPOINT');
    expect(thrown(() => pool.setState({ size: 2, itemShape: ITEM, items: [new Float32Array(3)] })).shortCode).toBe('CORRUPT_CHECKPOINT');
    expect(thrown(() => pool.setState({ size: 2, itemShape: ITEM, items: [new Float32Array(4), new Float32Array(4), new Float32Array(4)] })).shortCode).toBe(
      'CORRUPT_CHECKPOINT',
    );
  });
});
