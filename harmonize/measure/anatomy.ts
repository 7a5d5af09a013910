/**
 * Anatomy preservation: does a harmonized image still show the same tissues, in the same places?
 *
 * Two simple intensity segmentations into tissue classes, inside one foreground mask per subject
 * (the original image's, so original and harmonized are compared voxel for voxel):
 *
 * - `fitThresholdSegmenter`: a segmenter *learned on the reference site* — the global intensity
 *   thresholds that best separate the ground-truth classes over the reference site's training
 *   subjects (exact optimum over a 2048-bin histogram of their pooled foreground, by dynamic
 *   programming over the ordered classes; a cut in an empty gap goes to the gap's middle). Applied to a harmonized image of any site, its Dice
 *   against the ground truth shows both that the anatomy survived and that the image now looks like
 *   the reference (a tool tuned on the reference works on it). On a raw image of another site it
 *   fails, which is the site effect. What it reaches on the reference site's own images is its
 *   ceiling (partial volume at this resolution, noise, bias fields).
 * - `kmeansSegmentation`: per-image 1-D k-means (Lloyd's, started at evenly spaced percentiles,
 *   deterministic); the Dice between its result on the original and on the harmonized image
 *   measures how much the harmonizer changed the image's own tissue structure, with no ground truth.
 *
 * Classes are 1..K (0 = outside the mask), in order of increasing mean intensity. The default
 * ground-truth grouping is the three classes T1w separates: hypointense (air, air cavities, cortical
 * bone, CSF, fluid), soft tissue (muscle, skin, grey and white matter, fatty marrow) and fat.
 */
import { VoxshiftError } from '../../volumes/errors.ts';

/** Phantom tissue id → class for T1w (1 hypointense, 2 soft tissue, 3 fat). */
export const T1_TISSUE_CLASSES: readonly number[] = [1, 1, 3, 2, 2, 2, 1, 1, 2, 1];
export const T1_CLASS_NAMES: readonly string[] = ['hypointense', 'soft', 'fat'];

export interface ThresholdSegmenter {
  /** Class count K. */
  classes: number;
  names: string[];
  /** K − 1 ascending thresholds: class c (1-based) is (thresholds[c−2], thresholds[c−1]]. */
  thresholds: number[];
  /** Fraction of the training voxels it classifies right. */
  trainingAccuracy: number;
}

export interface LabelledImage {
  image: ArrayLike<number>;
  /** Ground-truth label ids (e.g. phantom tissues), mapped to classes by `classOf`. */
  labels: ArrayLike<number>;
  mask: Uint8Array;
}

const BINS = 2048;

/** Learns the thresholds (see the module comment); `classOf[label]` is the class 1..K of each label id. */
export function fitThresholdSegmenter(subjects: readonly LabelledImage[], classOf: readonly number[] = T1_TISSUE_CLASSES, names: readonly string[] = T1_CLASS_NAMES): ThresholdSegmenter {
  const K = Math.max(...classOf);
  if (subjects.length === 0) throw new VoxshiftError('INVALID_ARGUMENT', 'the segmenter needs at least one labelled subject', { param: 'subjects' });
  if (names.length !== K) throw new VoxshiftError('INVALID_ARGUMENT', `need ${K} class names, got ${names.length}`, { param: 'names' });
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of subjects) {
    for (let p = 0; p < s.mask.length; p++) {
      if (s.mask[p] === 0) continue;
      const v = s.image[p];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  if (!(hi > lo)) throw new VoxshiftError('INVALID_VOLUME', 'the training foreground is empty or constant', { param: 'subjects' });
  // counts[k][b]: voxels of class k+1 in bin b.
  const counts = Array.from({ length: K }, () => new Float64Array(BINS));
  const scale = BINS / (hi - lo);
  let total = 0;
  for (const s of subjects) {
    for (let p = 0; p < s.mask.length; p++) {
      if (s.mask[p] === 0) continue;
      const c = classOf[s.labels[p]];
      if (c === undefined) throw new VoxshiftError('INVALID_ARGUMENT', `label ${s.labels[p]} has no class`, { param: 'classOf' });
      counts[c - 1][Math.min(BINS - 1, Math.floor((s.image[p] - lo) * scale))]++;
      total++;
    }
  }
  const cum = counts.map((h) => {
    const c = new Float64Array(BINS + 1);
    for (let b = 0; b < BINS; b++) c[b + 1] = c[b] + h[b];
    return c;
  });
  // best[k][e]: most correct voxels with bins [0, e) given to classes 1..k+1 in order; cut[k][e] where class k+1 starts.
  const best = Array.from({ length: K }, () => new Float64Array(BINS + 1).fill(-Infinity));
  const cut = Array.from({ length: K }, () => new Int32Array(BINS + 1));
  for (let e = 0; e <= BINS; e++) best[0][e] = cum[0][e];
  for (let k = 1; k < K; k++) {
    for (let e = 0; e <= BINS; e++) {
      let b = -Infinity;
      let arg = 0;
      for (let s = 0; s <= e; s++) {
        const v = best[k - 1][s] + cum[k][e] - cum[k][s];
        if (v > b) {
          b = v;
          arg = s;
        }
      }
      best[k][e] = b;
      cut[k][e] = arg;
    }
  }
  const cuts: number[] = [];
  let e = BINS;
  for (let k = K - 1; k >= 1; k--) {
    e = cut[k][e];
    cuts.unshift(e);
  }
  // An optimal cut is usually one of a run of equally good bins (an empty gap between two classes):
  // take the middle of the run, as far from both classes as the data allow.
  for (let k = 0; k < cuts.length; k++) {
    const from = k === 0 ? 0 : cuts[k - 1];
    const to = k === cuts.length - 1 ? BINS : cuts[k + 1];
    const gain = (e: number): number => cum[k][e] - cum[k + 1][e];
    const best = gain(cuts[k]);
    let a = cuts[k];
    let b = cuts[k];
    while (a > from && gain(a - 1) === best) a--;
    while (b < to && gain(b + 1) === best) b++;
    cuts[k] = Math.round((a + b) / 2);
  }
  return {
    classes: K,
    names: [...names],
    thresholds: cuts.map((b) => lo + b / scale),
    trainingAccuracy: best[K - 1][BINS] / total,
  };
}

/** Classes 1..K inside the mask, 0 outside. */
export function applyThresholdSegmenter(seg: ThresholdSegmenter, image: ArrayLike<number>, mask: Uint8Array): Uint8Array {
  const out = new Uint8Array(mask.length);
  const t = seg.thresholds;
  for (let p = 0; p < mask.length; p++) {
    if (mask[p] === 0) continue;
    const v = image[p];
    let c = 0;
    while (c < t.length && v >= t[c]) c++;
    out[p] = c + 1;
  }
  return out;
}

/** Per-image 1-D k-means into `k` classes (1..k by centre), 0 outside the mask. */
export function kmeansSegmentation(image: ArrayLike<number>, mask: Uint8Array, k = 3, iterations = 50): Uint8Array {
  const vals: number[] = [];
  for (let p = 0; p < mask.length; p++) if (mask[p] !== 0) vals.push(image[p]);
  if (vals.length < k) throw new VoxshiftError('INVALID_ARGUMENT', `k-means needs at least ${k} foreground voxels, got ${vals.length}`, { param: 'mask' });
  const sorted = Float64Array.from(vals).sort();
  const centres = Array.from({ length: k }, (_, i) => sorted[Math.floor(((i + 0.5) / k) * (sorted.length - 1))]);
  const assign = (v: number): number => {
    let best = 0;
    for (let c = 1; c < k; c++) if (Math.abs(v - centres[c]) < Math.abs(v - centres[best])) best = c;
    return best;
  };
  for (let it = 0; it < iterations; it++) {
    const sum = new Float64Array(k);
    const n = new Float64Array(k);
    for (const v of sorted) {
      const c = assign(v);
      sum[c] += v;
      n[c]++;
    }
    let moved = false;
    for (let c = 0; c < k; c++) {
      if (n[c] === 0) continue;
      const m = sum[c] / n[c];
      if (m !== centres[c]) moved = true;
      centres[c] = m;
    }
    centres.sort((a, b) => a - b);
    if (!moved) break;
  }
  const out = new Uint8Array(mask.length);
  for (let p = 0; p < mask.length; p++) if (mask[p] !== 0) out[p] = assign(image[p]) + 1;
  return out;
}

/** Dice of each class 1..K between two class maps (voxels where either is 0 take no part in the outside class). */
export function classDice(a: Uint8Array, b: Uint8Array, classes: number): number[] {
  const na = new Float64Array(classes + 1);
  const nb = new Float64Array(classes + 1);
  const both = new Float64Array(classes + 1);
  for (let p = 0; p < a.length; p++) {
    na[a[p]]++;
    nb[b[p]]++;
    if (a[p] === b[p]) both[a[p]]++;
  }
  return Array.from({ length: classes }, (_, i) => {
    const c = i + 1;
    return na[c] + nb[c] === 0 ? 1 : (2 * both[c]) / (na[c] + nb[c]);
  });
}

/** Ground-truth classes inside the mask (0 outside): `classOf[label]`. */
export function truthClasses(labels: ArrayLike<number>, mask: Uint8Array, classOf: readonly number[] = T1_TISSUE_CLASSES): Uint8Array {
  const out = new Uint8Array(mask.length);
  for (let p = 0; p < mask.length; p++) if (mask[p] !== 0) out[p] = classOf[labels[p]];
  return out;
}
