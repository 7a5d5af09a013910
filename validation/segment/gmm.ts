/**
 * 1-D intensity mixtures fitted by EM on a weighted histogram, deterministic (no random start):
 * pure-tissue Gaussians plus partial-volume components (fitPvMixture), started among others from
 * the optimal k-means partition of the histogram (exact dynamic programming over bins, as
 * Ckmeans.1d.dp: Wang & Song, R Journal 3:29, 2011).
 */
import { VoxshiftError } from '../../volumes/errors.ts';

export interface Gaussian1d {
  weight: number;
  mean: number;
  /** Standard deviation. */
  std: number;
}

export interface WeightedHistogram {
  /** Bin centres, ascending. */
  centers: Float64Array;
  counts: Float64Array;
}

/** Histogram of `values` over [lo, hi] with `bins` equal bins (values outside are clamped). */
export function weightedHistogram(values: ArrayLike<number>, lo: number, hi: number, bins: number): WeightedHistogram {
  const counts = new Float64Array(bins);
  const centers = new Float64Array(bins);
  const w = (hi - lo) / bins;
  for (let b = 0; b < bins; b++) centers[b] = lo + (b + 0.5) * w;
  const scale = bins / (hi - lo);
  for (let p = 0; p < values.length; p++) {
    let b = Math.floor((values[p] - lo) * scale);
    if (b < 0) b = 0;
    else if (b >= bins) b = bins - 1;
    counts[b]++;
  }
  return { centers, counts };
}

/** Optimal k-means of the weighted points (centres, counts): cluster boundaries as bin index ranges. */
export function kmeans1dOptimal(h: WeightedHistogram, k: number): [number, number][] {
  const { centers: x, counts: w } = h;
  // only bins with weight take part; an empty bin never changes a cost
  const idx: number[] = [];
  for (let b = 0; b < x.length; b++) if (w[b] > 0) idx.push(b);
  const n = idx.length;
  if (n < k) {
    throw new VoxshiftError('INVALID_ARGUMENT', `cannot fit ${k} classes to ${n} distinct intensity bins`, { param: 'components', details: { bins: n, k } });
  }
  const sw = new Float64Array(n + 1);
  const swx = new Float64Array(n + 1);
  const swx2 = new Float64Array(n + 1);
  for (let a = 0; a < n; a++) {
    const b = idx[a];
    sw[a + 1] = sw[a] + w[b];
    swx[a + 1] = swx[a] + w[b] * x[b];
    swx2[a + 1] = swx2[a] + w[b] * x[b] * x[b];
  }
  // within-cluster sum of squares of points a..b (inclusive)
  const cost = (a: number, b: number): number => {
    const W = sw[b + 1] - sw[a];
    const S = swx[b + 1] - swx[a];
    return Math.max(0, swx2[b + 1] - swx2[a] - (S * S) / W);
  };
  let prev = new Float64Array(n);
  for (let b = 0; b < n; b++) prev[b] = cost(0, b);
  const back: Int32Array[] = [new Int32Array(n)];
  for (let c = 1; c < k; c++) {
    const cur = new Float64Array(n).fill(Infinity);
    const arg = new Int32Array(n);
    for (let b = c; b < n; b++) {
      for (let a = c; a <= b; a++) {
        const v = prev[a - 1] + cost(a, b);
        if (v < cur[b]) {
          cur[b] = v;
          arg[b] = a;
        }
      }
    }
    back.push(arg);
    prev = cur;
  }
  const ranges: [number, number][] = [];
  let end = n - 1;
  for (let c = k - 1; c >= 0; c--) {
    const start = c === 0 ? 0 : back[c][end];
    ranges.unshift([idx[start], idx[end]]);
    end = start - 1;
  }
  return ranges;
}

function normalPdf(x: number, mean: number, std: number): number {
  const z = (x - mean) / std;
  return Math.exp(-0.5 * z * z) / std;
}

export interface PvMixture {
  /** Pure-tissue components, sorted by mean. */
  pure: Gaussian1d[];
  /** Weight of the partial-volume component between each pair of pure components (indices into `pure`). */
  partialVolume: { between: [number, number]; weight: number }[];
  logLikelihood: number;
  /** Which start won: 'kmeans', 'kmeans-interleaved', 'quantiles' or 'given'. */
  start: string;
}

export interface FitMixtureOptions {
  iterations?: number;
  /** Start from these pure components (one run) instead of the three deterministic starts. */
  init?: readonly Gaussian1d[];
}

/** Mixing fractions α of the partial-volume integral (midpoint rule). */
const ALPHA_STEPS = 8;

function gaussiansOf(h: WeightedHistogram, ranges: readonly [number, number][], minStd: number): Gaussian1d[] {
  const { centers: x, counts: w } = h;
  let total = 0;
  for (let b = 0; b < w.length; b++) total += w[b];
  return ranges.map(([a, b]) => {
    let sw = 0;
    let sx = 0;
    let sx2 = 0;
    for (let i = a; i <= b; i++) {
      sw += w[i];
      sx += w[i] * x[i];
      sx2 += w[i] * x[i] * x[i];
    }
    const mean = sx / sw;
    return { weight: sw / total, mean, std: Math.max(minStd, Math.sqrt(Math.max(0, sx2 / sw - mean * mean))) };
  });
}

function quantileStart(h: WeightedHistogram, k: number, minStd: number): Gaussian1d[] {
  const { centers: x, counts: w } = h;
  let total = 0;
  for (let b = 0; b < w.length; b++) total += w[b];
  const out: Gaussian1d[] = [];
  let acc = 0;
  let b = 0;
  const span = x[x.length - 1] - x[0];
  for (let c = 0; c < k; c++) {
    const target = ((c + 0.5) / k) * total;
    while (b < x.length - 1 && acc + w[b] < target) acc += w[b++];
    out.push({ weight: 1 / k, mean: x[b], std: Math.max(minStd, span / k / 4) });
  }
  return out;
}

function runEm(h: WeightedHistogram, start: readonly Gaussian1d[], iterations: number, minStd: number): Omit<PvMixture, 'start'> {
  const { centers: x, counts: w } = h;
  const k = start.length;
  let total = 0;
  for (let b = 0; b < w.length; b++) total += w[b];
  const pairs: [number, number][] = [];
  for (let a = 0; a < k; a++) for (let c = a + 1; c < k; c++) pairs.push([a, c]);
  let pure = start.map((g) => ({ ...g }));
  let rho = pairs.map(() => 0.1 / pairs.length);
  const r = new Float64Array(k);
  const q = new Float64Array(pairs.length);
  let lastLl = -Infinity;
  let ll = -Infinity;
  // the partial-volume sub-Gaussians (pair i, fraction j): mean, 1/std, and weight / std
  const subMean = new Float64Array(pairs.length * ALPHA_STEPS);
  const subInv = new Float64Array(pairs.length * ALPHA_STEPS);
  for (let it = 0; it < iterations; it++) {
    const sw = new Float64Array(k);
    const sx = new Float64Array(k);
    const sx2 = new Float64Array(k);
    const sr = new Float64Array(pairs.length);
    for (let i = 0; i < pairs.length; i++) {
      const ga = pure[pairs[i][0]];
      const gb = pure[pairs[i][1]];
      for (let j = 0; j < ALPHA_STEPS; j++) {
        const al = (j + 0.5) / ALPHA_STEPS;
        subMean[i * ALPHA_STEPS + j] = al * ga.mean + (1 - al) * gb.mean;
        subInv[i * ALPHA_STEPS + j] = 1 / Math.sqrt(al * al * ga.std * ga.std + (1 - al) * (1 - al) * gb.std * gb.std);
      }
    }
    ll = 0;
    for (let b = 0; b < x.length; b++) {
      if (w[b] === 0) continue;
      const v = x[b];
      let s = 0;
      for (let c = 0; c < k; c++) {
        r[c] = pure[c].weight * normalPdf(v, pure[c].mean, pure[c].std);
        s += r[c];
      }
      for (let i = 0; i < pairs.length; i++) {
        let m = 0;
        for (let j = i * ALPHA_STEPS, e = j + ALPHA_STEPS; j < e; j++) {
          const z = (v - subMean[j]) * subInv[j];
          m += subInv[j] * Math.exp(-0.5 * z * z);
        }
        q[i] = (rho[i] * m) / ALPHA_STEPS;
        s += q[i];
      }
      if (!(s > 0)) continue;
      ll += w[b] * Math.log(s);
      for (let c = 0; c < k; c++) {
        const t = (w[b] * r[c]) / s;
        sw[c] += t;
        sx[c] += t * v;
        sx2[c] += t * v * v;
      }
      for (let i = 0; i < pairs.length; i++) sr[i] += (w[b] * q[i]) / s;
    }
    // pure components learn from their own responsibilities only (the usual PV-model M-step)
    pure = pure.map((g, c) => {
      if (!(sw[c] > 1e-9 * total)) return g;
      const mean = sx[c] / sw[c];
      return { weight: sw[c] / total, mean, std: Math.max(minStd, Math.sqrt(Math.max(0, sx2[c] / sw[c] - mean * mean))) };
    });
    rho = Array.from(sr, (v) => v / total);
    if (Math.abs(ll - lastLl) <= 1e-7 * Math.abs(ll)) break;
    lastLl = ll;
  }
  const order = pure.map((_, c) => c).sort((a, b) => pure[a].mean - pure[b].mean);
  const rank = new Int32Array(k);
  order.forEach((c, i) => (rank[c] = i));
  return {
    pure: order.map((c) => pure[c]),
    partialVolume: pairs.map(([a, c], i) => {
      const [u, v] = [rank[a], rank[c]].sort((m, n) => m - n);
      return { between: [u, v] as [number, number], weight: rho[i] };
    }),
    logLikelihood: ll,
  };
}

/**
 * A mixture of k pure-tissue Gaussians and, between every pair of them, a partial-volume component:
 * voxels mixing tissues a and b in a fraction α ~ U(0, 1), intensity N(α·μa + (1 − α)·μb,
 * α²σa² + (1 − α)²σb²) (Santago & Gage, IEEE TMI 12:566, 1993; Shattuck et al., NeuroImage 13:856,
 * 2001). Without it, pure components stretch over the long partial-volume tails (skull, skin, fat
 * borders) and no longer mark the tissues. EM runs on the histogram from three deterministic starts
 * (optimal k-means; every other cluster of the optimal (2k − 1)-means, which leaves the in-between
 * clusters to partial volume; quantiles) and the best likelihood wins.
 */
export function fitPvMixture(h: WeightedHistogram, k: number, options: FitMixtureOptions = {}): PvMixture {
  if (!(Number.isInteger(k) && k >= 2)) {
    throw new VoxshiftError('INVALID_ARGUMENT', `the mixture needs an integer k ≥ 2 components, got ${k}`, { param: 'components' });
  }
  const bins = h.centers.length;
  let filled = 0;
  for (let b = 0; b < bins; b++) if (h.counts[b] > 0) filled++;
  if (filled < k) {
    throw new VoxshiftError('INVALID_ARGUMENT', `cannot fit ${k} tissue classes: the intensities take too few distinct values (${filled} histogram bins)`, {
      param: 'volume',
      details: { bins: filled, k },
    });
  }
  const minStd = bins > 1 ? h.centers[1] - h.centers[0] : 1;
  const iterations = options.iterations ?? 200;
  if (options.init) {
    if (options.init.length !== k) {
      throw new VoxshiftError('INVALID_ARGUMENT', `init has ${options.init.length} components, expected ${k}`, { param: 'init' });
    }
    return { ...runEm(h, options.init, iterations, minStd), start: 'given' };
  }
  const starts: [string, () => Gaussian1d[]][] = [
    ['kmeans', () => gaussiansOf(h, kmeans1dOptimal(h, k), minStd)],
    ['kmeans-interleaved', () => gaussiansOf(h, kmeans1dOptimal(h, 2 * k - 1), minStd).filter((_, i) => i % 2 === 0)],
    ['quantiles', () => quantileStart(h, k, minStd)],
  ];
  let best: PvMixture | undefined;
  for (const [name, make] of starts) {
    let start: Gaussian1d[];
    try {
      start = make();
    } catch {
      continue; // (2k − 1)-means needs 2k − 1 filled bins
    }
    const fit = runEm(h, start, iterations, minStd);
    if (!best || fit.logLikelihood > best.logLikelihood) best = { ...fit, start: name };
  }
  // the k-means start always exists once k bins are filled
  return best as PvMixture;
}

/** Decision thresholds between consecutive pure means (midpoints): class c covers [t[c−1], t[c]). */
export function midpointThresholds(pure: readonly Gaussian1d[]): number[] {
  const t: number[] = [];
  for (let c = 0; c + 1 < pure.length; c++) t.push((pure[c].mean + pure[c + 1].mean) / 2);
  return t;
}

/** Index of the class of `v` under ascending `thresholds`. */
export function classOf(v: number, thresholds: readonly number[]): number {
  let c = 0;
  while (c < thresholds.length && v >= thresholds[c]) c++;
  return c;
}
