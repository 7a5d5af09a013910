/**
 * One validation run of a synthetic image, as `voxshift validate` does it: the segmentation
 * consistency check (validation/consistency) against the source and, when given, the reference;
 * image metrics against the reference (MAE / mean error / RMSE, PSNR on [−1024, 3000] HU, 3-D SSIM
 * plain and masked, MAE per tissue class of the reference's segmentation, all inside the
 * reference's body mask); per-structure checks with a label map (label-structures.ts). The result
 * is a plain-JSON report (versioned: `format` + `version`; no NaN or Infinity, an undefined number
 * is null) and the maps write-report.ts draws from.
 *
 * Verdict: 'fail' when the consistency check fails, when a labelled structure is flagged, or when
 * `maxMaeHu` is set and the MAE against the reference exceeds it; each reason is a sentence.
 */
import { VoxshiftError } from '../../volumes/errors.ts';
import { sameGeometry } from '../../volumes/affine.ts';
import type { Volume } from '../../volumes/volume.ts';
import { VERSION } from '../../cli/version.ts';
import { checkConsistencyDetailed, defaultSegmenter, DEFAULT_THRESHOLDS } from '../consistency/check-consistency.ts';
import type { ClassComparison, Comparison, ConsistencyMaps, ConsistencyThresholds, Finding } from '../consistency/check-consistency.ts';
import { bodyMask } from '../masks.ts';
import { CT_DATA_RANGE } from '../metrics/data-range.ts';
import { intensityErrors } from '../metrics/intensity-errors.ts';
import { psnr } from '../metrics/psnr.ts';
import { ssim } from '../metrics/ssim.ts';
import { tissueMae } from '../metrics/tissue-mae.ts';
import { comparableMapping, SHARED_CLASS_NAMES } from '../segment/segmenter.ts';
import type { ComparableMapping, Segmenter } from '../segment/segmenter.ts';
import { DEFAULT_LABEL_THRESHOLDS, labelStructures } from './label-structures.ts';
import type { LabelStructure, LabelStructureThresholds } from './label-structures.ts';

export const REPORT_FORMAT = 'voxshift-validation-report';
export const REPORT_VERSION = 1;

export interface ValidationThresholds extends ConsistencyThresholds, LabelStructureThresholds {
  /** Fail when the MAE against the reference (HU, body mask) is above this; null = off (default). */
  maxMaeHu?: number | null;
}

export const DEFAULT_VALIDATION_THRESHOLDS: Required<ValidationThresholds> = { ...DEFAULT_THRESHOLDS, ...DEFAULT_LABEL_THRESHOLDS, maxMaeHu: null };

export interface ValidationInput {
  source: Volume;
  synthetic: Volume;
  reference?: Volume;
  /** A label map on the source grid (non-zero = a structure). */
  labels?: Volume;
  labelNames?: Readonly<Record<number, string>>;
  /** Default: by modality or HU units (defaultSegmenter). */
  sourceSegmenter?: Segmenter;
  syntheticSegmenter?: Segmenter;
  referenceSegmenter?: Segmenter;
  thresholds?: ValidationThresholds;
  /** File names for the report (the inputs' meta.source otherwise). */
  files?: { source?: string; synthetic?: string; reference?: string; labels?: string };
  /** Lines recorded in the report as they are (e.g. how a segmenter was chosen). */
  notes?: string[];
}

export interface InputInfo {
  file: string | null;
  modality: string;
  units: string | null;
  shape: [number, number, number];
  spacing: [number, number, number];
}

export interface TissueMaeRow {
  class: number;
  name: string;
  voxels: number;
  maeHu: number;
  meanErrorHu: number;
}

export interface ImageMetrics {
  /** Where MAE, mean error, RMSE, PSNR and masked SSIM are computed. */
  mask: 'body mask of the reference';
  maskVoxels: number;
  maeHu: number;
  meanErrorHu: number;
  rmseHu: number;
  /** null when the images are identical inside the mask (infinite PSNR). */
  psnrDb: number | null;
  dataRangeHu: [number, number];
  /** skimage-style 3-D SSIM of the whole volume, and SynthRAD's masked SSIM; null when an axis is shorter than the window. */
  ssim: number | null;
  maskedSsim: number | null;
  /** Per class of the reference's segmentation (shared classes), inside the body mask. */
  tissueMae: TissueMaeRow[];
  notes: string[];
}

export type ReportComparison = Omit<Comparison, 'findings'> & { findingIds: number[] };

export interface ReportFinding extends Finding {
  /** The tri-planar overlay (path relative to report.json), null when capped (see images). */
  image: string | null;
}

export interface ValidationReport {
  format: typeof REPORT_FORMAT;
  version: typeof REPORT_VERSION;
  voxshiftVersion: string;
  createdAt: string;
  verdict: 'pass' | 'fail';
  reasons: string[];
  thresholds: Required<ValidationThresholds>;
  inputs: { source: InputInfo; synthetic: InputInfo; reference: InputInfo | null; labels: InputInfo | null };
  grid: { shape: [number, number, number]; spacing: [number, number, number]; origin: [number, number, number]; direction: number[] };
  segmenters: { source: string; synthetic: string; reference: string | null };
  consistency: { verdict: 'pass' | 'fail'; source: ReportComparison; reference: ReportComparison | null };
  /** Every finding, largest first. */
  findings: ReportFinding[];
  imageMetrics: ImageMetrics | null;
  /** Per labelled structure (null without --labels). */
  labels: LabelStructure[] | null;
  /** Filled by writeValidationReport: the images written and how many findings have none. */
  images: { overview: string | null; findings: number; omittedFindings: number; maxImages: number | null };
  notes: string[];
}

export interface ValidationRun {
  report: ValidationReport;
  maps: ConsistencyMaps;
  /** How the source and synthetic segmentations were made comparable. */
  mapping: ComparableMapping;
  volumes: { source: Volume; synthetic: Volume; reference: Volume | null; labels: Volume | null };
}

function finiteOrNull(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}

function info(vol: Volume, file: string | undefined): InputInfo {
  return {
    file: file ?? vol.meta.source ?? null,
    modality: vol.modality,
    units: vol.meta.units ?? null,
    shape: [...vol.shape],
    spacing: [...vol.spacing],
  };
}

function stripFindings(c: Comparison): ReportComparison {
  const { findings, ...rest } = c;
  return { ...rest, findingIds: findings.map((f) => f.id) };
}

function computeImageMetrics(synthetic: Volume, reference: Volume, referenceSeg: Volume<Uint8Array>): ImageMetrics {
  const body = bodyMask(reference);
  let maskVoxels = 0;
  for (let p = 0; p < body.data.length; p++) maskVoxels += body.data[p];
  if (maskVoxels === 0) {
    throw new VoxshiftError('INVALID_ARGUMENT', 'the reference has no body (no voxel above −500 HU / its Otsu threshold): image metrics need one', { param: 'reference' });
  }
  const notes: string[] = [];
  const errors = intensityErrors(synthetic, reference, { mask: body });
  let s: { ssim: number | null; maskedSsim: number | null } = { ssim: null, maskedSsim: null };
  try {
    s = ssim(synthetic, reference, { mask: body });
  } catch (e) {
    notes.push(`SSIM not computed: ${e instanceof Error ? e.message : String(e)}`);
  }
  const tissue = tissueMae(synthetic, reference, referenceSeg, { mask: body, ignore: [0] }).map((r) => ({
    class: r.label,
    name: SHARED_CLASS_NAMES[r.label as keyof typeof SHARED_CLASS_NAMES] ?? String(r.label),
    voxels: r.count,
    maeHu: r.mae,
    meanErrorHu: r.meanError,
  }));
  return {
    mask: 'body mask of the reference',
    maskVoxels,
    maeHu: errors.mae,
    meanErrorHu: errors.meanError,
    rmseHu: errors.rmse,
    psnrDb: finiteOrNull(psnr(synthetic, reference, { mask: body })),
    dataRangeHu: [CT_DATA_RANGE[0], CT_DATA_RANGE[1]],
    ssim: s.ssim === null ? null : finiteOrNull(s.ssim),
    maskedSsim: s.maskedSsim === null ? null : finiteOrNull(s.maskedSsim),
    tissueMae: tissue,
    notes,
  };
}

/** See the file comment. */
export function validate(input: ValidationInput): ValidationRun {
  const { source, synthetic, reference, labels } = input;
  const t: Required<ValidationThresholds> = { ...DEFAULT_VALIDATION_THRESHOLDS, ...input.thresholds };
  if (t.maxMaeHu !== null && !(Number.isFinite(t.maxMaeHu) && t.maxMaeHu >= 0)) {
    throw new VoxshiftError('INVALID_ARGUMENT', `thresholds.maxMaeHu must be null or a number ≥ 0, got ${JSON.stringify(t.maxMaeHu)}`, { param: 'thresholds.maxMaeHu' });
  }
  if (t.maxMaeHu !== null && !reference) {
    throw new VoxshiftError('INVALID_ARGUMENT', 'thresholds.maxMaeHu needs a reference image to compare with', { param: 'thresholds.maxMaeHu' });
  }
  if (labels && source && !sameGeometry(source, labels)) {
    throw new VoxshiftError('GEOMETRY_MISMATCH', `labels (${labels.shape.join('×')}) are not on the grid of the source (${source.shape.join('×')}); resample them onto the source first`, {
      param: 'labels',
    });
  }
  const srcSeg = input.sourceSegmenter ?? defaultSegmenter(source, 'source');
  const synSeg = input.syntheticSegmenter ?? defaultSegmenter(synthetic, 'synthetic');
  const refSeg = reference ? (input.referenceSegmenter ?? defaultSegmenter(reference, 'reference')) : undefined;
  const { maxMaeHu: _m, maxCompositionChange: _c, minStructureMm3: _s, ...consistencyThresholds } = t;
  const { report: c, maps } = checkConsistencyDetailed({
    source,
    synthetic,
    ...(reference ? { reference } : {}),
    sourceSegmenter: srcSeg,
    syntheticSegmenter: synSeg,
    ...(refSeg ? { referenceSegmenter: refSeg } : {}),
    thresholds: consistencyThresholds,
  });
  const mapping = comparableMapping(srcSeg.classes, synSeg.classes);
  const reasons = [...c.reasons];

  const imageMetrics = reference && maps.segmentations.reference ? computeImageMetrics(synthetic, reference, maps.segmentations.reference) : null;
  if (imageMetrics && t.maxMaeHu !== null && imageMetrics.maeHu > t.maxMaeHu) {
    reasons.push(`MAE against the reference is ${imageMetrics.maeHu.toFixed(1)} HU (limit ${t.maxMaeHu} HU)`);
  }
  let structures: LabelStructure[] | null = null;
  if (labels) {
    if (labels.channels !== 1) throw new VoxshiftError('INVALID_ARGUMENT', `labels must have one channel, got ${labels.channels}`, { param: 'labels' });
    structures = labelStructures({
      labels,
      segmentations: { source: maps.segmentations.source, synthetic: maps.segmentations.synthetic },
      mapping,
      synthetic,
      reference: reference ?? null,
      ...(input.labelNames ? { names: input.labelNames } : {}),
      thresholds: { maxCompositionChange: t.maxCompositionChange, minStructureMm3: t.minStructureMm3 },
    });
    for (const s of structures) if (s.reason) reasons.push(s.reason);
  }

  const findings: ReportFinding[] = [...c.findings].sort((a, b) => b.volumeMm3 - a.volumeMm3 || a.id - b.id).map((f) => ({ ...f, image: null }));
  const files = input.files ?? {};
  const report: ValidationReport = {
    format: REPORT_FORMAT,
    version: REPORT_VERSION,
    voxshiftVersion: VERSION,
    createdAt: new Date().toISOString(),
    verdict: reasons.length === 0 ? 'pass' : 'fail',
    reasons,
    thresholds: t,
    inputs: {
      source: info(source, files.source),
      synthetic: info(synthetic, files.synthetic),
      reference: reference ? info(reference, files.reference) : null,
      labels: labels ? info(labels, files.labels) : null,
    },
    grid: c.grid,
    segmenters: { source: srcSeg.name, synthetic: synSeg.name, reference: refSeg ? refSeg.name : null },
    consistency: { verdict: c.verdict, source: stripFindings(c.source), reference: c.reference ? stripFindings(c.reference) : null },
    findings,
    imageMetrics,
    labels: structures,
    images: { overview: null, findings: 0, omittedFindings: findings.length, maxImages: null },
    notes: [...(input.notes ?? [])],
  };
  return { report, maps, mapping, volumes: { source, synthetic, reference: reference ?? null, labels: labels ?? null } };
}

export type { ClassComparison };
