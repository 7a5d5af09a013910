/**
 * Per-structure checks with a label map on the source grid (e.g. TotalSegmentator labels): for each
 * label value l > 0, with S = its voxels,
 *
 * - mean intensity of the synthetic image in S (HU for a synthetic CT), and of the reference with
 *   its MAE against the synthetic image when a reference is given;
 * - shared-class composition: C = the voxels of S that neither side maps to IGNORE under the
 *   comparison's mapping (comparableMapping of the source and synthetic segmenters' classes);
 *   p_c = |{x ∈ C : source class c}| / |C| and q_c likewise for the synthetic segmentation;
 *   compositionChange = ½ Σ_c |p_c − q_c| (total variation distance, 0..1: the smallest fraction
 *   of the structure that has to change class to turn one composition into the other);
 * - judged when C is at least `minStructureMm3` and at least half of S (a structure mostly ignored
 *   by one side, e.g. cancellous bone against an MR, has a biased remainder: it is listed, not
 *   judged); flagged when judged and compositionChange > `maxCompositionChange` (default 0.5: more
 *   than half of the structure changed class, e.g. a kidney, soft tissue on the MR, that the
 *   synthetic CT shows as air — "dark").
 */
import { VoxshiftError } from '../../volumes/errors.ts';
import type { Volume } from '../../volumes/volume.ts';
import { IGNORE, SHARED_CLASS_NAMES } from '../segment/segmenter.ts';
import type { ComparableMapping, SharedClass } from '../segment/segmenter.ts';

export interface LabelStructureThresholds {
  /** Flag a structure whose composition change exceeds this (0..1). Default 0.5. */
  maxCompositionChange?: number;
  /** Judge only structures with at least this many compared mm³ (and at least half of them compared). Default 1000 mm³. */
  minStructureMm3?: number;
}

export const DEFAULT_LABEL_THRESHOLDS: Required<LabelStructureThresholds> = { maxCompositionChange: 0.5, minStructureMm3: 1000 };

export interface LabelStructure {
  label: number;
  name: string | null;
  voxels: number;
  volumeMm3: number;
  /** Mean of the synthetic image in the structure (its units, HU for CT). */
  meanSynthetic: number;
  meanReference: number | null;
  /** Mean |synthetic − reference| in the structure. */
  maeReference: number | null;
  /** Voxels of the structure that take part in the composition (neither side ignored). */
  comparedVoxels: number;
  /** Fractions of the compared voxels per comparable class name (classes with none left out). */
  composition: { source: Record<string, number>; synthetic: Record<string, number> };
  /** The most frequent comparable class on each side (null when nothing is compared). */
  dominant: { source: string | null; synthetic: string | null };
  /** Total variation distance of the two compositions; null when nothing is compared. */
  compositionChange: number | null;
  /** Large enough and mostly compared (see the file comment). */
  judged: boolean;
  flagged: boolean;
  /** Why it was flagged (a sentence), else null. */
  reason: string | null;
}

export interface LabelStructuresInput {
  labels: Volume;
  segmentations: { source: Volume<Uint8Array>; synthetic: Volume<Uint8Array> };
  mapping: ComparableMapping;
  synthetic: Volume;
  reference?: Volume | null;
  names?: Readonly<Record<number, string>>;
  thresholds?: LabelStructureThresholds;
}

function checkThresholds(t: Required<LabelStructureThresholds>): void {
  if (!(t.maxCompositionChange >= 0 && t.maxCompositionChange <= 1)) {
    throw new VoxshiftError('INVALID_ARGUMENT', `thresholds.maxCompositionChange must be a number in [0, 1], got ${JSON.stringify(t.maxCompositionChange)}`, {
      param: 'thresholds.maxCompositionChange',
    });
  }
  if (!(Number.isFinite(t.minStructureMm3) && t.minStructureMm3 >= 0)) {
    throw new VoxshiftError('INVALID_ARGUMENT', `thresholds.minStructureMm3 must be a number ≥ 0, got ${JSON.stringify(t.minStructureMm3)}`, {
      param: 'thresholds.minStructureMm3',
    });
  }
}

function className(c: number): string {
  return SHARED_CLASS_NAMES[c as SharedClass] ?? String(c);
}

export function labelStructures(input: LabelStructuresInput): LabelStructure[] {
  const t: Required<LabelStructureThresholds> = { ...DEFAULT_LABEL_THRESHOLDS, ...input.thresholds };
  checkThresholds(t);
  const { labels, mapping, synthetic } = input;
  const reference = input.reference ?? null;
  const src = input.segmentations.source.data;
  const syn = input.segmentations.synthetic.data;
  const n = labels.data.length;
  for (const [name, v] of [
    ['synthetic', synthetic.data.length],
    ['segmentations.source', src.length],
    ['segmentations.synthetic', syn.length],
    ['reference', reference ? reference.data.length : n],
  ] as const) {
    if (v !== n) throw new VoxshiftError('GEOMETRY_MISMATCH', `${name} has ${v} voxels, the label map ${n}`, { param: name });
  }
  interface Acc {
    voxels: number;
    sumSyn: number;
    sumRef: number;
    absRef: number;
    compared: number;
    a: Float64Array;
    b: Float64Array;
  }
  const acc = new Map<number, Acc>();
  const l = labels.data;
  for (let p = 0; p < n; p++) {
    const label = l[p];
    if (label === 0) continue;
    if (!Number.isInteger(label) || label < 0) {
      throw new VoxshiftError('INVALID_ARGUMENT', `labels must hold non-negative integers, found ${label} at index ${p}`, { param: 'labels' });
    }
    let s = acc.get(label);
    if (!s) {
      s = { voxels: 0, sumSyn: 0, sumRef: 0, absRef: 0, compared: 0, a: new Float64Array(256), b: new Float64Array(256) };
      acc.set(label, s);
    }
    s.voxels++;
    const v = synthetic.data[p];
    s.sumSyn += v;
    if (reference) {
      s.sumRef += reference.data[p];
      s.absRef += Math.abs(v - reference.data[p]);
    }
    const ca = mapping.mapA[src[p]];
    const cb = mapping.mapB[syn[p]];
    if (ca === IGNORE || cb === IGNORE) continue;
    s.compared++;
    s.a[ca]++;
    s.b[cb]++;
  }
  const voxelMm3 = labels.spacing[0] * labels.spacing[1] * labels.spacing[2];
  return [...acc.entries()]
    .sort((x, y) => x[0] - y[0])
    .map(([label, s]): LabelStructure => {
      const composition = { source: {} as Record<string, number>, synthetic: {} as Record<string, number> };
      let tv = 0;
      let domA = -1;
      let domB = -1;
      for (const c of mapping.classes) {
        const pa = s.compared > 0 ? s.a[c] / s.compared : 0;
        const pb = s.compared > 0 ? s.b[c] / s.compared : 0;
        if (pa > 0) composition.source[className(c)] = pa;
        if (pb > 0) composition.synthetic[className(c)] = pb;
        tv += Math.abs(pa - pb);
        if (s.a[c] > 0 && (domA < 0 || s.a[c] > s.a[domA])) domA = c;
        if (s.b[c] > 0 && (domB < 0 || s.b[c] > s.b[domB])) domB = c;
      }
      const change = s.compared > 0 ? tv / 2 : null;
      const name = input.names?.[label] ?? null;
      const judged = change !== null && s.compared * voxelMm3 >= t.minStructureMm3 && 2 * s.compared >= s.voxels;
      const flagged = judged && change > t.maxCompositionChange;
      const what = name !== null ? `${name} (label ${label})` : `label ${label}`;
      const pct = (x: number): string => `${(x * 100).toFixed(0)} %`;
      return {
        label,
        name,
        voxels: s.voxels,
        volumeMm3: s.voxels * voxelMm3,
        meanSynthetic: s.sumSyn / s.voxels,
        meanReference: reference ? s.sumRef / s.voxels : null,
        maeReference: reference ? s.absRef / s.voxels : null,
        comparedVoxels: s.compared,
        composition,
        dominant: { source: domA < 0 ? null : className(domA), synthetic: domB < 0 ? null : className(domB) },
        compositionChange: change,
        judged,
        flagged,
        reason: flagged
          ? `${what}: ${pct(change)} of its tissue changed class (source mostly ${className(domA)} ${pct(s.a[domA] / s.compared)}, synthetic mostly ${className(domB)} ${pct(s.b[domB] / s.compared)}; limit ${pct(t.maxCompositionChange)})`
          : null,
      };
    });
}
