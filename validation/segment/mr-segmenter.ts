/**
 * Unsupervised MR tissue classification into the shared classes (segmenter.ts), inside the body
 * mask (mrBodyMask: BET's robust threshold, largest component, holes filled per slice), robust to
 * a slow bias field and to partial volume:
 *
 * 1. Intensity model (gmm.ts fitPvMixture): k pure-tissue Gaussians (default 5) plus a
 *    partial-volume component between every pair, fitted by EM on a 256-bin histogram of the body
 *    from deterministic starts. Without the partial-volume terms the Gaussians stretch over the
 *    long tails of skull, skin and fat borders and stop marking tissues.
 * 2. Bias: voxels near a narrow (σ ≤ 0.15·mean, i.e. pure-looking) non-dark component give a
 *    residual log(intensity) − log(component mean); a polynomial of total degree `biasDegree`
 *    (default 3) in the voxel coordinates is fitted to them (bias-field.ts) and divided out.
 *    Steps 1–2 alternate `biasIterations` times (default 4).
 * 3. Each component gets a shared class by its mean relative to the main soft tissue (the heaviest
 *    component below 0.6 × the brightest mean, the darkest left out), with the contrast's ratio
 *    bands (MR_BANDS):
 *    - T1w: dark < 0.5 (air and cortical bone are signal voids), fluid 0.5–0.7 (CSF, urine), soft
 *      0.7–1.9 (muscle, grey and white matter, fatty marrow), fat ≥ 1.9 (brightest).
 *    - T2w: dark < 0.35, soft 0.35–1.8 (muscle, marrow, white matter), fat 1.8–3.5, fluid ≥ 3.5
 *      (brightest). In the brain grey matter is as bright as fat on T2w spin echo (2.9× muscle), so
 *      for brain T2w pass `componentClasses: [1, 3, 3, 3, 4]` (no fat class); even so the phantom
 *      head T2w segments less well than T1w (its thin skull and scalp give broad dark modes).
 *    On T1w, fluid is found only where it forms its own mode; elsewhere it joins soft tissue (which
 *    is what a comparison with CT does anyway). `componentClasses` fixes the classes by order
 *    instead (its length is k). Each class is then represented by a landmark, its heaviest
 *    component's mean (for the dark class its darkest component's, the signal floor), and every
 *    voxel goes to the class of the nearest landmark (classModel): thresholds at the midpoints, so
 *    a voxel half void and half tissue sits on the dark/tissue boundary, as CT's −500 HU cut does
 *    for half-air voxels, and a minor partial-volume-like component never moves a boundary.
 * 4. Pieces of a class smaller than `minComponentMm3` (default 3 voxels) are relabelled from their
 *    neighbours.
 *
 * MR cannot tell air from bone, so class 1 ("dark") stands for either; consistency checks compare
 * it with CT air ∪ bone (comparableMapping). The contrast is `contrast`, else what the volume's
 * description, DICOM series description or protocol name says ("T1", "T2"), else 't1'. The fit
 * (component means and classes, class landmarks and boundaries) is recorded in the result's
 * meta.extra.mrFit.
 */
import { VoxshiftError } from '../../volumes/errors.ts';
import { deriveVolume } from '../../volumes/volume.ts';
import type { Volume } from '../../volumes/volume.ts';
import { intensityStats } from '../../volumes/stats.ts';
import { bodyMask } from '../masks.ts';
import { evaluateLogBias, fitLogBias } from './bias-field.ts';
import { removeSmallPieces } from './clean-labels.ts';
import { DEFAULT_MIN_PIECE_VOXELS } from './ct-segmenter.ts';
import { classOf, fitPvMixture, midpointThresholds, weightedHistogram } from './gmm.ts';
import type { Gaussian1d, PvMixture } from './gmm.ts';
import { SHARED_CLASS, SHARED_CLASS_NAMES } from './segmenter.ts';
import type { SegmentOptions, Segmenter, SharedClass } from './segmenter.ts';

export type MrContrast = 't1' | 't2';

const { DARK, FAT, SOFT, FLUID } = SHARED_CLASS;

export interface RatioBand {
  /** Upper end (exclusive) of the band, as a ratio to the reference (main soft-tissue) mean. */
  below: number;
  class: SharedClass;
}

/**
 * Classes of the mixture components by their mean relative to the reference component's (the main
 * soft tissue; see classesByBands). Phantom ratios at 3 T (1.5 T alike): T1w — air/cortical bone
 * ≈ 0, CSF/urine 0.65–0.75 of muscle (0.5 of white matter), grey matter 0.75 of white matter,
 * white matter and fatty marrow 1.3–1.45 of muscle, fat ≈ 3; T2w — air/bone ≈ 0, marrow 0.75 of
 * muscle, white matter 1.7, fat 2.2, grey matter 2.9, fluid ≈ 7. A component at less than half the
 * soft-tissue signal on T1w is partial volume with a void, not a tissue, hence dark below 0.5.
 */
export const MR_BANDS: Readonly<Record<MrContrast, readonly RatioBand[]>> = {
  t1: [
    { below: 0.5, class: DARK },
    { below: 0.7, class: FLUID },
    { below: 1.9, class: SOFT },
    { below: Infinity, class: FAT },
  ],
  t2: [
    { below: 0.35, class: DARK },
    { below: 1.8, class: SOFT },
    { below: 3.5, class: FAT },
    { below: Infinity, class: FLUID },
  ],
};

/** The class of each component (sorted by mean) under the contrast's ratio bands. */
export function classesByBands(means: readonly number[], weights: readonly number[], bands: readonly RatioBand[]): SharedClass[] {
  // the reference: the heaviest component, apart from the darkest, below 0.6 × the brightest mean
  // (the brightest tissue, fat on T1w and fluid on T2w, can outweigh muscle in a fatty body)
  const top = means[means.length - 1];
  let ref = -1;
  for (let c = 1; c < means.length; c++) if (means[c] <= 0.6 * top && (ref < 0 || weights[c] > weights[ref])) ref = c;
  if (ref < 0) ref = means.length > 1 ? 1 : 0;
  const scale = means[ref] > 0 ? means[ref] : 1;
  return means.map((m, c) => {
    if (c === ref) return SOFT;
    const r = m / scale;
    return (bands.find((b) => r < b.below) ?? bands[bands.length - 1]).class;
  });
}

export interface MrSegmenterOptions {
  /** Default: inferred from the volume's metadata, else 't1'. */
  contrast?: MrContrast;
  /** Number of pure-tissue components (default 5) when classes come from the ratio bands. */
  components?: number;
  /** Fixed shared class of each component in order of increasing mean (its length is k), instead of the bands. */
  componentClasses?: readonly SharedClass[];
  biasIterations?: number;
  /** Degree of the log-bias polynomial; 0 = no bias correction. Default 3. */
  biasDegree?: number;
  minComponentMm3?: number;
  /** Histogram bins of the mixture fit; default 256. */
  bins?: number;
}

/** 't1' / 't2' from the volume's description, DICOM series description or protocol name; undefined if none says. */
export function inferContrast(volume: Volume): MrContrast | undefined {
  const d = volume.meta.dicom ?? {};
  const texts = [volume.meta.description, d.SeriesDescription, d.ProtocolName, d.SequenceName].filter((t): t is string => !!t);
  for (const t of texts) {
    const t2 = /(^|[^a-z0-9])t2/i.test(t);
    const t1 = /(^|[^a-z0-9])t1/i.test(t);
    if (t2 && !t1) return 't2';
    if (t1 && !t2) return 't1';
  }
  return undefined;
}

/**
 * The body on MR: bodyMask (largest component, holes filled per slice) above the threshold
 * p2 + 0.1·(p98 − p2) of the whole image, as FSL BET's robust intensity range sets it. Otsu's
 * threshold (bodyMask's default) lands between tissue and the bright fluid on T2w and cuts the
 * body apart.
 */
export function mrBodyMask(volume: Volume): Volume<Uint8Array> {
  const [p2, p98] = intensityStats(volume).percentiles([2, 98]);
  return bodyMask(volume, { threshold: p2 + 0.1 * (p98 - p2) });
}

/** Index of the smallest value ≥ the q-quantile of `x` (0 ≤ q ≤ 1), found on a 4096-bin histogram. */
function approxQuantile(x: Float64Array, q: number): number {
  let hi = 0;
  for (let i = 0; i < x.length; i++) if (x[i] > hi) hi = x[i];
  if (!(hi > 0)) return 1;
  const bins = 4096;
  const h = weightedHistogram(x, 0, hi, bins);
  const target = q * x.length;
  let acc = 0;
  for (let b = 0; b < bins; b++) {
    acc += h.counts[b];
    if (acc >= target) return ((b + 1) * hi) / bins;
  }
  return hi;
}

export interface ClassModel {
  /** Classes in order of increasing landmark. */
  classes: SharedClass[];
  /** The mean of each class's heaviest component (darkest for the dark class). */
  landmarks: number[];
  /** Midpoints between consecutive landmarks. */
  thresholds: number[];
}

/**
 * One landmark per class, the mean of its heaviest component (of its darkest for the dark class),
 * and thresholds at the midpoints between consecutive landmarks: a small partial-volume-like
 * component never moves a boundary.
 */
export function classModel(pure: readonly Gaussian1d[], componentClasses: readonly SharedClass[]): ClassModel {
  const best = new Map<SharedClass, Gaussian1d>();
  pure.forEach((g, c) => {
    const cls = componentClasses[c];
    const cur = best.get(cls);
    // a signal void is the intensity floor: the dark class is marked by its darkest component
    if (!cur || (cls === DARK ? g.mean < cur.mean : g.weight > cur.weight)) best.set(cls, g);
  });
  const entries = [...best].sort((a, b) => a[1].mean - b[1].mean);
  return {
    classes: entries.map(([c]) => c),
    landmarks: entries.map(([, g]) => g.mean),
    thresholds: midpointThresholds(entries.map(([, g]) => g)),
  };
}

export interface MrFit {
  contrast: MrContrast;
  /** Pure-tissue components in order of increasing mean (intensities after bias correction). */
  components: { mean: number; std: number; weight: number; class: string }[];
  /** Each class's landmark (its heaviest component's mean) and upper intensity boundary (null for the last). */
  classes: { class: string; landmark: number; upTo: number | null }[];
  partialVolumeWeight: number;
  start: string;
}

export function mrSegmenter(options: MrSegmenterOptions = {}): Segmenter {
  if (options.contrast !== undefined && options.contrast !== 't1' && options.contrast !== 't2') {
    throw new VoxshiftError('INVALID_ARGUMENT', `contrast must be 't1' or 't2', got ${JSON.stringify(options.contrast)}`, { param: 'contrast' });
  }
  const cc = options.componentClasses;
  if (cc !== undefined && (cc.length < 2 || cc.some((c) => !(c >= 1 && c <= 4)))) {
    throw new VoxshiftError('INVALID_ARGUMENT', `componentClasses must list ≥ 2 classes among 1 dark, 2 fat, 3 soft, 4 fluid, got ${JSON.stringify(cc)}`, {
      param: 'componentClasses',
    });
  }
  const components = options.components ?? 5;
  if (!(Number.isInteger(components) && components >= 2 && components <= 12)) {
    throw new VoxshiftError('INVALID_ARGUMENT', `components must be an integer in 2..12, got ${components}`, { param: 'components' });
  }
  const biasIterations = options.biasIterations ?? 4;
  const biasDegree = options.biasDegree ?? 3;
  const bins = options.bins ?? 256;
  if (!(Number.isInteger(biasIterations) && biasIterations >= 0)) {
    throw new VoxshiftError('INVALID_ARGUMENT', `biasIterations must be an integer ≥ 0, got ${biasIterations}`, { param: 'biasIterations' });
  }
  if (!(Number.isInteger(biasDegree) && biasDegree >= 0 && biasDegree <= 6)) {
    throw new VoxshiftError('INVALID_ARGUMENT', `biasDegree must be an integer in 0..6, got ${biasDegree}`, { param: 'biasDegree' });
  }
  if (!(Number.isInteger(bins) && bins >= 16)) {
    throw new VoxshiftError('INVALID_ARGUMENT', `bins must be an integer ≥ 16, got ${bins}`, { param: 'bins' });
  }
  const possible = new Set<SharedClass>([SHARED_CLASS.OUTSIDE, ...(cc ?? [...MR_BANDS.t1, ...MR_BANDS.t2].map((b) => b.class))]);
  return {
    name: 'mr-gmm',
    classes: [...possible].sort((a, b) => a - b),
    segment(volume: Volume, segOptions: SegmentOptions = {}): Volume<Uint8Array> {
      if (volume.channels !== 1) {
        throw new VoxshiftError('INVALID_ARGUMENT', `the MR segmenter needs a one-channel volume, got ${volume.channels} channels`, { param: 'volume' });
      }
      const contrast = options.contrast ?? inferContrast(volume) ?? 't1';
      const k = cc?.length ?? components;
      const classesOf = (mixture: PvMixture): SharedClass[] =>
        cc ? [...cc] : classesByBands(mixture.pure.map((g) => g.mean), mixture.pure.map((g) => g.weight), MR_BANDS[contrast]);
      const body = segOptions.body ?? mrBodyMask(volume);
      if (body.data.length !== volume.data.length) {
        throw new VoxshiftError('GEOMETRY_MISMATCH', `body mask has ${body.data.length} voxels, the volume ${volume.data.length}`, { param: 'body' });
      }
      let n = 0;
      for (let p = 0; p < body.data.length; p++) if (body.data[p] !== 0) n++;
      if (n < 10 * k) {
        throw new VoxshiftError('INVALID_ARGUMENT', `the body mask holds ${n} voxels, too few to fit ${k} tissue classes`, { param: 'body' });
      }
      const index = new Int32Array(n);
      const x = new Float64Array(n);
      for (let p = 0, s = 0; p < body.data.length; p++) {
        if (body.data[p] === 0) continue;
        const v = volume.data[p];
        if (v - v !== 0) {
          throw new VoxshiftError('NON_FINITE_VALUES', `the volume has a non-finite value (${v}) at index ${p}`, { param: 'volume' });
        }
        index[s] = p;
        x[s++] = Math.max(0, v);
      }
      const corrected = Float64Array.from(x);
      const logBias = new Float64Array(n);
      // at most ~300k voxels feed the bias fit
      const stride = Math.max(1, Math.floor(n / 300_000));
      const sIndex = new Int32Array(Math.ceil(n / stride));
      const sResidual = new Float64Array(sIndex.length);
      const sWeight = new Float64Array(sIndex.length);
      let mix: PvMixture | undefined;
      const iterations = biasDegree > 0 ? biasIterations : 0;
      for (let it = 0; ; it++) {
        const hi = approxQuantile(corrected, 0.999) * 1.05;
        const h = weightedHistogram(corrected, 0, hi, bins);
        mix = fitPvMixture(h, k, mix ? { init: mix.pure } : {});
        if (it >= iterations) break;
        // voters: voxels close to a narrow (pure-looking) non-dark component; the residual is taken
        // against that component's mean, not the class landmark, so that e.g. grey against white
        // matter is not mistaken for bias
        const cls = classesOf(mix);
        const means = mix.pure.map((g) => g.mean);
        const t = midpointThresholds(mix.pure);
        const reach = mix.pure.map((g, c) => {
          const gap = Math.min(c > 0 ? g.mean - means[c - 1] : Infinity, c + 1 < k ? means[c + 1] - g.mean : Infinity);
          return cls[c] === DARK || !(g.mean > 0) || g.std > 0.15 * g.mean ? -1 : Math.min(2 * g.std, 0.5 * gap);
        });
        let m = 0;
        for (let s = 0; s < n; s += stride) {
          if (x[s] <= 0) continue;
          const v = corrected[s];
          const c = classOf(v, t);
          if (Math.abs(v - means[c]) > reach[c]) continue;
          sIndex[m] = index[s];
          sResidual[m] = Math.log(x[s] / means[c]);
          sWeight[m] = 1;
          m++;
        }
        if (m < 50) break;
        const fit = fitLogBias(volume.shape, biasDegree, sIndex, sResidual, sWeight, m);
        evaluateLogBias(fit, volume.shape, index, logBias);
        // keep the overall scale: the mean log-bias over the voting voxels is zero
        let mean = 0;
        for (let s = 0; s < m; s++) mean += sResidual[s];
        mean /= m;
        for (let s = 0; s < n; s++) corrected[s] = x[s] / Math.exp(logBias[s] - mean);
      }
      const componentClasses = classesOf(mix);
      const model = classModel(mix.pure, componentClasses);
      const out = new Uint8Array(volume.data.length);
      for (let s = 0; s < n; s++) out[index[s]] = model.classes[classOf(corrected[s], model.thresholds)];
      const voxelMm3 = volume.spacing[0] * volume.spacing[1] * volume.spacing[2];
      const minVoxels = options.minComponentMm3 !== undefined ? Math.ceil(options.minComponentMm3 / voxelMm3) : DEFAULT_MIN_PIECE_VOXELS;
      if (minVoxels > 1) removeSmallPieces(out, volume.shape, minVoxels);
      const fitInfo: MrFit = {
        contrast,
        components: mix.pure.map((g, c) => ({ mean: g.mean, std: g.std, weight: g.weight, class: SHARED_CLASS_NAMES[componentClasses[c]] })),
        classes: model.classes.map((c, i) => ({ class: SHARED_CLASS_NAMES[c], landmark: model.landmarks[i], upTo: i < model.thresholds.length ? model.thresholds[i] : null })),
        partialVolumeWeight: mix.partialVolume.reduce((acc, pv) => acc + pv.weight, 0),
        start: mix.start,
      };
      return deriveVolume<Uint8Array>(
        volume,
        { data: out, kind: 'label', modality: 'SEG', meta: { units: 'label', description: 'shared tissue classes (mr-gmm segmenter)', extra: { mrFit: fitInfo } } },
        { op: 'segment', params: { segmenter: 'mr-gmm', contrast, components: k, componentClasses: cc ? [...cc] : null, biasIterations, biasDegree, bins } },
      );
    },
  };
}
