/**
 * Generative label → image synthesis (SynthSeg's generative model): every label value l gets a random
 * Gaussian (mean μ_l, sd σ_l) drawn from configurable ranges; each voxel of label l takes a draw from
 * N(μ_l, σ_l); the image is then blurred (σ in mm) and multiplied by a smooth bias field. The labels
 * match the image by construction.
 *
 * `RandomLabelToImage` draws μ, σ, the blur, the bias coefficients and a noise seed, and returns the
 * deterministic twin `LabelToImage` whose params (all of them, JSON) go into the history, so a sample
 * replays bit for bit. The image is written under `image` (replacing that volume when the subject has
 * it, adding it otherwise); the label map is untouched.
 */
import { VoxshiftError } from '../../volumes/errors.ts';
import { createRng, nextSeed, normal, uniform } from '../../volumes/random.ts';
import { deriveVolume, voxelCount } from '../../volumes/volume.ts';
import type { HistoryEntry, Volume } from '../../volumes/volume.ts';
import { biasField, biasTermCount } from '../intensity/bias-field.ts';
import { blurAxis } from '../intensity/blur.ts';
import { OptionReader } from '../options.ts';
import type { Range, Vec3 } from '../options.ts';
import type { Subject } from '../subject.ts';
import { checkRng, Identity } from '../transform.ts';
import type { DeterministicTransform, Transform } from '../transform.ts';

export type SynthesisStyle = 'mr' | 'ct';

export interface LabelRanges {
  mean: Range;
  sd: Range;
}

/**
 * Defaults per style. MR-like: background 0 dark ([0, 30]), every other label anywhere in [30, 1000]
 * (contrast-agnostic, as SynthSeg). CT-like (HU): background air ([-1024, -950]), other labels in
 * [-150, 1500] (fat to bone).
 */
export const SYNTHESIS_DEFAULTS: Readonly<Record<SynthesisStyle, { background: LabelRanges; other: LabelRanges }>> = {
  mr: { background: { mean: [0, 30], sd: [0, 10] }, other: { mean: [30, 1000], sd: [5, 50] } },
  ct: { background: { mean: [-1024, -950], sd: [0, 20] }, other: { mean: [-150, 1500], sd: [5, 40] } },
};

export interface LabelToImageParams {
  /** Key of the label map (default: the subject's only label map). */
  labels?: string;
  /** Key the image is written under (default 'image'). */
  image?: string;
  style: SynthesisStyle;
  /** The label values and their Gaussians (same lengths). */
  classes: number[];
  means: number[];
  sds: number[];
  /** Seed of the per-voxel draws. */
  noiseSeed: number;
  blurSigmaMm: Vec3;
  biasOrder: number;
  biasCoefficients: number[];
}

function labelKey(subject: Subject, given: string | undefined, where: string): string {
  if (given !== undefined) {
    if (subject[given]?.kind !== 'label') {
      throw new VoxshiftError('INVALID_ARGUMENT', `${where}.labels names ${JSON.stringify(given)}, which is not a label map of the subject (${Object.keys(subject).join(', ')})`, {
        param: `${where}.labels`,
      });
    }
    return given;
  }
  const keys = Object.keys(subject).filter((k) => subject[k].kind === 'label');
  if (keys.length !== 1) {
    throw new VoxshiftError('INVALID_ARGUMENT', `${where} needs exactly one label map in the subject or a "labels" key; the subject has ${keys.length} (${keys.join(', ') || 'none'})`, {
      param: `${where}.labels`,
    });
  }
  return keys[0];
}

/** Distinct label values (first channel), ascending. */
export function labelValues(vol: Volume): number[] {
  const n = voxelCount(vol.shape);
  const seen = new Set<number>();
  for (let i = 0; i < n; i++) seen.add(vol.data[i]);
  return [...seen].sort((a, b) => a - b);
}

/** The image before blur and bias: N(μ_l, σ_l) per voxel of label l. */
export function sampleMixture(labels: Volume, classes: readonly number[], means: readonly number[], sds: readonly number[], noiseSeed: number): Float32Array {
  const n = voxelCount(labels.shape);
  const index = new Map<number, number>(classes.map((c, i) => [c, i]));
  const rng = createRng(noiseSeed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const c = index.get(labels.data[i]);
    if (c === undefined) {
      throw new VoxshiftError('INVALID_ARGUMENT', `label value ${labels.data[i]} has no Gaussian (classes ${classes.join(', ')})`, { param: 'classes' });
    }
    out[i] = sds[c] > 0 ? normal(rng, means[c], sds[c]) : means[c];
  }
  return out;
}

export function LabelToImage(params: LabelToImageParams, where = 'LabelToImage'): DeterministicTransform {
  const r = new OptionReader(where, params, ['labels', 'image', 'style', 'classes', 'means', 'sds', 'noiseSeed', 'blurSigmaMm', 'biasOrder', 'biasCoefficients']);
  const style = r.choice<SynthesisStyle>('style', 'mr', ['mr', 'ct']);
  const classes = r.numbers('classes', undefined);
  const means = r.numbers('means', undefined, classes.length);
  const sds = r.numbers('sds', undefined, classes.length);
  if (sds.some((s) => s < 0)) r.fail('sds', 'expected non-negative numbers', sds);
  if (new Set(classes).size !== classes.length) r.fail('classes', 'expected distinct label values', classes);
  const noiseSeed = r.seed('noiseSeed');
  const blurSigmaMm = r.vec3('blurSigmaMm', [0, 0, 0], 0, 1000);
  const biasOrder = r.number('biasOrder', 3, 0, 6, true);
  const biasCoefficients = r.numbers('biasCoefficients', new Array<number>(biasTermCount(biasOrder)).fill(0), biasTermCount(biasOrder));
  const image = r.has('image') ? String(r.raw('image')) : 'image';
  if (r.has('image') && (typeof r.raw('image') !== 'string' || image.length === 0)) r.fail('image', 'expected a volume name', r.raw('image'));
  const labelsGiven = r.has('labels') ? (r.raw('labels') as string) : undefined;
  if (labelsGiven !== undefined && typeof labelsGiven !== 'string') r.fail('labels', 'expected a volume name', labelsGiven);
  const frozen = Object.freeze({
    ...(labelsGiven !== undefined ? { labels: labelsGiven } : {}),
    image,
    style,
    classes,
    means,
    sds,
    noiseSeed,
    blurSigmaMm,
    biasOrder,
    biasCoefficients,
  });
  const step: HistoryEntry = { op: 'LabelToImage', params: frozen };
  const self: DeterministicTransform = Object.freeze({
    name: 'LabelToImage',
    params: frozen,
    invertible: false,
    inverse(): DeterministicTransform {
      throw new VoxshiftError('INVALID_ARGUMENT', 'LabelToImage is not invertible', { param: 'transform' });
    },
    sample: () => self,
    apply(subject: Subject): Subject {
      const lk = labelKey(subject, labelsGiven, where);
      const labels = subject[lk];
      if (image === lk) r.fail('image', 'must differ from the label map key', image);
      const d = sampleMixture(labels, classes, means, sds, noiseSeed);
      for (let a = 0; a < 3; a++) blurAxis(d, labels.shape, a, blurSigmaMm[a] / labels.spacing[a]);
      if (biasCoefficients.some((c) => c !== 0)) {
        const field = biasField(labels.shape, biasOrder, biasCoefficients);
        for (let i = 0; i < d.length; i++) d[i] *= field[i];
      }
      const before = subject[image];
      const out = deriveVolume(
        labels,
        {
          data: d,
          channels: 1,
          kind: 'intensity',
          modality: style === 'ct' ? 'CT' : 'MR',
          meta: { units: style === 'ct' ? 'HU' : 'arbitrary' },
          history: before?.history ?? labels.history,
        },
        step,
      );
      return Object.freeze({ ...subject, [image]: out });
    },
  });
  return self;
}

export interface RandomLabelToImageOptions {
  labels?: string;
  image?: string;
  /** Default ranges: 'mr' (default) or 'ct', see SYNTHESIS_DEFAULTS. */
  style?: SynthesisStyle;
  /** Ranges for label 0 and for every other label (override the style's). */
  background?: Partial<LabelRanges>;
  other?: Partial<LabelRanges>;
  /** Ranges for particular label values, e.g. { "3": { "mean": [800, 900] } }. */
  perLabel?: Record<string, Partial<LabelRanges>>;
  /** Blur σ (mm) per axis, uniform in this range. Default [0, 1]. */
  blurSigmaMm?: Range;
  /** Bias coefficients uniform in ±this (order `biasOrder`, default 3). Default 0.3. */
  biasCoefficients?: number;
  biasOrder?: number;
  p?: number;
}

function readRanges(r: OptionReader, key: string, value: unknown, def: LabelRanges): LabelRanges {
  const sub = new OptionReader(`${r.where}.${key}`, value, ['mean', 'sd']);
  return { mean: sub.range('mean', def.mean), sd: sub.range('sd', def.sd, 0) };
}

export function RandomLabelToImage(options: RandomLabelToImageOptions = {}, where = 'RandomLabelToImage'): Transform {
  const r = new OptionReader(where, options, ['labels', 'image', 'style', 'background', 'other', 'perLabel', 'blurSigmaMm', 'biasCoefficients', 'biasOrder', 'p']);
  const style = r.choice<SynthesisStyle>('style', 'mr', ['mr', 'ct']);
  const background = readRanges(r, 'background', r.raw('background'), SYNTHESIS_DEFAULTS[style].background);
  const other = readRanges(r, 'other', r.raw('other'), SYNTHESIS_DEFAULTS[style].other);
  const perLabelRaw = r.raw('perLabel') ?? {};
  if (typeof perLabelRaw !== 'object' || perLabelRaw === null || Array.isArray(perLabelRaw)) r.fail('perLabel', 'expected an object { "<label>": { mean, sd } }', perLabelRaw);
  const perLabel = new Map<number, LabelRanges>();
  for (const [k, v] of Object.entries(perLabelRaw as Record<string, unknown>)) {
    const value = Number(k);
    if (!Number.isFinite(value) || k.trim() === '') r.fail('perLabel', `expected label values as keys, got key ${JSON.stringify(k)}`, perLabelRaw);
    perLabel.set(value, readRanges(r, `perLabel.${k}`, v, value === 0 ? background : other));
  }
  const blur = r.range('blurSigmaMm', [0, 1], 0, 1000);
  const c = r.number('biasCoefficients', 0.3, 0, 5);
  const biasOrder = r.number('biasOrder', 3, 0, 6, true);
  const p = r.prob('p', 1);
  const fixed = {
    ...(r.has('labels') ? { labels: r.raw('labels') as string } : {}),
    ...(r.has('image') ? { image: r.raw('image') as string } : {}),
  };
  const self: Transform = Object.freeze({
    name: 'RandomLabelToImage',
    sample(subject: Subject, rng: Parameters<Transform['sample']>[1]): DeterministicTransform {
      checkRng(rng, 'RandomLabelToImage');
      if (p < 1 && !(rng() < p)) return Identity;
      const classes = labelValues(subject[labelKey(subject, fixed.labels, where)]);
      const ranges = classes.map((l) => perLabel.get(l) ?? (l === 0 ? background : other));
      const means = ranges.map((g) => uniform(rng, ...g.mean));
      const sds = ranges.map((g) => uniform(rng, ...g.sd));
      const blurSigmaMm: Vec3 = [uniform(rng, ...blur), uniform(rng, ...blur), uniform(rng, ...blur)];
      const biasCoefficients = Array.from({ length: biasTermCount(biasOrder) }, () => uniform(rng, -c, c));
      return LabelToImage({ ...fixed, style, classes, means, sds, noiseSeed: nextSeed(rng), blurSigmaMm, biasOrder, biasCoefficients }, where);
    },
    apply(subject: Subject, rng?: Parameters<Transform['sample']>[1]): Subject {
      checkRng(rng, 'RandomLabelToImage');
      return self.sample(subject, rng).apply(subject);
    },
  });
  return self;
}
