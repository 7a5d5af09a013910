/**
 * # Site harmonisation — make one site's scans look like another's
 *
 * ```ts
 * const model = await fitHarmonizer({ method: 'nyul', sites: { siteA: volsA, siteB: volsB }, reference: 'siteA' });
 * await saveHarmonizerModel(model, 'nyul.json');
 * const out = await applyHarmonizer('nyul.json', volume);             // same grid, reference units, +1 history entry
 * const { model: combat, adjusted } = fitCombat(trainTable, { covariates: ['age'], reference: 'siteA' });
 * const held = applyCombat(combat, newTable);                          // no refit
 * const report = await harmonizationReport({ subjects, reference: 'siteA', methods: ['zscore', 'nyul', 'histmatch', 'combat'] });
 * ```
 *
 * Image methods (fit on the reference site, applied to any image; output in the reference site's
 * intensity scale): `zscore`, `whitestripe`, `nyul`, `histmatch` (per image, no site needed) and
 * `cyclegan` (one model per source site, so applying needs the site). ComBat works on feature
 * tables (per-region means and volumes). Every fitted model is one JSON document
 * (`voxshift-harmonizer`, version 1, or 2 with a `biasCorrection` pre-step (bias-correct.ts): method, reference site, sites and subject counts, parameters);
 * loading validates it field by field. See each module for the method and its reference.
 */
export { BIAS_CORRECTION_DEFAULTS, correctBias, estimateBiasField, resolveBiasCorrection } from './bias-correct.ts';
export type { BiasCorrectionOptions, BiasCorrectionSpec, BiasFieldEstimate } from './bias-correct.ts';
export { applyCombat, fitCombat, validateCombatParameters } from './combat.ts';
export type { CombatFit, CombatOptions, CombatParameters, CovariateSpec } from './combat.ts';
export { fitCycleGan, openCycleGan } from './cyclegan.ts';
export type { CycleGanApplier, CycleGanFitOptions } from './cyclegan.ts';
export { formatFeatureCsv, parseFeatureCsv, readFeatureCsv, selectRows, validateFeatureTable, writeFeatureCsv } from './feature-table.ts';
export type { CovariateColumn, FeatureTable } from './feature-table.ts';
export { checkIntensityVolume, commonModality, foregroundMask, maskedValues } from './foreground.ts';
export type { MaskSpec } from './foreground.ts';
export { applyHarmonizer, fitHarmonizer, openHarmonizer } from './harmonizer.ts';
export type { ApplyOptions, FitHarmonizerOptions, Harmonizer } from './harmonizer.ts';
export { applyHistMatch, fitHistMatch } from './histmatch.ts';
export type { HistMatchOptions } from './histmatch.ts';
export {
  BIAS_CORRECTION_MODEL_VERSION,
  HARMONIZE_METHODS,
  HARMONIZER_FORMAT,
  HARMONIZER_MAX_VERSION,
  HARMONIZER_MODEL_VERSION,
  INTENSITY_METHODS,
  loadHarmonizerModel,
  modelDigest,
  saveHarmonizerModel,
  validateHarmonizerModel,
} from './model.ts';
export type { CombatModel, CycleGanModel, HarmonizeMethod, HarmonizerModel, HistMatchModel, IntensityMethod, IntensityModel, NyulModel, WhiteStripeModel, ZScoreModel } from './model.ts';
export { applyNyul, fitNyul, landmarksOf, NYUL_PERCENTILES } from './nyul.ts';
export type { NyulOptions } from './nyul.ts';
export { PHANTOM_REFERENCE_SITE, PHANTOM_SITE_SHAPE, PHANTOM_SITES, phantomSiteCohort } from './phantom-sites.ts';
export type { PhantomSiteOptions, PhantomSiteSubject } from './phantom-sites.ts';
export { regionFeatures } from './region-features.ts';
export type { SiteSubject, SiteVolumes } from './sites.ts';
export { applyWhiteStripe, findWhiteStripe, fitWhiteStripe, WHITESTRIPE_DEFAULTS } from './whitestripe.ts';
export type { WhiteStripe, WhiteStripeOptions } from './whitestripe.ts';
export { applyZScore, fitZScore } from './zscore.ts';
export { applyThresholdSegmenter, classDice, fitThresholdSegmenter, kmeansSegmentation, T1_CLASS_NAMES, T1_TISSUE_CLASSES, truthClasses } from './measure/anatomy.ts';
export type { ThresholdSegmenter } from './measure/anatomy.ts';
export { histogramPlotPng } from './measure/histogram-plot.ts';
export type { HistogramPanel } from './measure/histogram-plot.ts';
export { DEFAULT_REGIONS, formatReport, harmonizationReport } from './measure/report.ts';
export type { ExperimentSubject, HarmonizationReport, MethodRow, ReportOptions } from './measure/report.ts';
export { crossValidatedSiteAccuracy, histogramFeatures, HISTOGRAM_FEATURE_PERCENTILES } from './measure/site-classifier.ts';
export type { ClassifierKind, ClassifierResult } from './measure/site-classifier.ts';
export { pairwiseWasserstein, wasserstein1 } from './measure/wasserstein.ts';
export { LEARNED_CLASS_NAMES, learnedClasses, learnedDiceVsTruth, trainAnatomySegmenter } from './measure/learned-anatomy.ts';
export type { AnatomyTrainingSubject, LearnedAnatomyOptions, TrainedAnatomySegmenter } from './measure/learned-anatomy.ts';
