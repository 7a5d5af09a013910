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
 *   assignments, on (a) histogram features of each image (foreground percentiles, mean, sd) and,
 *   with label maps, (b) the mean intensity of each tissue region. Chance is 1/sites. Note that
 *   histogram matching equalises (a) by construction; (b) is then the stricter test;
 * - anatomy (anatomy.ts, with label maps): Dice of a segmenter learned on the reference site's
 *   training subjects against the ground truth (mean over tissue classes), and Dice between a
 *   per-image k-means segmentation of the harmonized and of the original image;
 * - ComBat (feature level): the region feature table (tissue means and volumes) of the original
 *   images, ComBat fitted on the training subjects and applied to the held-out ones; its row reports
 *   the tissue-mean classifier on the adjusted table.
 * Every measurement of one subject uses the original image's foreground mask.
 */
import { VoxshiftError } from '../../volumes/errors.ts';
import type { Volume } from '../../volumes/volume.ts';
import { fitCombat, applyCombat } from '../combat.ts';
import type { CycleGanFitOptions } from '../cyclegan.ts';
import type { FeatureTable } from '../feature-table.ts';
import { foregroundMask, maskedValues } from '../foreground.ts';
import { fitHarmonizer, openHarmonizer } from '../harmonizer.ts';
import type { HarmonizeMethod, IntensityMethod } from '../model.ts';
import { HARMONIZE_METHODS } from '../model.ts';
import { sortedCopy } from '../piecewise.ts';
import { regionFeatures } from '../region-features.ts';
import { checkSiteName, type SiteVolumes } from '../sites.ts';
import { applyThresholdSegmenter, classDice, fitThresholdSegmenter, kmeansSegmentation, T1_CLASS_NAMES, T1_TISSUE_CLASSES, truthClasses, type ThresholdSegmenter } from './anatomy.ts';
import { histogramPlotPng, type HistogramPanel } from './histogram-plot.ts';
import { crossValidatedSiteAccuracy, histogramFeatures, type ClassifierKind } from './site-classifier.ts';
import { pairwiseWasserstein } from './wasserstein.ts';

export interface ExperimentSubject {
  site: string;
  subjectId: string;
  image: Volume;
  /** Ground-truth labels (phantom tissue ids) for the anatomy and tissue-feature measures. */
  labels?: Volume;
  role: 'train' | 'test';
}

export interface ReportOptions {
  subjects: readonly ExperimentSubject[];
  reference: string;
  /** Methods in the order of the table; default every method except cyclegan. */
  methods?: readonly HarmonizeMethod[];
  /** Required with 'cyclegan': where its models go and how they train (modelPath is set here). */
  cyclegan?: Omit<CycleGanFitOptions, 'modelPath'> & { workDir: string };
  classifier?: { kind?: ClassifierKind; folds?: number; repeats?: number };
  /** Label id → region name for tissue features and ComBat; default the phantom's soft tissues. */
  regions?: Readonly<Record<number, string>>;
  /** Ground-truth label → tissue class 1..K for the anatomy check; default T1 (hypointense, soft, fat). */
  tissueClasses?: readonly number[];
  classNames?: readonly string[];
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

export interface MethodRow {
  method: 'original' | HarmonizeMethod;
  level: 'image' | 'features';
  fitSeconds: number;
  applySeconds: number;
  wasserstein?: { pairs: Record<string, number>; mean: number; relative: number };
  histogramAccuracy?: AccuracySummary;
  tissueAccuracy?: AccuracySummary;
  diceVsTruth?: { mean: number; perClass: Record<string, number>; perSite: Record<string, number> };
  diceVsOriginal?: { mean: number; perClass: Record<string, number> };
  error?: string;
}

export interface HarmonizationReport {
  reference: string;
  sites: string[];
  subjects: { train: Record<string, number>; test: Record<string, number> };
  chance: number;
  segmenter?: { thresholds: number[]; classes: string[]; trainingAccuracy: number };
  rows: MethodRow[];
  /** The per-site histogram plot (PNG), one panel per image-level row. */
  histogramPng: Buffer;
}

export const DEFAULT_REGIONS: Readonly<Record<number, string>> = { 2: 'fat', 3: 'soft', 4: 'gm', 5: 'wm', 6: 'csf', 8: 'marrow' };

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
  const methods = options.methods ?? HARMONIZE_METHODS.filter((m) => m !== 'cyclegan');
  for (const m of methods) {
    if (!HARMONIZE_METHODS.includes(m)) throw new VoxshiftError('INVALID_ARGUMENT', `unknown method ${JSON.stringify(m)} (methods: ${HARMONIZE_METHODS.join(', ')})`, { param: 'methods' });
  }
  const regions = options.regions ?? DEFAULT_REGIONS;
  const classOf = options.tissueClasses ?? T1_TISSUE_CLASSES;
  const classNames = options.classNames ?? T1_CLASS_NAMES;
  const labelled = all.every((s) => s.labels !== undefined);

  log(`foreground masks of ${all.length} images`);
  const masks = new Map(all.map((s) => [s.subjectId, foregroundMask(s.image, s.subjectId)]));
  const mask = (s: ExperimentSubject): Uint8Array => masks.get(s.subjectId) as Uint8Array;
  let segmenter: ThresholdSegmenter | undefined;
  if (labelled) {
    segmenter = fitThresholdSegmenter(
      train.filter((s) => s.site === reference).map((s) => ({ image: s.image.data, labels: (s.labels as Volume).data, mask: mask(s) })),
      classOf,
      classNames,
    );
  }
  const originalKmeans = new Map(test.map((s) => [s.subjectId, kmeansSegmentation(s.image.data, mask(s))]));
  const testSites = test.map((s) => s.site);
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
    const row: MethodRow = {
      method,
      level: 'image',
      fitSeconds,
      applySeconds,
      wasserstein: { pairs, mean: w, relative: w / refSd },
      histogramAccuracy: classify(
        test.map((s, i) => histogramFeatures(sortedCopy(maskedValues(images[i], mask(s))))),
        testSites,
        options.classifier,
      ),
    };
    if (labelled && segmenter) {
      row.tissueAccuracy = classify(test.map((s, i) => regionMeans(s, images[i])), testSites, options.classifier);
      const perSubject = test.map((s, i) => classDice(applyThresholdSegmenter(segmenter as ThresholdSegmenter, images[i].data, mask(s)), truthClasses((s.labels as Volume).data, mask(s), classOf), classNames.length));
      const perSite: Record<string, number> = {};
      for (const site of sites) perSite[site] = mean(perSubject.filter((_, i) => test[i].site === site).map(mean));
      row.diceVsTruth = {
        mean: mean(perSubject.map(mean)),
        perClass: Object.fromEntries(classNames.map((c, k) => [c, mean(perSubject.map((d) => d[k]))])),
        perSite,
      };
    }
    const km = test.map((s, i) => classDice(kmeansSegmentation(images[i].data, mask(s)), originalKmeans.get(s.subjectId) as Uint8Array, 3));
    row.diceVsOriginal = { mean: mean(km.map(mean)), perClass: Object.fromEntries(['low', 'mid', 'high'].map((c, k) => [c, mean(km.map((d) => d[k]))])) };
    return row;
  };

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
      method: method as IntensityMethod,
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
      log(`${method}: fitted in ${fitSeconds.toFixed(1)} s, applied to ${test.length} subjects in ${applySeconds.toFixed(1)} s`);
      rows.push(measureImages(method, out, fitSeconds, applySeconds));
    } finally {
      h.dispose();
    }
  }

  if (methods.includes('combat')) {
    if (!labelled) {
      rows.push({ method: 'combat', level: 'features', fitSeconds: 0, applySeconds: 0, error: 'ComBat needs label maps for its region feature table' });
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
      rows.push({
        method: 'combat',
        level: 'features',
        fitSeconds,
        applySeconds,
        tissueAccuracy: classify(adjusted.values.map((v) => meanCols.map((c) => v[c])), testSites, options.classifier),
      });
    }
  }

  return {
    reference,
    sites,
    subjects: { train: count(train), test: count(test) },
    chance: 1 / sites.length,
    ...(segmenter ? { segmenter: { thresholds: segmenter.thresholds, classes: segmenter.names, trainingAccuracy: segmenter.trainingAccuracy } } : {}),
    rows,
    histogramPng: histogramPlotPng(panels).png,
  };
}

/** The side-by-side table (plain text). */
export function formatReport(r: HarmonizationReport): string {
  const pct = (a?: AccuracySummary): string => (a ? `${(100 * a.accuracy).toFixed(0)}%` : '—');
  const f3 = (v?: number): string => (v === undefined ? '—' : v.toFixed(3));
  const head = ['method', 'W1/σ ref', 'site acc (hist)', 'site acc (tissue)', 'Dice vs truth', 'Dice vs orig', 'fit s', 'apply s'];
  const lines = r.rows.map((row) => [
    row.level === 'features' ? `${row.method} (features)` : row.method,
    row.wasserstein ? row.wasserstein.relative.toFixed(3) : '—',
    pct(row.histogramAccuracy),
    pct(row.tissueAccuracy),
    f3(row.diceVsTruth?.mean),
    f3(row.diceVsOriginal?.mean),
    row.fitSeconds.toFixed(1),
    row.applySeconds.toFixed(1),
  ]);
  const widths = head.map((h, k) => Math.max(h.length, ...lines.map((l) => l[k].length)));
  const fmt = (cells: string[]): string => cells.map((c, k) => (k === 0 ? c.padEnd(widths[k]) : c.padStart(widths[k]))).join('  ');
  const out = [
    `sites ${r.sites.join(', ')} (reference ${r.reference}); train ${JSON.stringify(r.subjects.train)}, held out ${JSON.stringify(r.subjects.test)}; chance ${(100 * r.chance).toFixed(0)}%`,
    fmt(head),
    fmt(head.map((_, k) => '-'.repeat(widths[k]))),
    ...lines.map(fmt),
  ];
  for (const row of r.rows) if (row.error) out.push(`${row.method}: ${row.error}`);
  if (r.segmenter) {
    out.push(`Dice vs truth: mean over tissue classes (${r.segmenter.classes.join(', ')}) of a threshold segmenter learned on ${r.reference}'s training subjects (thresholds ${r.segmenter.thresholds.map((t) => t.toFixed(1)).join(', ')})`);
  }
  return `${out.join('\n')}\n`;
}
