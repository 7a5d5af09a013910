/**
 * How well can a site be told from an image? A cross-validated classifier on per-subject features:
 * stratified k-fold by subject (each subject is predicted once, by a model that never saw it;
 * features standardised with the training folds' mean and standard deviation), reporting the
 * accuracy over all subjects. Chance is 1/number of sites; harmonisation should bring it down.
 *
 * Classifiers: multinomial logistic regression (L2 penalty, full-batch gradient descent from zero
 * weights: deterministic) and nearest centroid (Euclidean, standardised features).
 */
import { VoxshiftError } from '../../volumes/errors.ts';
import { createRng } from '../../volumes/random.ts';
import { percentilesOfSorted } from '../piecewise.ts';

export type ClassifierKind = 'logistic' | 'nearest-centroid';

/** Percentile levels of the histogram features. */
export const HISTOGRAM_FEATURE_PERCENTILES: readonly number[] = [2, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 65, 70, 75, 80, 85, 90, 95, 98];

/** Image features: percentiles of the foreground intensities (ascending sample) plus mean and standard deviation. */
export function histogramFeatures(sorted: Float64Array): number[] {
  let sum = 0;
  for (let i = 0; i < sorted.length; i++) sum += sorted[i];
  const mean = sum / sorted.length;
  let ss = 0;
  for (let i = 0; i < sorted.length; i++) ss += (sorted[i] - mean) ** 2;
  return [...percentilesOfSorted(sorted, HISTOGRAM_FEATURE_PERCENTILES), mean, Math.sqrt(ss / sorted.length)];
}

export interface ClassifierOptions {
  kind?: ClassifierKind;
  folds?: number;
  /** Seed of the fold assignment. */
  seed?: number;
  /** Logistic regression: L2 weight and gradient-descent iterations / step. */
  l2?: number;
  iterations?: number;
  learningRate?: number;
}

export interface ClassifierResult {
  kind: ClassifierKind;
  folds: number;
  accuracy: number;
  chance: number;
  correct: number;
  total: number;
  /** confusion[true][predicted] counts, classes in `classes` order. */
  confusion: number[][];
  classes: string[];
}

function standardiser(rows: number[][]): (r: number[]) => number[] {
  const d = rows[0].length;
  const mean = new Array<number>(d).fill(0);
  const sd = new Array<number>(d).fill(0);
  for (const r of rows) r.forEach((v, k) => (mean[k] += v / rows.length));
  for (const r of rows) r.forEach((v, k) => (sd[k] += (v - mean[k]) ** 2 / rows.length));
  for (let k = 0; k < d; k++) sd[k] = Math.sqrt(sd[k]) > 1e-12 * (1 + Math.abs(mean[k])) ? Math.sqrt(sd[k]) : 1;
  return (r) => r.map((v, k) => (v - mean[k]) / sd[k]);
}

type Predictor = (x: number[]) => number;

function nearestCentroid(x: number[][], y: number[], classes: number): Predictor {
  const d = x[0].length;
  const c = Array.from({ length: classes }, () => new Array<number>(d).fill(0));
  const n = new Array<number>(classes).fill(0);
  x.forEach((r, i) => {
    n[y[i]]++;
    r.forEach((v, k) => (c[y[i]][k] += v));
  });
  c.forEach((row, k) => row.forEach((_, j) => (row[j] /= Math.max(1, n[k]))));
  return (r) => {
    let best = 0;
    let bestD = Infinity;
    c.forEach((row, k) => {
      if (n[k] === 0) return;
      const dist = row.reduce((s, v, j) => s + (v - r[j]) ** 2, 0);
      if (dist < bestD) {
        bestD = dist;
        best = k;
      }
    });
    return best;
  };
}

function logistic(x: number[][], y: number[], classes: number, l2: number, iterations: number, lr: number): Predictor {
  const d = x[0].length + 1;
  const w = Array.from({ length: classes }, () => new Array<number>(d).fill(0));
  const n = x.length;
  const xb = x.map((r) => [...r, 1]);
  const probs = (r: number[]): number[] => {
    const z = w.map((wk) => wk.reduce((s, v, j) => s + v * r[j], 0));
    const m = Math.max(...z);
    const e = z.map((v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / s);
  };
  for (let it = 0; it < iterations; it++) {
    const g = Array.from({ length: classes }, () => new Array<number>(d).fill(0));
    xb.forEach((r, i) => {
      const p = probs(r);
      for (let k = 0; k < classes; k++) {
        const err = p[k] - (y[i] === k ? 1 : 0);
        for (let j = 0; j < d; j++) g[k][j] += (err * r[j]) / n;
      }
    });
    for (let k = 0; k < classes; k++) {
      for (let j = 0; j < d; j++) w[k][j] -= lr * (g[k][j] + (j < d - 1 ? l2 * w[k][j] : 0));
    }
  }
  return (r) => {
    const p = probs([...r, 1]);
    return p.indexOf(Math.max(...p));
  };
}

/** Stratified fold of each sample: within each class, a seeded shuffle dealt round-robin. */
export function stratifiedFolds(labels: readonly string[], folds: number, seed: number): number[] {
  const rng = createRng(seed);
  const out = new Array<number>(labels.length).fill(0);
  let offset = 0;
  for (const c of [...new Set(labels)].sort()) {
    const idx = labels.flatMap((l, i) => (l === c ? [i] : []));
    for (let i = idx.length - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      [idx[i], idx[j]] = [idx[j], idx[i]];
    }
    // Continue the round-robin across classes so folds stay balanced in size too.
    idx.forEach((s, k) => (out[s] = (k + offset) % folds));
    offset += idx.length;
  }
  return out;
}

/** Cross-validated site classification accuracy of `features` (one row per subject). */
export function crossValidatedSiteAccuracy(features: readonly number[][], sites: readonly string[], options: ClassifierOptions = {}): ClassifierResult {
  const kind = options.kind ?? 'logistic';
  if (kind !== 'logistic' && kind !== 'nearest-centroid') {
    throw new VoxshiftError('INVALID_ARGUMENT', `classifier must be 'logistic' or 'nearest-centroid', got ${JSON.stringify(kind)}`, { param: 'classifier' });
  }
  if (features.length !== sites.length || features.length === 0) {
    throw new VoxshiftError('INVALID_ARGUMENT', `need one feature row per subject, got ${features.length} rows for ${sites.length} subjects`, { param: 'features' });
  }
  const classes = [...new Set(sites)].sort();
  if (classes.length < 2) throw new VoxshiftError('INVALID_ARGUMENT', `site classification needs at least 2 sites, got ${classes.join(', ')}`, { param: 'sites' });
  const smallest = Math.min(...classes.map((c) => sites.filter((s) => s === c).length));
  const folds = options.folds ?? Math.min(5, smallest);
  if (!(Number.isInteger(folds) && folds >= 2 && folds <= smallest)) {
    throw new VoxshiftError('INVALID_ARGUMENT', `folds must be an integer in [2, ${smallest}] (the smallest site's subjects), got ${folds}`, { param: 'folds' });
  }
  const y = sites.map((s) => classes.indexOf(s));
  const fold = stratifiedFolds(sites, folds, options.seed ?? 1);
  const confusion = classes.map(() => new Array<number>(classes.length).fill(0));
  let correct = 0;
  for (let f = 0; f < folds; f++) {
    const train = features.flatMap((_, i) => (fold[i] !== f ? [i] : []));
    const test = features.flatMap((_, i) => (fold[i] === f ? [i] : []));
    const std = standardiser(train.map((i) => [...features[i]]));
    const x = train.map((i) => std([...features[i]]));
    const yt = train.map((i) => y[i]);
    const predict =
      kind === 'logistic'
        ? logistic(x, yt, classes.length, options.l2 ?? 0.01, options.iterations ?? 300, options.learningRate ?? 0.5)
        : nearestCentroid(x, yt, classes.length);
    for (const i of test) {
      const p = predict(std([...features[i]]));
      confusion[y[i]][p]++;
      if (p === y[i]) correct++;
    }
  }
  return { kind, folds, accuracy: correct / features.length, chance: 1 / classes.length, correct, total: features.length, confusion, classes };
}
