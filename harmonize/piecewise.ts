/**
 * Exact quantiles of a sample and the monotone piecewise-linear intensity maps that Nyúl–Udupa and
 * histogram matching apply: landmarks x (an image's quantiles) → y (the standard scale).
 *
 * Quantiles use numpy's default ('linear') definition on the sorted sample. Between landmarks the
 * map is linear; below the first and above the last landmark it continues with the slope of the
 * whole map, (y_last − y_first)/(x_last − x_first), so the tails (background, the brightest voxels)
 * are neither clipped nor stretched by one steep end segment.
 */
import { VoxshiftError } from '../volumes/errors.ts';

/** Sorted copy (ascending) of `values`. */
export function sortedCopy(values: ArrayLike<number>): Float64Array {
  const s = Float64Array.from(values);
  s.sort();
  return s;
}

/** numpy.percentile(values, p) for each p in [0, 100] of an ascending sample. */
export function percentilesOfSorted(sorted: Float64Array, ps: readonly number[]): number[] {
  const n = sorted.length;
  if (n === 0) throw new VoxshiftError('INVALID_ARGUMENT', 'percentiles of an empty sample', { param: 'values' });
  return ps.map((p) => {
    if (!(p >= 0 && p <= 100)) throw new VoxshiftError('INVALID_ARGUMENT', `percentiles must be in [0, 100], got ${p}`, { param: 'p' });
    const h = ((n - 1) * p) / 100;
    const lo = Math.floor(h);
    const hi = Math.min(n - 1, lo + 1);
    const f = h - lo;
    return f === 0 ? sorted[lo] : sorted[lo] + f * (sorted[hi] - sorted[lo]);
  });
}

/** `count` percentile levels evenly spaced over [low, high]. */
export function evenLevels(low: number, high: number, count: number): number[] {
  if (!(Number.isInteger(count) && count >= 2)) {
    throw new VoxshiftError('INVALID_ARGUMENT', `levels must be an integer ≥ 2, got ${count}`, { param: 'levels' });
  }
  return Array.from({ length: count }, (_, i) => low + ((high - low) * i) / (count - 1));
}

export interface PiecewiseLinear {
  /** Strictly increasing. */
  x: number[];
  y: number[];
}

/**
 * The map through the landmarks (x non-decreasing, y the targets). Runs of equal x (flat stretches
 * of the image histogram) become one knot at the mean of their y. Fewer than two distinct x is an
 * error (`what` names the image).
 */
export function monotoneMap(x: readonly number[], y: readonly number[], what: string): PiecewiseLinear {
  if (x.length !== y.length) throw new VoxshiftError('INTERNAL', `landmark lists differ in length (${x.length} vs ${y.length})`);
  const outX: number[] = [];
  const outY: number[] = [];
  let i = 0;
  while (i < x.length) {
    let j = i;
    let sum = 0;
    while (j < x.length && x[j] === x[i]) sum += y[j++];
    if (outX.length > 0 && !(x[i] > outX[outX.length - 1])) {
      throw new VoxshiftError('INTERNAL', `landmarks of ${what} are not ascending at ${i}`);
    }
    outX.push(x[i]);
    outY.push(sum / (j - i));
    i = j;
  }
  if (outX.length < 2) {
    throw new VoxshiftError('INVALID_VOLUME', `${what}: the foreground intensities are constant (${x[0]}); an intensity map needs at least two distinct landmarks`, {
      param: 'volume',
      details: { value: x[0] },
    });
  }
  return { x: outX, y: outY };
}

/** Evaluates the map at every value (float32 out). */
export function applyMap(map: PiecewiseLinear, data: ArrayLike<number>): Float32Array {
  const { x, y } = map;
  const last = x.length - 1;
  const slope = (y[last] - y[0]) / (x[last] - x[0]);
  const out = new Float32Array(data.length);
  // Segment slopes once; values are located by binary search (landmark lists are short).
  const seg = new Float64Array(last);
  for (let s = 0; s < last; s++) seg[s] = (y[s + 1] - y[s]) / (x[s + 1] - x[s]);
  for (let p = 0; p < data.length; p++) {
    const v = data[p];
    if (v <= x[0]) out[p] = y[0] + (v - x[0]) * slope;
    else if (v >= x[last]) out[p] = y[last] + (v - x[last]) * slope;
    else {
      let lo = 0;
      let hi = last;
      while (hi - lo > 1) {
        const mid = (lo + hi) >> 1;
        if (x[mid] <= v) lo = mid;
        else hi = mid;
      }
      out[p] = y[lo] + (v - x[lo]) * seg[lo];
    }
  }
  return out;
}
