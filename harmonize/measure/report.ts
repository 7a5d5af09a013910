/**
 * The harmonisation experiment behind `voxshift harmonize report` and bench/harmonize.ts: fit every
 * method on the training subjects, apply it to the held-out subjects, and measure on the held-out
 * subjects only, with all methods side by side:
 *
 * - site effect in the intensity distributions: each site's pooled foreground intensities, the
 *   pairwise Wasserstein-1 distances between sites (and their mean relative to the reference site's
 *   standard deviation under the same method, so methods with different output scales compare), and
 *   a PNG of the per-site histograms, one panel per method;
 * - site classifier (site-classifier.ts): cross-validated accuracy, repeated over `repeats` fold
 *   assignments, on each feature family of image-features.ts separately — `histogram` (what
 *   histogram matching and Nyúl equalise by construction, so a drop there proves little),
 *   `tissue-ratio`, and the families no method targets: `noise`, `sharpness`, `bias`, `texture`, and
 *   all four together (`non-targeted`) — plus, with label maps, `tissue` (the mean intensity of each
 *   labelled region, in image units). Chance is 1/sites;
 * - anatomy, with validation/'s MR segmenter (validation/segment/mr-segmenter.ts) run on the
 *   original and on the harmonized image inside the same body mask: per-class Dice harmonized vs
 *   original, the findings of validation's segmentation-consistency check (checkConsistency:
 *   hallucinated/removed tissue ≥ 200 mm³), and, with label maps and `truthClasses`, per-class Dice
 *   against the ground truth. Classes are the shared ones (dark, fat, soft); fluid is merged into soft
 *   on both sides because T1w shows CSF as its own mode only sometimes. The segmenter reads
 *   intensities as ratios to soft tissue with 0 as signal void, so each image gets its void level
 *   (0.5th percentile inside the body) subtracted and negatives clipped before segmenting: z-scored images and sites with an offset are
 *   otherwise misread. This is a per-image offset, not a harmonisation;
 * - learned-segmenter Dice (learned-anatomy.ts, with label maps and `truthClasses`; on by default,
 *   `learnedAnatomy: false` turns it off): a 2-D U-Net trained on the reference site's training
 *   subjects and their truth classes, applied unchanged to the original and every harmonized
 *   held-out image of every site, Dice against the truth (dark, fat, soft). This is the standard
 *   harmonisation evaluation (a model trained at the reference site applied to data from the others);
 * - reference-segmenter Dice (anatomy.ts, with label maps and `tissueClasses`): a fixed threshold
 *   segmenter learned on the reference site's training subjects, applied as is to every harmonized
 *   image, against the ground truth. It measures whether a tool tuned on the reference now works on
 *   the other sites — intensity standardisation, not anatomy (it fails on a raw image of another site
 *   whose anatomy is perfectly intact);
 * - ComBat (feature level): the region feature table (tissue means and volumes) of the original
 *   images, ComBat fitted on the training subjects and applied to the held-out ones; its row reports
 *   the tissue-mean classifier on the adjusted table.
 * Every measurement of one subject uses the original image's foreground mask and tissue classes.
 */
import { VoxshiftError } from '../../volumes/errors.ts';
import { createVolume } from '../../volumes/volume.ts';
import type { Volume } from '../../volumes/volume.ts';
import { checkConsistency } from '../../validation/consistency/check-consistency.ts';
import { mrSegmenter, type MrSegmenterOptions } from '../../validation/segment/mr-segmenter.ts';
import { SHARED_CLASS } from '../../validation/segment/segmenter.ts';
import { fitCombat, applyCombat } from '../combat.ts';
import type { CycleGanFitOptions } from '../cyclegan.ts';
import type { FeatureTable } from '../feature-table.ts';
import { foregroundMask, maskedValues } from '../foreground.ts';
import { fitHarmonizer, openHarmonizer } from '../harmonizer.ts';
import type { HarmonizeMethod, IntensityMethod } from '../model.ts';
import { HARMONIZE_METHODS } from '../model.ts';

/** The methods that take a bias-correction pre-step (bias-correct.ts). */
export type ClassicalMethod = Exclude<IntensityMethod, 'cyclegan'>;
export const CLASSICAL_METHODS: readonly ClassicalMethod[] = ['zscore', 'whitestripe', 'nyul', 'histmatch'];
/** A report row's method: a harmonizer, or a classical one with bias-field correction first (`histmatch+n4`). */
export type ReportMethod = HarmonizeMethod | `${ClassicalMethod}+n4`;
export const REPORT_METHODS: readonly ReportMethod[] = [...HARMONIZE_METHODS, ...CLASSICAL_METHODS.map((m) => `${m}+n4` as const)];

/** The harmonizer and whether bias correction runs first. */
export function parseReportMethod(m: ReportMethod): { method: HarmonizeMethod; biasCorrection: boolean } {
  if (!REPORT_METHODS.includes(m)) {
    throw new VoxshiftError('INVALID_ARGUMENT', `unknown method ${JSON.stringify(m)} (methods: ${REPORT_METHODS.join(', ')})`, { param: 'methods' });
  }
  return m.endsWith('+n4') ? { method: m.slice(0, -3) as ClassicalMethod, biasCorrection: true } : { method: m as HarmonizeMethod, biasCorrection: false };
}
import { sortedCopy } from '../piecewise.ts';
import { regionFeatures } from '../region-features.ts';
import { checkSiteName, type SiteVolumes } from '../sites.ts';
import { applyThresholdSegmenter, classDice, fitThresholdSegmenter, T1_CLASS_NAMES, T1_TISSUE_CLASSES, truthClasses, type ThresholdSegmenter } from './anatomy.ts';
import { histogramPlotPng, type HistogramPanel } from './histogram-plot.ts';
import { LEARNED_CLASS_NAMES, learnedDiceVsTruth, trainAnatomySegmenter, type LearnedAnatomyOptions, type TrainedAnatomySegmenter } from './learned-anatomy.ts';
import { FEATURE_FAMILIES, featureClasses, imageFeatures, NON_TARGETED_FAMILIES, type FeatureFamily, type ImageFeatures } from './image-features.ts';
import { crossValidatedSiteAccuracy, type ClassifierKind } from './site-classifier.ts';
import { pairwiseWasserstein } from './wasserstein.ts';

export interface ExperimentSubject {
  site: string;
  subjectId: string;
  image: Volume;
  /** Ground-truth labels (phantom tissue ids, or the label ids `regions` and `truthClasses` name). */
  labels?: Volume;
  role: 'train' | 'test';
}

export interface ReportOptions {
  subjects: readonly ExperimentSubject[];
  reference: string;
  /** Methods in the order of the table; default every method except cyclegan. */
  methods?: readonly ReportMethod[];
  /** Required with 'cyclegan': where its models go and how they train (modelPath is set here). */
  cyclegan?: Omit<CycleGanFitOptions, 'modelPath'> & { workDir: string };
  classifier?: { kind?: ClassifierKind; folds?: number; repeats?: number };
  /** Label id → region name for tissue features and ComBat; default the phantom's soft tissues. */
  regions?: Readonly<Record<number, string>>;
  /** Label id → shared class (1 dark, 2 fat, 3 soft, 4 fluid) for Dice against the labels; default the phantom's (PHANTOM_SHARED_CLASSES); null: no Dice against the labels. */
  truthClasses?: readonly number[] | null;
  /** Label id → class 1..K of the reference-site threshold segmenter; default T1 (hypointense, soft, fat) of the phantom; null: none. */
  tissueClasses?: readonly number[] | null;
  classNames?: readonly string[];
  /**
   * The reference-site U-Net (learned-anatomy.ts): training settings, or false for none. Default: on
   * when every subject has a label map and `truthClasses` is not null. Needs a TensorFlow.js backend
   * (the caller starts it: initBackend).
   */
  learnedAnatomy?: LearnedAnatomyOptions | false;
  /** validation/'s MR segmenter options (default: contrast from the metadata, else T1w). */
  segmenter?: MrSegmenterOptions;
  log?: (line: string) => void;
}

export interface AccuracySummary {
  kind: ClassifierKind;
  /** Mean accuracy over the repeats, and its range. */
  accuracy: number;
  min: number;
  max: number;
  repeats: number;
  folds: number;
}

/** The classifier's feature sets: image-features.ts families, all non-targeted ones together, and the labelled region means. */
export type AccuracyFamily = FeatureFamily | 'non-targeted' | 'tissue';
export const ACCURACY_FAMILIES: readonly AccuracyFamily[] = [...FEATURE_FAMILIES, 'non-targeted', 'tissue'];

export interface DiceSummary {
  mean: number;
  perClass: Record<string, number>;
  perSite: Record<string, number>;
}

export interface MethodRow {
  method: 'original' | ReportMethod;
  level: 'image' | 'features';
  fitSeconds: number;
  applySeconds: number;
  wasserstein?: { pairs: Record<string, number>; mean: number; relative: number };
  /** Site-classifier accuracy on each feature set. */
  accuracy: Partial<Record<AccuracyFamily, AccuracySummary>>;
  /** Same as accuracy.histogram and accuracy.tissue. */
  histogramAccuracy?: AccuracySummary;
  tissueAccuracy?: AccuracySummary;
  /** validation/'s MR segmenter on the harmonized image against the ground truth (shared classes). */
  diceVsTruth?: DiceSummary;
  /** validation/'s MR segmenter: harmonized vs original image. */
  diceVsOriginal?: DiceSummary;
  /** validation's consistency check, harmonized vs original: findings over all held-out subjects, and subjects with any. */
  consistency?: { findings: number; hallucinated: number; removed: number; subjectsWithFindings: number };
  /** The U-Net trained on the reference site's training subjects, against the ground truth (shared classes). */
  learnedDiceVsTruth?: DiceSummary;
  /** The reference-site threshold segmenter against the ground truth (intensity standardisation, not anatomy). */
  referenceSegmenterDice?: DiceSummary;
  error?: string;
}

export interface HarmonizationReport {
  reference: string;
  sites: string[];
  subjects: { train: Record<string, number>; test: Record<string, number> };
  chance: number;
  segmenter?: { thresholds: number[]; classes: string[]; trainingAccuracy: number };
  /** How the learned-anatomy U-Net was trained (when it ran). */
  learnedSegmenter?: TrainedAnatomySegmenter['summary'];
  rows: MethodRow[];
  /** The per-site histogram plot (PNG), one panel per image-level row. */
  histogramPng: Buffer;
}

export const DEFAULT_REGIONS: Readonly<Record<number, string>> = { 2: 'fat', 3: 'soft', 4: 'gm', 5: 'wm', 6: 'csf', 8: 'marrow' };

/**
 * Phantom tissue id → shared class as MR shows it (as test/validation/segment uses it): air, air
 * cavity and cortical bone dark; fat; soft tissue, grey and white matter and fatty marrow soft;
 * CSF and fluid 4 (merged into soft for the comparison, see the module comment).
 */
export const PHANTOM_SHARED_CLASSES: readonly number[] = [0, 1, 2, 3, 3, 3, 4, 1, 3, 4];

const SEG_CLASSES = [SHARED_CLASS.DARK, SHARED_CLASS.FAT, SHARED_CLASS.SOFT] as const;
const SEG_CLASS_NAMES = ['dark', 'fat', 'soft'];

function mean(a: readonly number[]): number {
  return a.reduce((s, v) => s + v, 0) / a.length;
}

function count(list: readonly ExperimentSubject[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of list) out[s.site] = (out[s.site] ?? 0) + 1;
  return out;
}

function classify(features: number[][], sites: string[], o: ReportOptions['classifier'] = {}): AccuracySummary {
  const repeats = o.repeats ?? 5;
  const kind = o.kind ?? 'logistic';
  const accs: number[] = [];
  let folds = 0;
  for (let r = 0; r < repeats; r++) {
    const res = crossValidatedSiteAccuracy(features, sites, { kind, seed: r + 1, ...(o.folds !== undefined ? { folds: o.folds } : {}) });
    accs.push(res.accuracy);
    folds = res.folds;
  }
  return { kind, accuracy: mean(accs), min: Math.min(...accs), max: Math.max(...accs), repeats, folds };
}

/** Shared classes 1 dark, 2 fat, 3 soft inside the mask (fluid merged into soft, unlabelled air dark), 0 outside. */
function mergeFluid(seg: ArrayLike<number>, mask: Uint8Array, map?: readonly number[]): Uint8Array {
  const out = new Uint8Array(mask.length);
  for (let p = 0; p < mask.length; p++) {
    if (mask[p] === 0) continue;
    const c = map ? (map[seg[p]] ?? 0) : seg[p];
    // inside the body, air is a signal void like any other
    out[p] = c === SHARED_CLASS.FLUID ? SHARED_CLASS.SOFT : c === 0 ? SHARED_CLASS.DARK : c;
  }
  return out;
}

/**
 * The image minus its signal-void level, negatives clipped: the 0.5th percentile inside the body
 * mask (internal air and cortical bone are void on MR), so it does not depend on what a method does
 * to the voxels outside the mask.
 */
export function voidAtZero(image: Volume, mask: Uint8Array): Volume<Float32Array> {
  const s = sortedCopy(maskedValues(image, mask));
  const floor = s.length > 0 ? s[Math.floor(0.005 * (s.length - 1))] : 0;
  const data = new Float32Array(image.data.length);
  for (let p = 0; p < data.length; p++) data[p] = Math.max(0, image.data[p] - floor);
  return createVolume<Float32Array>({ ...image, data, kind: 'intensity' });
}

function summarise(perSubject: number[][], names: readonly string[], sites: readonly string[], siteOf: readonly string[]): DiceSummary {
  const perSite: Record<string, number> = {};
  for (const site of sites) perSite[site] = mean(perSubject.filter((_, i) => siteOf[i] === site).map(mean));
  return {
    mean: mean(perSubject.map(mean)),
    perClass: Object.fromEntries(names.map((c, k) => [c, mean(perSubject.map((d) => d[k]))])),
    perSite,
  };
}

/** The learned-anatomy settings to use, or undefined for none (see ReportOptions.learnedAnatomy); explicit requests it cannot honour are errors. */
function learnedAnatomyOptions(
  given: ReportOptions['learnedAnatomy'],
  all: readonly ExperimentSubject[],
  reference: string,
  truthMap: readonly number[] | null,
): LearnedAnatomyOptions | undefined {
  if (given === false) return undefined;
  const unlabelled = all.filter((s) => s.labels === undefined);
  if (given === undefined) return unlabelled.length === 0 && truthMap ? {} : undefined;
  if (typeof given !== 'object' || given === null) {
    throw new VoxshiftError('INVALID_ARGUMENT', `learnedAnatomy must be training options or false, got ${JSON.stringify(given)}`, { param: 'learnedAnatomy' });
  }
  const refTrainMissing = unlabelled.filter((s) => s.site === reference && s.role === 'train');
  if (refTrainMissing.length > 0) {
    throw new VoxshiftError(
      'INVALID_ARGUMENT',
      `the learned anatomy measure trains on the reference site's labelled training subjects, but ${refTrainMissing.length} of ${reference}'s have no label map (${refTrainMissing.map((s) => s.subjectId).join(', ')})`,
      { param: 'labels', details: { site: reference } },
    );
  }
  if (unlabelled.length > 0) {
    throw new VoxshiftError(
      'INVALID_ARGUMENT',
      `the learned anatomy measure needs a label map for every subject (its Dice is against the held-out subjects' labels); missing for ${unlabelled.map((s) => s.subjectId).join(', ')}`,
      { param: 'labels' },
    );
  }
  if (!truthMap) {
    throw new VoxshiftError('INVALID_ARGUMENT', 'the learned anatomy measure needs truthClasses (label id → dark, fat, soft or fluid)', { param: 'truthClasses' });
  }
  return given;
}

/** Runs the experiment (see the module comment). */
export async function harmonizationReport(options: ReportOptions): Promise<HarmonizationReport> {
  const log = options.log ?? (() => undefined);
  const all = options.subjects;
  const reference = options.reference;
  checkSiteName(reference, 'reference');
  const train = all.filter((s) => s.role === 'train');
  const test = all.filter((s) => s.role === 'test');
  const sites = [...new Set(all.map((s) => s.site))].sort();
  if (!sites.includes(reference)) throw new VoxshiftError('INVALID_ARGUMENT', `reference site ${reference} has no subjects (sites: ${sites.join(', ')})`, { param: 'reference' });
  for (const site of sites) {
    const nTest = test.filter((s) => s.site === site).length;
    if (train.filter((s) => s.site === site).length === 0 || nTest < 2) {
      throw new VoxshiftError('INVALID_ARGUMENT', `site ${site} needs training subjects and at least 2 held-out subjects for the report`, { param: 'subjects', details: { site } });
    }
  }
  const methods: readonly ReportMethod[] = options.methods ?? HARMONIZE_METHODS.filter((m) => m !== 'cyclegan');
  for (const m of methods) {
    parseReportMethod(m);
  }
  const regions = options.regions ?? DEFAULT_REGIONS;
  const regionIds = Object.keys(regions).map(Number);
  const classOf = options.tissueClasses === undefined ? T1_TISSUE_CLASSES : options.tissueClasses;
  const classNames = options.classNames ?? T1_CLASS_NAMES;
  const truthMap = options.truthClasses === undefined ? PHANTOM_SHARED_CLASSES : options.truthClasses;
  const labelled = all.every((s) => s.labels !== undefined);
  for (const s of labelled ? all : []) {
    const l = s.labels as Volume;
    if (l.data.length !== s.image.data.length || l.shape.some((n, a) => n !== s.image.shape[a])) {
      throw new VoxshiftError('GEOMETRY_MISMATCH', `${s.subjectId}: the label map is ${l.shape.join('×')} but the image is ${s.image.shape.join('×')}`, { param: 'labels' });
    }
  }
  const segmenter = mrSegmenter(options.segmenter ?? {});
  const learnedOptions = learnedAnatomyOptions(options.learnedAnatomy, all, reference, truthMap);

  log(`foreground masks and tissue classes of ${all.length} images`);
  const masks = new Map(all.map((s) => [s.subjectId, foregroundMask(s.image, s.subjectId)]));
  const mask = (s: ExperimentSubject): Uint8Array => masks.get(s.subjectId) as Uint8Array;
  const classes = new Map(test.map((s) => [s.subjectId, featureClasses(s.image, mask(s))]));
  const bodies = new Map(test.map((s) => [s.subjectId, createVolume<Uint8Array>({ ...s.image, data: Uint8Array.from(mask(s)), kind: 'label' })]));
  let thresholdSeg: ThresholdSegmenter | undefined;
  if (labelled && classOf) {
    thresholdSeg = fitThresholdSegmenter(
      train.filter((s) => s.site === reference).map((s) => ({ image: s.image.data, labels: (s.labels as Volume).data, mask: mask(s) })),
      classOf,
      classNames,
    );
  }
  const segment = (s: ExperimentSubject, image: Volume): Volume<Uint8Array> =>
    segmenter.segment(voidAtZero(image, mask(s)), { body: bodies.get(s.subjectId) as Volume<Uint8Array> });
  log(`segmenting ${test.length} original held-out images (validation mr-segmenter)`);
  const originalSeg = new Map(test.map((s) => [s.subjectId, segment(s, s.image)]));
  const truthSeg = labelled && truthMap ? new Map(test.map((s) => [s.subjectId, mergeFluid((s.labels as Volume).data, mask(s), truthMap)])) : undefined;
  const testSites = test.map((s) => s.site);
  let learned: TrainedAnatomySegmenter | undefined;
  if (learnedOptions && truthMap) {
    const refTrain = train.filter((s) => s.site === reference);
    const total = learnedOptions.steps ?? 400;
    const every = Math.max(1, Math.round(total / 10));
    log(`learned anatomy: training a 2-D U-Net on ${reference}'s ${refTrain.length} training subjects (${total} steps)`);
    learned = await trainAnatomySegmenter(
      refTrain.map((s) => ({ id: s.subjectId, image: voidAtZero(s.image, mask(s)), truth: mergeFluid((s.labels as Volume).data, mask(s), truthMap) })),
      {
        ...learnedOptions,
        onStep: (r) => {
          learnedOptions.onStep?.(r);
          if (r.step % every === 0 || r.step === r.totalSteps) log(`learned anatomy: step ${r.step}/${r.totalSteps}, loss ${r.loss.toFixed(3)} (${r.secondsPerStep.toFixed(2)} s/step)`);
        },
      },
    );
  }
  const regionMeans = (s: ExperimentSubject, image: Volume): number[] => {
    const f = regionFeatures(image, s.labels as Volume, regions, s.subjectId);
    return Object.values(regions).map((r) => f[`${r}_mean`]);
  };

  const panels: HistogramPanel[] = [];
  const rows: MethodRow[] = [];
  const measureImages = (method: MethodRow['method'], images: Volume[], fitSeconds: number, applySeconds: number): MethodRow => {
    const pooled = new Map<string, Float64Array>();
    for (const site of sites) {
      const parts = test.flatMap((s, i) => (s.site === site ? [maskedValues(images[i], mask(s))] : []));
      const n = parts.reduce((a, p) => a + p.length, 0);
      const all = new Float64Array(n);
      let k = 0;
      for (const p of parts) {
        all.set(p, k);
        k += p.length;
      }
      pooled.set(site, sortedCopy(all));
    }
    panels.push({ title: method, series: sites.map((s) => ({ name: s, sorted: pooled.get(s) as Float64Array })) });
    const pairs = pairwiseWasserstein(pooled);
    const ref = pooled.get(reference) as Float64Array;
    const refMean = mean(Array.from(ref));
    const refSd = Math.sqrt(ref.reduce((a, v) => a + (v - refMean) ** 2, 0) / ref.length);
    const w = mean(Object.values(pairs));

    const feats: ImageFeatures[] = test.map((s, i) =>
      imageFeatures(images[i], {
        mask: mask(s),
        classes: classes.get(s.subjectId) as Uint8Array,
        ...(labelled ? { labels: (s.labels as Volume).data, regions: regionIds } : {}),
      }),
    );
    const accuracy: MethodRow['accuracy'] = {};
    for (const f of FEATURE_FAMILIES) accuracy[f] = classify(feats.map((x) => x[f]), testSites, options.classifier);
    accuracy['non-targeted'] = classify(feats.map((x) => NON_TARGETED_FAMILIES.flatMap((f) => x[f])), testSites, options.classifier);
    if (labelled) accuracy.tissue = classify(test.map((s, i) => regionMeans(s, images[i])), testSites, options.classifier);
    const row: MethodRow = {
      method,
      level: 'image',
      fitSeconds,
      applySeconds,
      wasserstein: { pairs, mean: w, relative: w / refSd },
      accuracy,
      ...(accuracy.histogram ? { histogramAccuracy: accuracy.histogram } : {}),
      ...(accuracy.tissue ? { tissueAccuracy: accuracy.tissue } : {}),
    };

    const segs = test.map((s, i) => (method === 'original' ? (originalSeg.get(s.subjectId) as Volume<Uint8Array>) : segment(s, images[i])));
    const merged = test.map((s, i) => mergeFluid(segs[i].data, mask(s)));
    row.diceVsOriginal = summarise(
      test.map((s, i) => classDice(merged[i], mergeFluid((originalSeg.get(s.subjectId) as Volume<Uint8Array>).data, mask(s)), SEG_CLASSES.length)),
      SEG_CLASS_NAMES,
      sites,
      testSites,
    );
    const consistency = { findings: 0, hallucinated: 0, removed: 0, subjectsWithFindings: 0 };
    test.forEach((s, i) => {
      const r = checkConsistency({
        source: s.image,
        synthetic: images[i],
        sourceSegmenter: segmenter,
        syntheticSegmenter: segmenter,
        segmentations: { source: originalSeg.get(s.subjectId) as Volume<Uint8Array>, synthetic: segs[i] },
      });
      consistency.findings += r.findings.length;
      consistency.hallucinated += r.findings.filter((f) => f.type === 'hallucinated').length;
      consistency.removed += r.findings.filter((f) => f.type === 'removed').length;
      if (r.findings.length > 0) consistency.subjectsWithFindings++;
    });
    row.consistency = consistency;
    if (truthSeg) {
      row.diceVsTruth = summarise(
        test.map((s, i) => classDice(merged[i], truthSeg.get(s.subjectId) as Uint8Array, SEG_CLASSES.length)),
        SEG_CLASS_NAMES,
        sites,
        testSites,
      );
    }
    if (learned && truthSeg) {
      const net = learned.segmenter;
      row.learnedDiceVsTruth = summarise(
        test.map((s, i) => learnedDiceVsTruth(net, voidAtZero(images[i], mask(s)), mask(s), truthSeg.get(s.subjectId) as Uint8Array)),
        LEARNED_CLASS_NAMES,
        sites,
        testSites,
      );
    }
    if (labelled && thresholdSeg && classOf) {
      const perSubject = test.map((s, i) =>
        classDice(applyThresholdSegmenter(thresholdSeg as ThresholdSegmenter, images[i].data, mask(s)), truthClasses((s.labels as Volume).data, mask(s), classOf), classNames.length),
      );
      row.referenceSegmenterDice = summarise(perSubject, classNames, sites, testSites);
    }
    return row;
  };

  try {
    log('measuring the original images');
    rows.push(measureImages('original', test.map((s) => s.image), 0, 0));

    const siteVolumes: SiteVolumes = Object.fromEntries(
      sites.map((site) => [site, train.filter((s) => s.site === site).map((s) => ({ volume: s.image, mask: mask(s), name: s.subjectId }))]),
    );
    for (const method of methods) {
      if (method === 'combat') continue;
      log(`${method}: fitting on ${train.length} training subjects`);
      const t0 = performance.now();
      const model = await fitHarmonizer({
        method: parseReportMethod(method).method as IntensityMethod,
        ...(parseReportMethod(method).biasCorrection ? { biasCorrection: true } : {}),
        sites: siteVolumes,
        reference,
        ...(method === 'cyclegan'
          ? (() => {
              if (!options.cyclegan) throw new VoxshiftError('INVALID_ARGUMENT', "method 'cyclegan' needs options.cyclegan (workDir, training settings)", { param: 'cyclegan' });
              const { workDir, ...rest } = options.cyclegan;
              return { cyclegan: { ...rest, modelPath: `${workDir}/cyclegan.json` } };
            })()
          : {}),
      });
      const fitSeconds = (performance.now() - t0) / 1000;
      const h = openHarmonizer(model, options.cyclegan ? { baseDir: options.cyclegan.workDir } : {});
      try {
        const t1 = performance.now();
        const out: Volume[] = [];
        for (const s of test) out.push(await h.apply(s.image, { site: s.site, mask: mask(s) }));
        const applySeconds = (performance.now() - t1) / 1000;
        log(`${method}: fitted in ${fitSeconds.toFixed(1)} s, applied to ${test.length} subjects in ${applySeconds.toFixed(1)} s; measuring`);
        rows.push(measureImages(method, out, fitSeconds, applySeconds));
      } finally {
        h.dispose();
      }
    }

    if (methods.includes('combat')) {
      if (!labelled) {
        rows.push({ method: 'combat', level: 'features', fitSeconds: 0, applySeconds: 0, accuracy: {}, error: 'ComBat needs label maps for its region feature table' });
      } else {
        log('combat: region feature table of the original images');
        const table = (list: readonly ExperimentSubject[]): FeatureTable => {
          const rowsF = list.map((s) => regionFeatures(s.image, s.labels as Volume, regions, s.subjectId));
          const features = Object.keys(rowsF[0]);
          return { subjects: list.map((s) => s.subjectId), sites: list.map((s) => s.site), features, values: rowsF.map((r) => features.map((f) => r[f])), covariates: {} };
        };
        const t0 = performance.now();
        const fit = fitCombat(table(train));
        const fitSeconds = (performance.now() - t0) / 1000;
        const t1 = performance.now();
        const adjusted = applyCombat(fit.model, table(test));
        const applySeconds = (performance.now() - t1) / 1000;
        const meanCols = Object.values(regions).map((r) => adjusted.features.indexOf(`${r}_mean`));
        const tissue = classify(adjusted.values.map((v) => meanCols.map((c) => v[c])), testSites, options.classifier);
        rows.push({ method: 'combat', level: 'features', fitSeconds, applySeconds, accuracy: { tissue }, tissueAccuracy: tissue });
      }
    }
  } finally {
    learned?.segmenter.dispose();
  }

  return {
    reference,
    sites,
    subjects: { train: count(train), test: count(test) },
    chance: 1 / sites.length,
    ...(learned ? { learnedSegmenter: learned.summary } : {}),
    ...(thresholdSeg ? { segmenter: { thresholds: thresholdSeg.thresholds, classes: thresholdSeg.names, trainingAccuracy: thresholdSeg.trainingAccuracy } } : {}),
    rows,
    histogramPng: histogramPlotPng(panels).png,
  };
}

const SHORT: Record<AccuracyFamily, string> = {
  histogram: 'hist',
  tissue: 'tissue',
  'tissue-ratio': 'ratio',
  noise: 'noise',
  sharpness: 'sharp',
  bias: 'bias',
  texture: 'texture',
  'non-targeted': 'non-tgt',
};

/** The side-by-side tables (plain text): site-classifier accuracy per feature family, then distributions and anatomy. */
export function formatReport(r: HarmonizationReport): string {
  const pct = (a?: AccuracySummary): string => (a ? `${(100 * a.accuracy).toFixed(0)}%` : '—');
  const f3 = (v?: number): string => (v === undefined ? '—' : v.toFixed(3));
  const name = (row: MethodRow): string => (row.level === 'features' ? `${row.method} (features)` : row.method);
  const table = (head: string[], lines: string[][]): string[] => {
    const widths = head.map((h, k) => Math.max(h.length, ...lines.map((l) => l[k].length)));
    const fmt = (cells: string[]): string => cells.map((c, k) => (k === 0 ? c.padEnd(widths[k]) : c.padStart(widths[k]))).join('  ');
    return [fmt(head), fmt(head.map((_, k) => '-'.repeat(widths[k]))), ...lines.map(fmt)];
  };
  const families = ACCURACY_FAMILIES.filter((f) => r.rows.some((row) => row.accuracy[f] !== undefined));
  const learnedColumns = r.rows.some((row) => row.learnedDiceVsTruth !== undefined);
  const out = [
    `sites ${r.sites.join(', ')} (reference ${r.reference}); train ${JSON.stringify(r.subjects.train)}, held out ${JSON.stringify(r.subjects.test)}; chance ${(100 * r.chance).toFixed(0)}%`,
    '',
    'site-classifier accuracy by feature family (hist: what histmatch/nyul equalise; noise, sharp, bias, texture: targeted by no method; non-tgt: those four together)',
    ...table(['method', ...families.map((f) => SHORT[f])], r.rows.map((row) => [name(row), ...families.map((f) => pct(row.accuracy[f]))])),
    '',
    'distributions and anatomy (Dice: validation mr-segmenter, classes dark/fat/soft; findings: validation consistency check vs original; ref-seg: threshold segmenter learned on the reference site)',
    ...table(
      ['method', 'W1/σ ref', 'Dice vs orig', 'Dice vs truth', 'min site', ...(learnedColumns ? ['U-Net vs truth', 'min site'] : []), 'findings', 'ref-seg Dice', 'fit s', 'apply s'],
      r.rows.map((row) => [
        name(row),
        row.wasserstein ? row.wasserstein.relative.toFixed(3) : '—',
        f3(row.diceVsOriginal?.mean),
        f3(row.diceVsTruth?.mean),
        row.diceVsTruth ? f3(Math.min(...Object.values(row.diceVsTruth.perSite))) : '—',
        ...(learnedColumns ? [f3(row.learnedDiceVsTruth?.mean), row.learnedDiceVsTruth ? f3(Math.min(...Object.values(row.learnedDiceVsTruth.perSite))) : '—'] : []),
        row.consistency ? `${row.consistency.findings} (${row.consistency.subjectsWithFindings} subj)` : '—',
        f3(row.referenceSegmenterDice?.mean),
        row.fitSeconds.toFixed(1),
        row.applySeconds.toFixed(1),
      ]),
    ),
  ];
  for (const row of r.rows) if (row.error) out.push(`${row.method}: ${row.error}`);
  if (r.learnedSegmenter) {
    const l = r.learnedSegmenter;
    out.push(
      `U-Net vs truth: Dice (dark, fat, soft) against the ground truth of a 2-D U-Net trained on ${r.reference}'s ${l.subjects.length} training subjects (${l.steps} steps, seed ${l.seed}, ${l.patchSize}² patches, batch ${l.batchSize}, ${l.filters} filters, depth ${l.depth}; loss ${l.firstLoss.toFixed(3)} → ${l.lastLoss.toFixed(3)}, ${l.seconds.toFixed(0)} s), applied unchanged to every method's held-out images`,
    );
  }
  if (r.segmenter) {
    out.push(
      `ref-seg Dice: mean over (${r.segmenter.classes.join(', ')}) of a threshold segmenter learned on ${r.reference}'s training subjects (thresholds ${r.segmenter.thresholds.map((t) => t.toFixed(1)).join(', ')}); it measures intensity standardisation, not anatomy`,
    );
  }
  return `${out.join('\n')}\n`;
}
