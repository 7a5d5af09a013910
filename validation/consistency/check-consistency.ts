/**
 * Segmentation consistency: did the anatomy survive translation? The source (e.g. MR) and the
 * synthetic image (e.g. synthetic CT), and the reference (real CT) when given, are segmented into
 * the shared tissue classes (validation/segment), both sides are mapped onto the classes they can
 * both show (comparableMapping: MR "dark" against CT air ∪ dense bone, marrow ignored against MR,
 * fluid merged into soft tissue where one side lacks it), and compared:
 *
 * - per comparable class: Dice, volume on each side (mm³) and the volume change in %;
 * - findings: every connected component of voxels that are class c in the synthetic image but not
 *   in the baseline (source, or reference) — "hallucinated" — or c in the baseline but not in the
 *   synthetic image — "removed" — with its volume (mm³), centroid (world LPS mm), bounding box
 *   (voxels) and the axial slice to look at (components.ts).
 *
 * Segmentations of two modalities never agree to the voxel at tissue borders (partial volume, thin
 * skull, skin and cortex), so two filters stand between a difference and a finding:
 * - border tolerance: a voxel that is class c on one side only does not count when the other side
 *   has class c within `toleranceVoxels` (default 2; Euclidean distance in voxels, as partial
 *   volume shifts borders by voxels whatever their size): that is a border drawn a little
 *   elsewhere, not anatomy added or lost. The inside of an ignored region (e.g. cancellous bone
 *   against MR) counts as having every class;
 * - opening (`openingVoxels`, default 1: the 6-neighbour cross; or a ball of `openingMm`): removes
 *   difference sheets up to two voxels thick, such as a thin cortex that MR blurs into the
 *   signal of the marrow or muscle beside it. Structures that thin cannot be checked.
 * What is left is grown back, inside the difference, as far as the two filters reached, so a compact
 * region keeps its whole volume; its connected components (6-connected by default) are the
 * findings. Those smaller than `minVolumeMm3` (default 200 mm³) are dropped and only counted.
 * bench/hallucination.ts measures detection and false alarms with these defaults. Voxels either
 * side maps to IGNORE take part in nothing.
 *
 * Verdict: 'fail' when any finding remains, or when a class with at least `minClassVolumeMm3` in the
 * baseline has Dice below `minDice` or a volume change beyond ±`maxVolumeChangePercent` (both
 * checks off by default); otherwise 'pass'. Every reason is a sentence in `reasons`. The report is
 * plain JSON (no typed arrays, no NaN or Infinity: an undefined change is null).
 */
import { affineOf, sameGeometry } from '../../volumes/affine.ts';
import { VoxshiftError } from '../../volumes/errors.ts';
import { createVolume } from '../../volumes/volume.ts';
import type { Mat3, Shape3, Volume } from '../../volumes/volume.ts';
import { squaredDistanceTransform } from '../metrics/distance-transform.ts';
import { connectedComponents } from '../segment/components.ts';
import type { ComponentSlice, Connectivity } from '../segment/components.ts';
import { ctSegmenter } from '../segment/ct-segmenter.ts';
import { dilate, dilateCross, erode, erodeCross } from '../segment/morphology.ts';
import { mrSegmenter } from '../segment/mr-segmenter.ts';
import { comparableMapping, IGNORE, SHARED_CLASS_NAMES } from '../segment/segmenter.ts';
import type { ComparableMapping, Segmenter, SharedClass } from '../segment/segmenter.ts';

export interface ConsistencyThresholds {
  /** Findings smaller than this are dropped (counted only). Default 200 mm³. */
  minVolumeMm3?: number;
  /**
   * Border tolerance in voxels: a voxel that is class c on one side only does not count when the
   * other side has class c within this distance (Euclidean, in voxels). Default 2.
   */
  toleranceVoxels?: number;
  /** Opening of the difference masks by a cross of this many voxels (0 = none). Default 1. */
  openingVoxels?: number;
  /** Instead of openingVoxels: a ball of this radius in mm (spacing-aware). */
  openingMm?: number | null;
  /** Connectivity of findings; default 6. */
  connectivity?: Connectivity;
  /** Fail when a class's Dice is below this (null = off, the default). */
  minDice?: number | null;
  /** Fail when a class's volume changes by more than ± this % (null = off, the default). */
  maxVolumeChangePercent?: number | null;
  /** Class-level checks apply to classes with at least this volume in the baseline; default 5000 mm³. */
  minClassVolumeMm3?: number;
}

export const DEFAULT_THRESHOLDS: Required<ConsistencyThresholds> = {
  minVolumeMm3: 200,
  toleranceVoxels: 2,
  openingVoxels: 1,
  openingMm: null,
  connectivity: 6,
  minDice: null,
  maxVolumeChangePercent: null,
  minClassVolumeMm3: 5000,
};

export interface CheckConsistencyInput {
  source: Volume;
  synthetic: Volume;
  reference?: Volume;
  /** Default: by modality (CT or HU → ctSegmenter(), MR → mrSegmenter()). */
  sourceSegmenter?: Segmenter;
  syntheticSegmenter?: Segmenter;
  referenceSegmenter?: Segmenter;
  /** Segmentations already made by the matching segmenter (saves time when one source is checked against many images). */
  segmentations?: { source?: Volume<Uint8Array>; synthetic?: Volume<Uint8Array>; reference?: Volume<Uint8Array> };
  thresholds?: ConsistencyThresholds;
}

export interface ClassComparison {
  class: number;
  name: string;
  dice: number;
  /** Volume in the baseline (source or reference) and in the synthetic image, mm³. */
  baselineMm3: number;
  syntheticMm3: number;
  /** (synthetic − baseline) / baseline × 100; null when the baseline has none. */
  volumeChangePercent: number | null;
}

export type FindingType = 'hallucinated' | 'removed';

export interface Finding {
  /** Unique within the report; the value of the finding's voxels in the detailed maps. */
  id: number;
  type: FindingType;
  /** 'source' or 'reference': what the synthetic image was compared with. */
  against: 'source' | 'reference';
  class: number;
  className: string;
  /** The class the other image shows there most often (comparable classes). */
  otherClass: number;
  otherClassName: string;
  voxels: number;
  volumeMm3: number;
  centroidWorld: [number, number, number];
  centroidVoxel: [number, number, number];
  bbox: { min: [number, number, number]; max: [number, number, number] };
  slice: ComponentSlice;
}

export interface Comparison {
  against: 'source' | 'reference';
  segmenters: { baseline: string; synthetic: string };
  comparableClasses: string[];
  mappingRules: string[];
  /** Voxels left out because one side maps them to IGNORE. */
  ignoredVoxels: number;
  classes: ClassComparison[];
  findings: Finding[];
  /** Findings below minVolumeMm3: how many, and the largest one's volume. */
  dropped: { count: number; largestMm3: number };
}

export interface ConsistencyReport {
  verdict: 'pass' | 'fail';
  reasons: string[];
  thresholds: Required<ConsistencyThresholds>;
  grid: { shape: [number, number, number]; spacing: [number, number, number]; origin: [number, number, number]; direction: number[] };
  source: Comparison;
  reference: Comparison | null;
  /** All findings of both comparisons. */
  findings: Finding[];
}

export interface ConsistencyMaps {
  segmentations: { source: Volume<Uint8Array>; synthetic: Volume<Uint8Array>; reference: Volume<Uint8Array> | null };
  /** Finding ids per voxel (a hallucinated and a removed finding may share voxels, hence two maps). */
  hallucinated: Volume<Int32Array>;
  removed: Volume<Int32Array>;
}

/** The segmenter voxshift uses for a volume by default: by HU units or CT modality, else MR. */
export function defaultSegmenter(volume: Volume, param: string): Segmenter {
  if (volume.modality === 'CT' || volume.meta.units === 'HU') return ctSegmenter();
  if (volume.modality === 'MR') return mrSegmenter();
  throw new VoxshiftError(
    'INVALID_ARGUMENT',
    `${param} has modality '${volume.modality}' and units '${volume.meta.units ?? 'unknown'}': pass a segmenter for it (ctSegmenter() for HU images, mrSegmenter() for MR)`,
    { param },
  );
}

function checkThresholds(t: Required<ConsistencyThresholds>): void {
  const bad = (param: string, value: unknown, accepted: string): never => {
    throw new VoxshiftError('INVALID_ARGUMENT', `thresholds.${param} must be ${accepted}, got ${JSON.stringify(value)}`, { param: `thresholds.${param}` });
  };
  if (!(Number.isFinite(t.minVolumeMm3) && t.minVolumeMm3 >= 0)) bad('minVolumeMm3', t.minVolumeMm3, 'a number ≥ 0');
  if (!(Number.isInteger(t.openingVoxels) && t.openingVoxels >= 0 && t.openingVoxels <= 5)) bad('openingVoxels', t.openingVoxels, 'an integer in 0..5');
  if (!(Number.isInteger(t.toleranceVoxels) && t.toleranceVoxels >= 0 && t.toleranceVoxels <= 5)) bad('toleranceVoxels', t.toleranceVoxels, 'an integer in 0..5');
  if (t.openingMm !== null && !(Number.isFinite(t.openingMm) && t.openingMm >= 0)) bad('openingMm', t.openingMm, 'null or a number ≥ 0');
  if (t.connectivity !== 6 && t.connectivity !== 18 && t.connectivity !== 26) bad('connectivity', t.connectivity, '6, 18 or 26');
  if (t.minDice !== null && !(t.minDice >= 0 && t.minDice <= 1)) bad('minDice', t.minDice, 'null or a number in [0, 1]');
  if (t.maxVolumeChangePercent !== null && !(Number.isFinite(t.maxVolumeChangePercent) && t.maxVolumeChangePercent >= 0)) {
    bad('maxVolumeChangePercent', t.maxVolumeChangePercent, 'null or a number ≥ 0');
  }
  if (!(Number.isFinite(t.minClassVolumeMm3) && t.minClassVolumeMm3 >= 0)) bad('minClassVolumeMm3', t.minClassVolumeMm3, 'a number ≥ 0');
}

function checkGrid(a: Volume, aName: string, b: Volume, bName: string): void {
  if (!sameGeometry(a, b)) {
    const show = (v: Volume): string => `shape ${v.shape.join('×')}, affine [${affineOf(v).slice(0, 12).map((x) => +x.toFixed(3)).join(', ')}]`;
    throw new VoxshiftError('GEOMETRY_MISMATCH', `${bName} (${show(b)}) is not on the grid of ${aName} (${show(a)}); resample it onto ${aName} first`, {
      param: bName,
    });
  }
  if (b.channels !== 1) throw new VoxshiftError('INVALID_ARGUMENT', `${bName} must have one channel, got ${b.channels}`, { param: bName });
}

function segmentationOf(vol: Volume, name: string, segmenter: Segmenter, given: Volume<Uint8Array> | undefined): Volume<Uint8Array> {
  if (!given) return segmenter.segment(vol);
  checkGrid(vol, name, given, `segmentations.${name}`);
  if (!(given.data instanceof Uint8Array)) {
    throw new VoxshiftError('INVALID_ARGUMENT', `segmentations.${name} must hold uint8 shared-class labels`, { param: `segmentations.${name}` });
  }
  for (let p = 0; p < given.data.length; p++) {
    if (!segmenter.classes.includes(given.data[p] as SharedClass)) {
      throw new VoxshiftError('INVALID_ARGUMENT', `segmentations.${name} has label ${given.data[p]}, which segmenter '${segmenter.name}' does not output (${segmenter.classes.join(', ')})`, {
        param: `segmentations.${name}`,
      });
    }
  }
  return given;
}

/** `mask` grown by `steps` 6-neighbour steps, optionally only into voxels of `within`. */
function grow(mask: Uint8Array, shape: Volume['shape'], steps: number, within?: Uint8Array): Uint8Array {
  let out = mask;
  for (let s = 0; s < steps; s++) out = dilateCross(out, shape, within);
  return out;
}

/**
 * The difference voxels that are findings: those farther than toleranceVoxels from class `c` in
 * the other image (`lacks`), then the optional opening, then grown back geodesically inside the
 * difference mask as far as those two reached, so a compact region keeps its whole volume.
 */
function cleanDifference(mask: Uint8Array, vol: Volume, t: Required<ConsistencyThresholds>, c: number, lacks: Uint8Array, wild: Uint8Array): Uint8Array {
  let core = mask;
  let back = 0;
  if (t.toleranceVoxels > 0) {
    core = beyondTolerance(mask, lacks, c, wild, vol.shape, t.toleranceVoxels);
    // back by the diagonal too: the ball's reach in 6-neighbour steps
    back += Math.ceil(t.toleranceVoxels * Math.SQRT2);
  }
  if (t.openingMm !== null && t.openingMm > 0) {
    core = dilate(erode(core, vol, t.openingMm), vol, t.openingMm);
    const grown = dilate(core, vol, t.openingMm);
    for (let p = 0; p < grown.length; p++) grown[p] &= mask[p];
    core = grown;
  } else if (t.openingMm === null && t.openingVoxels > 0) {
    const r = t.openingVoxels;
    core = grow(erodeTimes(core, vol.shape, r), vol.shape, r);
    back += r;
  }
  return back > 0 ? grow(core, vol.shape, back, mask) : core;
}

/**
 * The voxels of `mask` farther than `tol` voxels (Euclidean, in voxel units) from every voxel whose
 * `labels` value is `c` or that is `wild`; the distance transform runs on the box of `mask` grown
 * by `tol`.
 */
function beyondTolerance(mask: Uint8Array, labels: Uint8Array, c: number, wild: Uint8Array, shape: Volume['shape'], tol: number): Uint8Array {
  const [nx, ny, nz] = shape;
  const lo = [nx, ny, nz];
  const hi = [-1, -1, -1];
  for (let k = 0, p = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++, p++) {
        if (mask[p] === 0) continue;
        if (i < lo[0]) lo[0] = i;
        if (i > hi[0]) hi[0] = i;
        if (j < lo[1]) lo[1] = j;
        if (j > hi[1]) hi[1] = j;
        if (k < lo[2]) lo[2] = k;
        if (k > hi[2]) hi[2] = k;
      }
    }
  }
  const out = new Uint8Array(mask.length);
  if (hi[0] < 0) return out;
  const pad = Math.ceil(tol);
  const b0 = [0, 1, 2].map((a) => Math.max(0, lo[a] - pad));
  const b1 = [0, 1, 2].map((a) => Math.min(shape[a] - 1, hi[a] + pad));
  const size: Shape3 = [b1[0] - b0[0] + 1, b1[1] - b0[1] + 1, b1[2] - b0[2] + 1];
  const other = new Uint8Array(size[0] * size[1] * size[2]);
  for (let k = 0, q = 0; k < size[2]; k++) {
    for (let j = 0; j < size[1]; j++) {
      for (let i = 0, p = b0[0] + nx * (b0[1] + j + ny * (b0[2] + k)); i < size[0]; i++, p++, q++) other[q] = labels[p] === c || wild[p] !== 0 ? 1 : 0;
    }
  }
  const d2 = squaredDistanceTransform(other, size, [1, 1, 1]);
  const t2 = tol * tol + 1e-9;
  for (let k = 0, q = 0; k < size[2]; k++) {
    for (let j = 0; j < size[1]; j++) {
      for (let i = 0, p = b0[0] + nx * (b0[1] + j + ny * (b0[2] + k)); i < size[0]; i++, p++, q++) if (mask[p] !== 0 && d2[q] > t2) out[p] = 1;
    }
  }
  return out;
}

function erodeTimes(mask: Uint8Array, shape: Volume['shape'], steps: number): Uint8Array {
  let out = mask;
  for (let s = 0; s < steps; s++) out = erodeCross(out, shape);
  return out;
}

interface CompareResult {
  comparison: Comparison;
  hallucinated: Int32Array;
  removed: Int32Array;
}

function compare(
  baseline: Volume<Uint8Array>,
  synthetic: Volume<Uint8Array>,
  mapping: ComparableMapping,
  against: 'source' | 'reference',
  segmenters: { baseline: string; synthetic: string },
  t: Required<ConsistencyThresholds>,
  nextId: { value: number },
): CompareResult {
  const n = baseline.data.length;
  const a = new Uint8Array(n);
  const b = new Uint8Array(n);
  let ignoredVoxels = 0;
  for (let p = 0; p < n; p++) {
    a[p] = mapping.mapA[baseline.data[p]];
    b[p] = mapping.mapB[synthetic.data[p]];
    if (a[p] === IGNORE || b[p] === IGNORE) {
      a[p] = IGNORE;
      b[p] = IGNORE;
      ignoredVoxels++;
    }
  }
  const voxelMm3 = baseline.spacing[0] * baseline.spacing[1] * baseline.spacing[2];
  const na = new Float64Array(256);
  const nb = new Float64Array(256);
  const both = new Float64Array(256);
  for (let p = 0; p < n; p++) {
    na[a[p]]++;
    nb[b[p]]++;
    if (a[p] === b[p]) both[a[p]]++;
  }
  const classes: ClassComparison[] = mapping.classes
    .filter((c) => c !== 0)
    .map((c) => ({
      class: c,
      name: SHARED_CLASS_NAMES[c],
      dice: na[c] + nb[c] === 0 ? 1 : (2 * both[c]) / (na[c] + nb[c]),
      baselineMm3: na[c] * voxelMm3,
      syntheticMm3: nb[c] * voxelMm3,
      volumeChangePercent: na[c] === 0 ? null : ((nb[c] - na[c]) / na[c]) * 100,
    }));

  // the inside of ignored regions (one voxel in from their border) is unknown ground: either side
  // might have any class there, so it counts as "the class is near" for the border tolerance. Its
  // one-voxel rim is left out so a blob's own partial-volume shell (e.g. a fragment's 150–800 HU rim,
  // ignored as marrow against MR) does not excuse the blob.
  const ignoredMask = new Uint8Array(n);
  for (let p = 0; p < n; p++) ignoredMask[p] = a[p] === IGNORE ? 1 : 0;
  const wild = erodeCross(ignoredMask, baseline.shape);
  const hallucinated = new Int32Array(n);
  const removed = new Int32Array(n);
  const findings: Finding[] = [];
  let droppedCount = 0;
  let droppedLargest = 0;
  const mask = new Uint8Array(n);
  for (const type of ['hallucinated', 'removed'] as const) {
    const [has, lacks, out] = type === 'hallucinated' ? [b, a, hallucinated] : [a, b, removed];
    for (const c of mapping.classes) {
      if (c === 0) continue;
      let any = 0;
      for (let p = 0; p < n; p++) {
        const m = has[p] === c && lacks[p] !== c && lacks[p] !== IGNORE ? 1 : 0;
        mask[p] = m;
        any |= m;
      }
      if (any === 0) continue;
      const cleaned = cleanDifference(mask, baseline, t, c, lacks, wild);
      const { labels, components } = connectedComponents({ ...baseline, data: cleaned }, { connectivity: t.connectivity });
      for (const comp of components) {
        if (comp.volumeMm3 < t.minVolumeMm3) {
          droppedCount++;
          droppedLargest = Math.max(droppedLargest, comp.volumeMm3);
          continue;
        }
        const id = nextId.value++;
        const counts = new Float64Array(256);
        const [nx, ny] = baseline.shape;
        const { min, max } = comp.bbox;
        for (let k = min[2]; k <= max[2]; k++) {
          for (let j = min[1]; j <= max[1]; j++) {
            for (let i = min[0], p = min[0] + nx * (j + ny * k); i <= max[0]; i++, p++) {
              if (labels.data[p] !== comp.id) continue;
              out[p] = id;
              counts[lacks[p]]++;
            }
          }
        }
        let other = 0;
        for (let l = 1; l < 255; l++) if (counts[l] > counts[other]) other = l;
        findings.push({
          id,
          type,
          against,
          class: c,
          className: SHARED_CLASS_NAMES[c],
          otherClass: other,
          otherClassName: SHARED_CLASS_NAMES[other as SharedClass] ?? String(other),
          voxels: comp.voxels,
          volumeMm3: comp.volumeMm3,
          centroidWorld: comp.centroidWorld,
          centroidVoxel: comp.centroidVoxel,
          bbox: comp.bbox,
          slice: comp.slice,
        });
      }
    }
  }
  return {
    comparison: {
      against,
      segmenters,
      comparableClasses: mapping.classes.map((c) => SHARED_CLASS_NAMES[c]),
      mappingRules: mapping.rules,
      ignoredVoxels,
      classes,
      findings,
      dropped: { count: droppedCount, largestMm3: droppedLargest },
    },
    hallucinated,
    removed,
  };
}

function fmt(v: number, digits = 1): string {
  return v.toFixed(digits);
}

function reasonsOf(c: Comparison, t: Required<ConsistencyThresholds>): string[] {
  const out: string[] = [];
  const vs = c.against === 'source' ? 'the source' : 'the reference';
  for (const f of c.findings) {
    const [x, y, z] = f.centroidWorld;
    out.push(
      `${f.type} ${f.className}: ${fmt(f.volumeMm3 / 1000, 2)} cm³ at (${fmt(x)}, ${fmt(y)}, ${fmt(z)}) mm LPS, slice ${f.slice.index} along axis ${f.slice.axis}` +
        ` (${f.type === 'hallucinated' ? `${vs} shows ${f.otherClassName} there` : `the synthetic image shows ${f.otherClassName} there`})`,
    );
  }
  for (const k of c.classes) {
    if (k.baselineMm3 < t.minClassVolumeMm3) continue;
    if (t.minDice !== null && k.dice < t.minDice) out.push(`${k.name}: Dice ${fmt(k.dice, 3)} against ${vs} is below ${t.minDice}`);
    if (t.maxVolumeChangePercent !== null && k.volumeChangePercent !== null && Math.abs(k.volumeChangePercent) > t.maxVolumeChangePercent) {
      out.push(`${k.name}: volume changes by ${fmt(k.volumeChangePercent)} % against ${vs} (limit ±${t.maxVolumeChangePercent} %)`);
    }
  }
  return out;
}

/** The report and the label maps behind it (segmentations, finding ids) for overlays. */
export function checkConsistencyDetailed(input: CheckConsistencyInput): { report: ConsistencyReport; maps: ConsistencyMaps } {
  const { source, synthetic, reference } = input;
  if (!source || !synthetic) {
    throw new VoxshiftError('INVALID_ARGUMENT', 'checkConsistency needs both a source and a synthetic volume', { param: source ? 'synthetic' : 'source' });
  }
  const t: Required<ConsistencyThresholds> = { ...DEFAULT_THRESHOLDS, ...input.thresholds };
  checkThresholds(t);
  checkGrid(source, 'source', source, 'source');
  checkGrid(source, 'source', synthetic, 'synthetic');
  if (reference) checkGrid(source, 'source', reference, 'reference');

  const srcSeg = input.sourceSegmenter ?? defaultSegmenter(source, 'source');
  const synSeg = input.syntheticSegmenter ?? defaultSegmenter(synthetic, 'synthetic');
  const given = input.segmentations ?? {};
  const segSource = segmentationOf(source, 'source', srcSeg, given.source);
  const segSynthetic = segmentationOf(synthetic, 'synthetic', synSeg, given.synthetic);
  const nextId = { value: 1 };
  const main = compare(segSource, segSynthetic, comparableMapping(srcSeg.classes, synSeg.classes), 'source', { baseline: srcSeg.name, synthetic: synSeg.name }, t, nextId);

  let ref: CompareResult | null = null;
  let segReference: Volume<Uint8Array> | null = null;
  if (reference) {
    const refSeg = input.referenceSegmenter ?? defaultSegmenter(reference, 'reference');
    segReference = segmentationOf(reference, 'reference', refSeg, given.reference);
    ref = compare(segReference, segSynthetic, comparableMapping(refSeg.classes, synSeg.classes), 'reference', { baseline: refSeg.name, synthetic: synSeg.name }, t, nextId);
    for (let p = 0; p < main.hallucinated.length; p++) {
      if (main.hallucinated[p] === 0) main.hallucinated[p] = ref.hallucinated[p];
      if (main.removed[p] === 0) main.removed[p] = ref.removed[p];
    }
  }

  const reasons = [...reasonsOf(main.comparison, t), ...(ref ? reasonsOf(ref.comparison, t) : [])];
  const report: ConsistencyReport = {
    verdict: reasons.length === 0 ? 'pass' : 'fail',
    reasons,
    thresholds: t,
    grid: {
      shape: [...source.shape],
      spacing: [...source.spacing],
      origin: [...source.origin],
      direction: [...source.direction],
    },
    source: main.comparison,
    reference: ref ? ref.comparison : null,
    findings: [...main.comparison.findings, ...(ref ? ref.comparison.findings : [])],
  };
  const idVolume = (data: Int32Array, what: string): Volume<Int32Array> =>
    createVolume<Int32Array>({
      data,
      shape: source.shape,
      spacing: source.spacing,
      origin: source.origin,
      direction: source.direction as Mat3,
      kind: 'label',
      meta: { units: 'label', description: `${what} finding ids (checkConsistency)` },
    });
  return {
    report,
    maps: {
      segmentations: { source: segSource, synthetic: segSynthetic, reference: segReference },
      hallucinated: idVolume(main.hallucinated, 'hallucinated'),
      removed: idVolume(main.removed, 'removed'),
    },
  };
}

/** See the file comment. */
export function checkConsistency(input: CheckConsistencyInput): ConsistencyReport {
  return checkConsistencyDetailed(input).report;
}
