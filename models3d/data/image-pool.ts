/**
 * The CycleGAN image buffer (Shrivastava et al. 2017; the reference implementation's ImagePool, size
 * 50): the discriminators see a mix of current and earlier generated images, which damps
 * oscillation. Items are copied in and out, so callers may reuse their arrays.
 */
import { VoxshiftError } from '../../volumes/errors.ts';
import type { Rng } from '../../volumes/random.ts';

export interface ImagePoolState {
  size: number;
  itemShape: number[];
  items: Float32Array[];
}

function checkShape(itemShape: unknown, param: string): number[] {
  if (!Array.isArray(itemShape) || itemShape.length === 0 || !itemShape.every((n) => Number.isInteger(n) && n > 0)) {
    throw new VoxshiftError('INVALID_ARGUMENT', `${param} must be a non-empty array of positive integers, got ${JSON.stringify(itemShape)}`, {
      param,
    });
  }
  return [...(itemShape as number[])];
}

export class ImagePool {
  readonly size: number;
  /** Shape of one item (one batch element, e.g. [H, W, 1]). */
  readonly itemShape: readonly number[];
  private readonly itemSize: number;
  private items: Float32Array[] = [];

  constructor(size: number, itemShape: number[]) {
    if (!Number.isInteger(size) || size < 0) {
      throw new VoxshiftError('INVALID_ARGUMENT', `pool size must be an integer >= 0 (0 = no pool), got ${JSON.stringify(size)}`, {
        param: 'size',
      });
    }
    this.size = size;
    this.itemShape = Object.freeze(checkShape(itemShape, 'itemShape'));
    this.itemSize = this.itemShape.reduce((p, n) => p * n, 1);
  }

  /** Number of items stored so far. */
  get count(): number {
    return this.items.length;
  }

  /**
   * Per item of `batch` (a whole number of items, item-major): while the pool is not full, store a
   * copy and return the item; once full, with p = 0.5 return a stored item drawn uniformly and store
   * the new one in its place, else return the new item. Size 0 returns `batch` itself.
   */
  query(batch: Float32Array, rng: Rng): Float32Array {
    if (!(batch instanceof Float32Array) || batch.length === 0 || batch.length % this.itemSize !== 0) {
      throw new VoxshiftError(
        'INVALID_ARGUMENT',
        `batch must be a Float32Array of a whole number of items of shape [${this.itemShape.join(', ')}] (${this.itemSize} values each), got ${
          batch instanceof Float32Array ? `${batch.length} values` : typeof batch
        }`,
        { param: 'batch' },
      );
    }
    if (this.size === 0) return batch;
    if (typeof rng !== 'function') {
      throw new VoxshiftError('INVALID_ARGUMENT', 'rng must be a function returning numbers in [0, 1) (see createRng)', { param: 'rng' });
    }
    const out = new Float32Array(batch.length);
    const n = batch.length / this.itemSize;
    for (let t = 0; t < n; t++) {
      const from = t * this.itemSize;
      const item = batch.slice(from, from + this.itemSize);
      if (this.items.length < this.size) {
        this.items.push(item);
        out.set(item, from);
      } else if (rng() < 0.5) {
        const r = Math.min(this.size - 1, Math.floor(rng() * this.size));
        out.set(this.items[r], from);
        this.items[r] = item;
      } else {
        out.set(item, from);
      }
    }
    return out;
  }

  /** A copy of the pool, for checkpoints. */
  getState(): ImagePoolState {
    return { size: this.size, itemShape: [...this.itemShape], items: this.items.map((x) => x.slice()) };
  }

  /** Restores a getState() result; the size and item shape must be this pool's. */
  setState(state: ImagePoolState): void {
    if (state === null || typeof state !== 'object') {
      throw new VoxshiftError('CORRUPT_CHECKPOINT', `image pool state must be an object, got ${JSON.stringify(state)}`, { param: 'state' });
    }
    const shape = checkShape(state.itemShape, 'state.itemShape');
    if (state.size !== this.size || shape.length !== this.itemShape.length || shape.some((n, i) => n !== this.itemShape[i])) {
      throw new VoxshiftError(
        'INCOMPATIBLE_CHECKPOINT',
        `image pool state has size ${JSON.stringify(state.size)} and item shape [${shape.join(', ')}], this pool has size ${this.size} and item shape [${this.itemShape.join(', ')}]`,
        { param: 'state', details: { size: state.size, itemShape: shape } },
      );
    }
    if (!Array.isArray(state.items) || state.items.length > this.size) {
      throw new VoxshiftError('CORRUPT_CHECKPOINT', `image pool state must hold at most ${this.size} items, got ${Array.isArray(state.items) ? state.items.length : typeof state.items}`, {
        param: 'state.items',
      });
    }
    state.items.forEach((x, i) => {
      if (!(x instanceof Float32Array) || x.length !== this.itemSize) {
        throw new VoxshiftError('CORRUPT_CHECKPOINT', `image pool state.items[${i}] must be a Float32Array of ${this.itemSize} values, got ${x instanceof Float32Array ? x.length : typeof x}`, {
          param: `state.items[${i}]`,
        });
      }
    });
    this.items = state.items.map((x) => x.slice());
  }
}
