/**
 * Intensity statistics, histograms and the non-finite check.
 *
 * Non-finite voxels (NaN, ±Inf) are left out of every statistic and counted in `nonFinite`;
 * use assertFinite to reject them. Masks select voxels where the mask (channel 0) is non-zero; a
 * multi-channel volume pools all its channels, the mask applying to each.
 *
 * Percentiles use numpy's default ('linear') definition: with the selected values sorted as
 * v[0..N−1] and h = (N − 1)·p/100, P(p) = v[⌊h⌋] + (h − ⌊h⌋)·(v[⌊h⌋+1] − v[⌊h⌋]). The order
 * statistics are found exactly, never approximated:
 * - integer dtypes with a value range up to 2^22: one counting pass (O(N));
 * - otherwise: a 65 536-bin histogram over [min, max] with each bin's min and max, then only the
 *   bins holding a requested rank (and whose min ≠ max) are gathered and sorted. Results are the
 *   exact order statistics; only the final interpolation is rounded (double precision).
 */
import { VoxshiftError } from './errors.ts';
import { dtypeOf } from './volume.ts';
import type { Volume, VoxelArray } from './volume.ts';

export type Mask = VoxelArray | { data: VoxelArray };

export interface IntensityStats {
  min: number;
  max: number;
  mean: number;
  /** Population standard deviation (numpy's default ddof = 0). */
  std: number;
  /** Number of finite selected values. */
  count: number;
  /** Number of selected values that were NaN or ±Inf (excluded from everything else). */
  nonFinite: number;
  /** Percentiles (p in [0, 100]) of the selected finite values; see the file comment. */
  percentiles(p: readonly number[]): number[];
}

type Source = Pick<Volume, 'data' | 'shape' | 'channels'>;

function maskArray(vol: Source, mask: Mask | undefined): VoxelArray | null {
  if (mask === undefined) return null;
  const m = 'data' in mask && !ArrayBuffer.isView(mask) ? mask.data : (mask as VoxelArray);
  const n = vol.shape[0] * vol.shape[1] * vol.shape[2];
  if (!ArrayBuffer.isView(m) || m.length < n || m.length % n !== 0) {
    throw new VoxshiftError('INVALID_ARGUMENT', `mask must have ${n} voxels (the volume's shape), got ${ArrayBuffer.isView(m) ? m.length : typeof m}`, {
      param: 'mask',
    });
  }
  return m;
}

const INTEGER_DTYPES = new Set(['uint8', 'int8', 'uint16', 'int16', 'uint32', 'int32']);
const FLOAT_BINS = 65536;

/** min, max, mean, std and lazily-computed exact percentiles of the (masked, finite) voxels. */
export function intensityStats(vol: Source, mask?: Mask): IntensityStats {
  const m = maskArray(vol, mask);
  const data = vol.data;
  const n = vol.shape[0] * vol.shape[1] * vol.shape[2];
  let count = 0;
  let nonFinite = 0;
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (let ch = 0; ch < vol.channels; ch++) {
    const off = ch * n;
    for (let p = 0; p < n; p++) {
      if (m !== null && m[p] === 0) continue;
      const v = data[off + p];
      if (v - v !== 0) {
        nonFinite++;
        continue;
      }
      count++;
      sum += v;
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  const mean = count > 0 ? sum / count : NaN;
  let ss = 0;
  for (let ch = 0; ch < vol.channels && count > 0; ch++) {
    const off = ch * n;
    for (let p = 0; p < n; p++) {
      if (m !== null && m[p] === 0) continue;
      const v = data[off + p];
      if (v - v !== 0) continue;
      ss += (v - mean) * (v - mean);
    }
  }
  const std = count > 0 ? Math.sqrt(ss / count) : NaN;

  const isInt = INTEGER_DTYPES.has(dtypeOf(data)) && max - min <= 2 ** 22;
  let intCum: Float64Array | null = null;
  const orderStats = (ranks: number[]): number[] => {
    if (min === max) return ranks.map(() => min);
    if (isInt) {
      if (intCum === null) {
        const counts = new Float64Array(max - min + 1);
        for (let ch = 0; ch < vol.channels; ch++) {
          const off = ch * n;
          for (let p = 0; p < n; p++) {
            if (m !== null && m[p] === 0) continue;
            counts[data[off + p] - min]++;
          }
        }
        for (let b = 1; b < counts.length; b++) counts[b] += counts[b - 1];
        intCum = counts;
      }
      const cum = intCum;
      return ranks.map((r) => min + upperBound(cum, r));
    }
    return floatOrderStats(vol, m, min, max, ranks);
  };

  return {
    min: count > 0 ? min : NaN,
    max: count > 0 ? max : NaN,
    mean,
    std,
    count,
    nonFinite,
    percentiles(ps: readonly number[]): number[] {
      for (const p of ps) {
        if (!(p >= 0 && p <= 100)) {
          throw new VoxshiftError('INVALID_ARGUMENT', `percentiles must be in [0, 100], got ${p}`, { param: 'p' });
        }
      }
      if (count === 0) return ps.map(() => NaN);
      const hs = ps.map((p) => ((count - 1) * p) / 100);
      const ranks = new Set<number>();
      for (const h of hs) {
        ranks.add(Math.floor(h));
        ranks.add(Math.min(count - 1, Math.floor(h) + 1));
      }
      const sorted = [...ranks].sort((a, b) => a - b);
      const values = orderStats(sorted);
      const at = new Map(sorted.map((r, i) => [r, values[i]]));
      return hs.map((h) => {
        const lo = Math.floor(h);
        const a = at.get(lo) as number;
        const b = at.get(Math.min(count - 1, lo + 1)) as number;
        const f = h - lo;
        return f === 0 ? a : a + f * (b - a);
      });
    },
  };
}

/** Smallest b with cum[b] > r (cum is the inclusive cumulative count). */
function upperBound(cum: Float64Array, r: number): number {
  let lo = 0;
  let hi = cum.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cum[mid] > r) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

function floatOrderStats(vol: Source, m: VoxelArray | null, min: number, max: number, ranks: number[]): number[] {
  const data = vol.data;
  const n = vol.shape[0] * vol.shape[1] * vol.shape[2];
  const B = FLOAT_BINS;
  const scale = B / (max - min);
  const counts = new Float64Array(B);
  const bmin = new Float64Array(B).fill(Infinity);
  const bmax = new Float64Array(B).fill(-Infinity);
  for (let ch = 0; ch < vol.channels; ch++) {
    const off = ch * n;
    for (let p = 0; p < n; p++) {
      if (m !== null && m[p] === 0) continue;
      const v = data[off + p];
      if (v - v !== 0) continue;
      let b = Math.floor((v - min) * scale);
      if (b >= B) b = B - 1;
      counts[b]++;
      if (v < bmin[b]) bmin[b] = v;
      if (v > bmax[b]) bmax[b] = v;
    }
  }
  const cum = new Float64Array(B);
  let acc = 0;
  for (let b = 0; b < B; b++) {
    acc += counts[b];
    cum[b] = acc;
  }
  const out = new Array<number>(ranks.length);
  const need = new Map<number, Float64Array>();
  const pending: [number, number, number][] = [];
  ranks.forEach((r, idx) => {
    const b = upperBound(cum, r);
    if (bmin[b] === bmax[b]) out[idx] = bmin[b];
    else {
      if (!need.has(b)) need.set(b, new Float64Array(counts[b]));
      pending.push([idx, b, r - (b > 0 ? cum[b - 1] : 0)]);
    }
  });
  if (pending.length > 0) {
    const fill = new Map<number, number>([...need.keys()].map((b) => [b, 0]));
    const needed = new Uint8Array(B);
    for (const b of need.keys()) needed[b] = 1;
    for (let ch = 0; ch < vol.channels; ch++) {
      const off = ch * n;
      for (let p = 0; p < n; p++) {
        if (m !== null && m[p] === 0) continue;
        const v = data[off + p];
        if (v - v !== 0) continue;
        let b = Math.floor((v - min) * scale);
        if (b >= B) b = B - 1;
        if (needed[b] === 0) continue;
        const arr = need.get(b) as Float64Array;
        const f = fill.get(b) as number;
        arr[f] = v;
        fill.set(b, f + 1);
      }
    }
    for (const arr of need.values()) arr.sort();
    for (const [idx, b, within] of pending) out[idx] = (need.get(b) as Float64Array)[within];
  }
  return out;
}

export interface Histogram {
  /** Counts per bin (numbers, so counts beyond 2^32 stay exact). */
  counts: Float64Array;
  /** bins + 1 edges; bin b is [edges[b], edges[b+1]), the last bin also includes its right edge (numpy). */
  edges: Float64Array;
  range: [number, number];
}

/**
 * Equal-width histogram of the (masked, finite) voxels over `range` (default [min, max], widened to
 * [v − 0.5, v + 0.5] for a constant image, as numpy does); values outside the range are ignored.
 */
export function histogram(vol: Source, bins: number, range?: readonly [number, number], mask?: Mask): Histogram {
  if (!Number.isInteger(bins) || bins < 1 || bins > 2 ** 24) {
    throw new VoxshiftError('INVALID_ARGUMENT', `bins must be an integer in 1..${2 ** 24}, got ${bins}`, { param: 'bins' });
  }
  let lo: number;
  let hi: number;
  if (range) {
    [lo, hi] = range;
    if (!(Number.isFinite(lo) && Number.isFinite(hi) && hi > lo)) {
      throw new VoxshiftError('INVALID_ARGUMENT', `range must be two finite numbers with low < high, got [${range.join(', ')}]`, {
        param: 'range',
      });
    }
  } else {
    const s = intensityStats(vol, mask);
    if (s.count === 0) {
      lo = 0;
      hi = 1;
    } else {
      lo = s.min;
      hi = s.max;
    }
    if (lo === hi) {
      lo -= 0.5;
      hi += 0.5;
    }
  }
  const m = maskArray(vol, mask);
  const counts = new Float64Array(bins);
  const data = vol.data;
  const n = vol.shape[0] * vol.shape[1] * vol.shape[2];
  const scale = bins / (hi - lo);
  for (let ch = 0; ch < vol.channels; ch++) {
    const off = ch * n;
    for (let p = 0; p < n; p++) {
      if (m !== null && m[p] === 0) continue;
      const v = data[off + p];
      if (!(v >= lo && v <= hi)) continue;
      let b = Math.floor((v - lo) * scale);
      if (b >= bins) b = bins - 1;
      counts[b]++;
    }
  }
  const edges = new Float64Array(bins + 1);
  for (let b = 0; b <= bins; b++) edges[b] = lo + ((hi - lo) * b) / bins;
  edges[bins] = hi;
  return { counts, edges, range: [lo, hi] };
}

/**
 * Throws VOXSHIFT_E_NON_FINITE_VALUES when any voxel is NaN or ±Inf, with the count and the first
 * offending voxel (linear index, [i, j, k], channel). Integer volumes pass without a scan.
 */
export function assertFinite(vol: Source & { meta?: { source?: string } }, param = 'volume'): void {
  const data = vol.data;
  if (!(data instanceof Float32Array || data instanceof Float64Array)) return;
  let count = 0;
  let first = -1;
  for (let p = 0; p < data.length; p++) {
    const v = data[p];
    if (v - v !== 0) {
      if (first < 0) first = p;
      count++;
    }
  }
  if (count === 0) return;
  const [nx, ny, nz] = vol.shape;
  const n = nx * ny * nz;
  const within = first % n;
  const voxel = [within % nx, Math.floor(within / nx) % ny, Math.floor(within / (nx * ny))];
  throw new VoxshiftError(
    'NON_FINITE_VALUES',
    `${param} has ${count} non-finite value(s) (NaN or ±Inf); first at index ${first} (voxel [${voxel.join(', ')}], channel ${Math.floor(first / n)}) = ${data[first]}`,
    {
      param,
      ...(vol.meta?.source !== undefined ? { file: vol.meta.source } : {}),
      details: { count, firstIndex: first, firstVoxel: voxel, channel: Math.floor(first / n), firstValue: String(data[first]) },
    },
  );
}
