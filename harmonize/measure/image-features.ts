/**
 * Per-image features for the site classifier, in families. Only `histogram` is what the intensity
 * harmonizers optimise (histogram matching and Nyúl align foreground percentiles by construction);
 * the others describe properties of the acquisition that no method here targets directly, so they
 * show whether a site effect survives harmonisation:
 *
 * - `histogram`: foreground percentiles, mean and sd (site-classifier.ts histogramFeatures).
 * - `tissue-ratio`: each tissue's mean divided by the mean of all tissue means (scale-free; tissues
 *   from the label map when given, else the per-image tissue classes).
 * - `noise`: σ of a high-pass residual (voxel − mean of its 6 neighbours, robust σ = 1.4826·MAD,
 *   corrected by √(1 + 1/6) for the neighbours' own noise) in flat non-dark tissue — voxels whose 6
 *   neighbours share their tissue class — relative to the median of those voxels, and relative to
 *   the contrast between the brightest and the darkest class.
 * - `sharpness`: per axis, the ratio of lag-1 to lag-2 difference energy inside the mask; blur
 *   lowers it (edges spread over more voxels), white noise raises it towards 1.
 * - `bias`: low-frequency energy: the image is cut into 4×4×4 blocks; in each block with enough
 *   voxels of the largest bright tissue class, the log of their median over the class's median;
 *   features are the sd and the range of these block values.
 * - `texture`: GLCM-like co-occurrence contrast within tissue: inside each of the two brightest
 *   classes, intensities are rank-quantised to 16 levels (equal counts), and the mean of (i − j)²
 *   over neighbouring pairs of that class is taken per axis. Rank quantisation makes it invariant
 *   to any monotone intensity map applied to the whole image.
 *
 * Tissue classes are per-image 1-D k-means into 3 classes (anatomy.ts kmeansSegmentation) of the
 * *original* image; measure a harmonized image with its original's mask and classes, so that only
 * its intensities differ. Everything is deterministic.
 */
import { VoxshiftError } from '../../volumes/errors.ts';
import type { Volume } from '../../volumes/volume.ts';
import { maskedValues } from '../foreground.ts';
import { sortedCopy } from '../piecewise.ts';
import { kmeansSegmentation } from './anatomy.ts';
import { histogramFeatures } from './site-classifier.ts';

export const FEATURE_FAMILIES = ['histogram', 'tissue-ratio', 'noise', 'sharpness', 'bias', 'texture'] as const;
export type FeatureFamily = (typeof FEATURE_FAMILIES)[number];
/** Families no harmonizer here optimises. */
export const NON_TARGETED_FAMILIES: readonly FeatureFamily[] = ['noise', 'sharpness', 'bias', 'texture'];

export type ImageFeatures = Record<FeatureFamily, number[]>;

export interface FeatureContext {
  mask: Uint8Array;
  /** Tissue classes 1..K inside the mask (0 outside), of the original image. */
  classes: Uint8Array;
  /** Optional label map (e.g. ground truth) and the ids whose means form `tissue-ratio`. */
  labels?: ArrayLike<number>;
  regions?: readonly number[];
}

const TEXTURE_LEVELS = 16;
const BIAS_BLOCKS = 4;
const MIN_BLOCK_VOXELS = 30;

function median(values: Float64Array | number[]): number {
  const s = sortedCopy(values);
  const n = s.length;
  return n % 2 === 1 ? s[(n - 1) / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
}

function maxClass(classes: Uint8Array): number {
  let k = 0;
  for (let p = 0; p < classes.length; p++) if (classes[p] > k) k = classes[p];
  return k;
}

function classCounts(classes: Uint8Array): number[] {
  const n: number[] = [];
  for (let p = 0; p < classes.length; p++) n[classes[p]] = (n[classes[p]] ?? 0) + 1;
  return Array.from({ length: n.length }, (_, k) => n[k] ?? 0);
}

/** The per-image tissue classes the features use (3-class k-means inside the mask). */
export function featureClasses(image: Volume, mask: Uint8Array): Uint8Array {
  return kmeansSegmentation(image.data, mask, 3);
}

function strides(shape: readonly number[]): [number, number, number] {
  return [1, shape[0], shape[0] * shape[1]];
}

function coords(p: number, shape: readonly number[]): [number, number, number] {
  const i = p % shape[0];
  const j = Math.floor(p / shape[0]) % shape[1];
  return [i, j, Math.floor(p / (shape[0] * shape[1]))];
}

/** Noise σ in flat non-dark tissue relative to its median, and relative to the brightest-to-darkest class contrast. */
export function noiseFeatures(image: Volume, ctx: FeatureContext): number[] {
  const { classes } = ctx;
  const d = image.data;
  const [nx, ny, nz] = image.shape;
  const st = strides(image.shape);
  const K = maxClass(classes);
  const residuals: number[] = [];
  const levels: number[] = [];
  for (let z = 1; z < nz - 1; z++) {
    for (let y = 1; y < ny - 1; y++) {
      for (let x = 1; x < nx - 1; x++) {
        const p = x + y * st[1] + z * st[2];
        const c = classes[p];
        if (c < 2) continue;
        let flat = true;
        let sum = 0;
        for (const s of st) {
          if (classes[p - s] !== c || classes[p + s] !== c) {
            flat = false;
            break;
          }
          sum += d[p - s] + d[p + s];
        }
        if (!flat) continue;
        residuals.push(d[p] - sum / 6);
        levels.push(d[p]);
      }
    }
  }
  if (residuals.length < 50) {
    throw new VoxshiftError('INVALID_ARGUMENT', `noise feature: ${residuals.length} flat voxels of non-dark tissue, need at least 50 (is the mask or the image too small?)`, {
      param: 'mask',
    });
  }
  const m = median(residuals);
  const sigma = (1.4826 * median(residuals.map((v) => Math.abs(v - m)))) / Math.sqrt(1 + 1 / 6);
  const med = (c: number): number => median(maskedValues(image, Uint8Array.from(classes, (v) => (v === c ? 1 : 0))));
  const contrast = Math.abs(med(K) - med(1));
  return [sigma / (Math.abs(median(levels)) || 1), sigma / (contrast || 1)];
}

/** Per axis: lag-1 over lag-2 squared-difference energy inside the mask. */
export function sharpnessFeatures(image: Volume, ctx: FeatureContext): number[] {
  const d = image.data;
  const { mask } = ctx;
  const st = strides(image.shape);
  return [0, 1, 2].map((axis) => {
    const s = st[axis];
    let e1 = 0;
    let e2 = 0;
    for (let p = 0; p < mask.length; p++) {
      if (mask[p] === 0) continue;
      const c = coords(p, image.shape);
      if (c[axis] + 2 >= image.shape[axis] || mask[p + s] === 0 || mask[p + 2 * s] === 0) continue;
      e1 += (d[p + s] - d[p]) ** 2;
      e2 += (d[p + 2 * s] - d[p]) ** 2;
    }
    return e2 > 0 ? e1 / e2 : 1;
  });
}

/** sd and range of the log block medians of the largest bright class (see the module comment). */
export function biasFeatures(image: Volume, ctx: FeatureContext): number[] {
  const { classes } = ctx;
  const d = image.data;
  const counts = classCounts(classes);
  const K = counts.length - 1;
  const c = K >= 2 && counts[K - 1] > counts[K] ? K - 1 : K;
  const blocks: number[][] = Array.from({ length: BIAS_BLOCKS ** 3 }, () => []);
  const all: number[] = [];
  for (let p = 0; p < classes.length; p++) {
    if (classes[p] !== c) continue;
    const v = coords(p, image.shape);
    const b = v.map((x, a) => Math.min(BIAS_BLOCKS - 1, Math.floor((x * BIAS_BLOCKS) / image.shape[a])));
    blocks[b[0] + BIAS_BLOCKS * (b[1] + BIAS_BLOCKS * b[2])].push(d[p]);
    all.push(d[p]);
  }
  const ref = median(all);
  const logs = blocks.filter((b) => b.length >= MIN_BLOCK_VOXELS).map((b) => Math.log(Math.max(1e-6, median(b)) / Math.max(1e-6, ref)));
  if (logs.length < 2) {
    throw new VoxshiftError('INVALID_ARGUMENT', `bias feature: only ${logs.length} block(s) hold ${MIN_BLOCK_VOXELS} voxels of tissue class ${c}; the mask is too small`, {
      param: 'mask',
    });
  }
  const m = logs.reduce((a, v) => a + v, 0) / logs.length;
  const sd = Math.sqrt(logs.reduce((a, v) => a + (v - m) ** 2, 0) / logs.length);
  return [sd, Math.max(...logs) - Math.min(...logs)];
}

/** Per axis: mean squared level difference of neighbouring voxels of the same bright class, levels by rank within the class. */
export function textureFeatures(image: Volume, ctx: FeatureContext): number[] {
  const { classes } = ctx;
  const d = image.data;
  const K = maxClass(classes);
  const bright = [K - 1, K].filter((c) => c >= 1);
  const level = new Uint8Array(classes.length);
  for (const c of bright) {
    const idx: number[] = [];
    for (let p = 0; p < classes.length; p++) if (classes[p] === c) idx.push(p);
    // ties broken by index, so equal values still spread evenly (and deterministically) over levels
    idx.sort((a, b) => d[a] - d[b] || a - b);
    idx.forEach((p, r) => (level[p] = Math.floor((r * TEXTURE_LEVELS) / idx.length)));
  }
  const st = strides(image.shape);
  return [0, 1, 2].map((axis) => {
    const s = st[axis];
    let sum = 0;
    let n = 0;
    for (let p = 0; p < classes.length; p++) {
      const c = classes[p];
      if (!bright.includes(c)) continue;
      if (coords(p, image.shape)[axis] + 1 >= image.shape[axis] || classes[p + s] !== c) continue;
      sum += (level[p] - level[p + s]) ** 2;
      n++;
    }
    return n > 0 ? sum / n : 0;
  });
}

/** Each tissue's mean over the mean of the tissue means (labels and regions when given, else the classes). */
export function tissueRatioFeatures(image: Volume, ctx: FeatureContext): number[] {
  const d = image.data;
  const byLabels = ctx.labels !== undefined && ctx.regions !== undefined;
  const ids = byLabels ? [...(ctx.regions as readonly number[])] : Array.from({ length: maxClass(ctx.classes) }, (_, k) => k + 1);
  const sum = new Map<number, number>(ids.map((i) => [i, 0]));
  const n = new Map<number, number>(ids.map((i) => [i, 0]));
  const lab = byLabels ? (ctx.labels as ArrayLike<number>) : ctx.classes;
  for (let p = 0; p < d.length; p++) {
    if (ctx.mask[p] === 0 && !byLabels) continue;
    const s = sum.get(lab[p]);
    if (s === undefined) continue;
    sum.set(lab[p], s + d[p]);
    n.set(lab[p], (n.get(lab[p]) as number) + 1);
  }
  const means = ids.map((i) => {
    const c = n.get(i) as number;
    if (c === 0) throw new VoxshiftError('INVALID_ARGUMENT', `tissue-ratio feature: tissue ${i} has no voxels`, { param: 'labels', details: { label: i } });
    return (sum.get(i) as number) / c;
  });
  const avg = means.reduce((a, v) => a + v, 0) / means.length;
  return means.map((m) => m / (Math.abs(avg) || 1));
}

/** Every family of one image (see the module comment). */
export function imageFeatures(image: Volume, ctx: FeatureContext): ImageFeatures {
  if (ctx.mask.length !== image.data.length || ctx.classes.length !== image.data.length) {
    throw new VoxshiftError('GEOMETRY_MISMATCH', `mask (${ctx.mask.length}) and classes (${ctx.classes.length}) must have one entry per voxel (${image.data.length})`, {
      param: 'mask',
    });
  }
  return {
    histogram: histogramFeatures(sortedCopy(maskedValues(image, ctx.mask))),
    'tissue-ratio': tissueRatioFeatures(image, ctx),
    noise: noiseFeatures(image, ctx),
    sharpness: sharpnessFeatures(image, ctx),
    bias: biasFeatures(image, ctx),
    texture: textureFeatures(image, ctx),
  };
}
