/**
 * Trains a segmentation U-Net (unet-segmenter.ts) on image/label-map pairs: Adam with a polynomial
 * learning-rate decay (nnU-Net's (1 − t/T)^0.9), soft Dice + cross-entropy (losses.ts), patches from
 * models3d's paired sampler weighted towards labelled voxels, seeded throughout (weights, patches,
 * augmentation): the same inputs and seed give the same weights. Every step is leak-free.
 *
 * Augmentation (optional): a pool of augmented copies of the training subjects (augment/ pipelines,
 * each copy drawn with its own seed) is sampled together with the originals; every `refreshEvery`
 * steps one copy is replaced by a fresh one, so the network sees new variations as training goes on.
 */
import * as tf from '@tensorflow/tfjs-core';
import { defaultNormalizationSpec, prepareDomainVolume, referenceNormalization, type DomainVolume } from '../../../models3d/data/domain-volume.ts';
import { createPairedSampler, type Sampler } from '../../../models3d/data/samplers.ts';
import { buildNetwork } from '../../../models3d/networks/build-network.ts';
import { createRng as createWeightRng } from '../../../models3d/networks/rng.ts';
import { checkInt } from '../../../models3d/networks/validate.ts';
import { Adam } from '../../../models3d/training/optimizer.ts';
import { sampleSeed } from '../../../augment/export/sample.ts';
import { createSubject } from '../../../augment/subject.ts';
import type { Transform } from '../../../augment/transform.ts';
import { VoxshiftError } from '../../../volumes/errors.ts';
import type { NormalizationSpec } from '../../../volumes/normalize.ts';
import { createRng } from '../../../volumes/random.ts';
import type { Axis } from '../../../volumes/slices.ts';
import type { Modality, Volume } from '../../../volumes/volume.ts';
import { createClassBalancedSampler } from './class-sampler.ts';
import { checkLabelMap, classIndexMap, resolveClasses, resolveSharedMapping, type SegmenterClass, type SharedClassMapping } from './classes.ts';
import { createLearnedSegmenter, type LearnedSegmenter, type SegmenterInfo } from './learned-segmenter.ts';
import { diceCrossEntropyLoss } from './losses.ts';
import { patchBox, type WindowLayout } from './segment-volume.ts';
import { describeUnetSegmenter } from './unet-segmenter.ts';

export interface TrainingSubject {
  /** Names the subject in errors (a file stem or phantom id). */
  id: string;
  image: Volume;
  label: Volume;
}

export interface SegmenterAugmentation {
  pipeline: Transform;
  /** Recorded in the manifest (e.g. "preset:mr" or a file name). */
  name: string;
  /** Augmented copies kept at once (default 2 per subject). */
  poolSize?: number;
  /** Steps between replacing one copy with a fresh one (default 10; 0 = never). */
  refreshEvery?: number;
}

export interface TrainSegmenterOptions {
  subjects: readonly TrainingSubject[];
  spatialDims?: 2 | 3;
  /** 2-D slicing axis (default 2). */
  axis?: Axis;
  /** Patch side (square/cube) or sizes in tensor order (2-D [h, w], 3-D [d, h, w]); default 64 (2-D), 32 (3-D). */
  patchSize?: number | readonly number[];
  /** Default 8 (2-D), 2 (3-D). */
  batchSize?: number;
  /** Default 500. */
  steps?: number;
  /** Initial Adam learning rate (default 1e-3). */
  learningRate?: number;
  /** U-Net first-level channels (default 16) and downsamplings (default 3). */
  filters?: number;
  depth?: number;
  /** Foreground classes (default: every non-zero label value found). */
  classes?: readonly SegmenterClass[];
  /** Label value → shared class, stored with the segmenter (see asSegmenter). */
  sharedClasses?: SharedClassMapping;
  /** Default: the first image's modality. CT → HU window, otherwise per-volume percentiles. */
  modality?: Modality;
  normalization?: NormalizationSpec;
  /** Probability that a patch is centred on a labelled (non-background) voxel (default 0.5). */
  foregroundProb?: number;
  /**
   * Centre those patches on a voxel of a class drawn uniformly among the foreground classes (nnU-Net's
   * class-balanced oversampling; class-sampler.ts) instead of on any labelled voxel, so small classes
   * are seen as often as large ones (default false).
   */
  classBalanced?: boolean;
  seed?: number;
  augmentation?: SegmenterAugmentation;
  onStep?: (report: SegmenterStepReport) => void;
  /** Aborting stops after the current step; the result is the segmenter as trained so far. */
  signal?: AbortSignal;
}

export interface SegmenterStepReport {
  step: number;
  totalSteps: number;
  loss: number;
  ce: number;
  dice: number;
  learningRate: number;
  secondsPerStep: number;
}

export interface TrainSegmenterResult {
  segmenter: LearnedSegmenter;
  /** Total loss of every step. */
  losses: number[];
  steps: number;
  interrupted: boolean;
  seconds: number;
}

interface Pair {
  a: DomainVolume;
  b: DomainVolume;
}

function bad(param: string, message: string, received: unknown): never {
  throw new VoxshiftError('INVALID_ARGUMENT', `${param} ${message}, got ${JSON.stringify(received)}`, { param, details: { received } });
}

function median(values: number[]): number {
  const s = [...values].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function patchSizeOf(given: TrainSegmenterOptions['patchSize'], dims: 2 | 3, multiple: number): number[] {
  const raw = given ?? (dims === 2 ? 64 : 32);
  const sizes = typeof raw === 'number' ? Array<number>(dims).fill(raw) : [...raw];
  if (sizes.length !== dims || !sizes.every((n) => Number.isInteger(n) && n >= multiple && n % multiple === 0)) {
    bad('patchSize', `must be ${dims} positive multiples of ${multiple} (2^depth)`, raw);
  }
  return sizes;
}

/** One subject as sampler inputs: the normalised image and its class-index map, labelled voxels as foreground. */
function preparePair(image: Volume, label: Volume, id: string, spec: NormalizationSpec, classes: readonly SegmenterClass[]): Pair {
  const a = prepareDomainVolume(image, spec, id);
  const index = classIndexMap(label, classes);
  const foreground = new Uint8Array(index.length);
  for (let p = 0; p < index.length; p++) foreground[p] = index[p] > 0 ? 1 : 0;
  return { a: { ...a, foreground }, b: { ...a, name: `${id} (labels)`, data: index, foreground, source: label } };
}

/** Trains a segmenter; see the file comment. The caller disposes `result.segmenter`. */
export async function trainSegmenter(options: TrainSegmenterOptions): Promise<TrainSegmenterResult> {
  const subjects: readonly TrainingSubject[] = options.subjects;
  if (!Array.isArray(subjects as unknown) || subjects.length === 0) bad('subjects', 'must be a non-empty array of { id, image, label }', subjects);
  const dims = options.spatialDims ?? 2;
  if (dims !== 2 && dims !== 3) bad('spatialDims', 'must be 2 or 3', dims);
  const axis = options.axis ?? 2;
  if (axis !== 0 && axis !== 1 && axis !== 2) bad('axis', 'must be 0, 1 or 2', axis);
  const depth = checkInt('depth', options.depth ?? 3, 1, 8);
  const filters = checkInt('filters', options.filters ?? 16, 1, 512);
  const patchSize = patchSizeOf(options.patchSize, dims, 2 ** depth);
  const batchSize = checkInt('batchSize', options.batchSize ?? (dims === 2 ? 8 : 2), 1, 1024);
  const steps = checkInt('steps', options.steps ?? 500, 1, 10_000_000);
  const lr0 = options.learningRate ?? 1e-3;
  if (!(lr0 > 0 && lr0 < 1)) bad('learningRate', 'must be in (0, 1)', lr0);
  const foregroundProb = options.foregroundProb ?? 0.5;
  if (!(foregroundProb >= 0 && foregroundProb <= 1)) bad('foregroundProb', 'must be a number in [0, 1]', foregroundProb);
  const classBalanced = options.classBalanced ?? false;
  if (typeof classBalanced !== 'boolean') bad('classBalanced', 'must be a boolean', classBalanced);
  const seed = options.seed ?? 0;
  if (!Number.isInteger(seed) || seed < 0) bad('seed', 'must be a non-negative integer', seed);
  const layout: WindowLayout = { spatialDims: dims, axis, patchSize };
  const box = patchBox(layout);

  subjects.forEach((s, i) => {
    if (s === null || typeof s !== 'object' || typeof s.id !== 'string' || !s.image || !s.label) bad(`subjects[${i}]`, 'must be { id, image, label }', typeof s);
    if (s.image.kind !== 'intensity') {
      throw new VoxshiftError('INVALID_VOLUME', `${s.id}: the image is a ${s.image.kind} volume; give the intensity image as image`, { param: 'images' });
    }
    try {
      createSubject({ image: s.image, label: s.label });
    } catch (e) {
      if (e instanceof VoxshiftError && e.shortCode === 'GEOMETRY_MISMATCH') {
        throw new VoxshiftError('GEOMETRY_MISMATCH', `${s.id}: the label map (shape [${s.label.shape.join(', ')}]) is not on the image's grid (shape [${s.image.shape.join(', ')}]); resample it onto the image first`, {
          param: 'labels',
          details: { subject: s.id },
        });
      }
      throw e;
    }
    checkLabelMap(s.label, s.id);
    if (s.image.shape.some((n, a) => n < box[a])) {
      throw new VoxshiftError(
        'INVALID_ARGUMENT',
        `${s.id}: the volume (${s.image.shape.join('×')} voxels) is smaller than the ${dims}-D patch (${box.join('×')} along i, j, k); use a smaller patch (and depth) or larger volumes`,
        { param: 'patch', details: { subject: s.id, shape: [...s.image.shape], patch: patchSize } },
      );
    }
  });
  const classes = resolveClasses(options.classes, subjects.map((s) => s.label));
  const sharedClasses = options.sharedClasses !== undefined ? resolveSharedMapping(options.sharedClasses, classes) : undefined;
  const modality = options.modality ?? subjects[0].image.modality;
  const spec = options.normalization ?? defaultNormalizationSpec(modality);
  const originals = subjects.map((s) => preparePair(s.image, s.label, s.id, spec, classes));
  const info: SegmenterInfo = {
    layout,
    classes,
    ...(sharedClasses ? { sharedClasses } : {}),
    modality,
    normalization: { spec, reference: referenceNormalization(originals.map((p) => p.a.normalization)) },
    spacing: [0, 1, 2].map((a) => median(subjects.map((s) => s.image.spacing[a]))) as [number, number, number],
    seed,
    steps: 0,
    training: {
      subjects: subjects.map((s) => s.id),
      patchSize,
      batchSize,
      learningRate: lr0,
      schedule: 'poly 0.9',
      filters,
      depth,
      foregroundProb,
      classBalanced,
      loss: 'soft Dice + cross-entropy',
      augmentation: options.augmentation ? { pipeline: options.augmentation.name } : null,
    },
  };

  // Augmented copies: copy number n is of subject n mod count, drawn with its own seed.
  const aug = options.augmentation;
  const poolSize = aug ? checkInt('augmentation.poolSize', aug.poolSize ?? 2 * subjects.length, 1, 10_000) : 0;
  const refreshEvery = aug ? checkInt('augmentation.refreshEvery', aug.refreshEvery ?? 10, 0, 10_000_000) : 0;
  let drawn = 0;
  const augmentedCopy = (): Pair => {
    const n = drawn++;
    const s = subjects[n % subjects.length];
    const out = (aug as SegmenterAugmentation).pipeline.apply(createSubject({ image: s.image, label: s.label }), createRng(sampleSeed(seed, `augment/${s.id}`, n)));
    return preparePair(out.image, out.label, `${s.id} (augmented #${n})`, spec, classes);
  };
  const pool: Pair[] = [];
  for (let i = 0; i < poolSize; i++) pool.push(augmentedCopy());
  const samplerConfig = { spatialDims: dims, axis, patchSize, batchSize, foregroundProb, padValue: -1, flip: false };
  const makeSampler = (pairs: Pair[]): Sampler =>
    classBalanced ? createClassBalancedSampler(pairs, samplerConfig, classes.length) : createPairedSampler(pairs, samplerConfig);
  let sampler = makeSampler([...originals, ...pool]);
  info.training.augmentation = aug ? { pipeline: aug.name, poolSize, refreshEvery } : null;

  const spec3 = describeUnetSegmenter({ spatialDims: dims, classes: classes.length, filters, depth });
  const network = buildNetwork(spec3, createWeightRng(seed), { name: 'segmenter' });
  const adam = new Adam({ learningRate: lr0, beta1: 0.9, beta2: 0.999 });
  const rng = createRng((seed ^ 0x2545f491) >>> 0);
  const losses: number[] = [];
  const started = Date.now();
  let step = 0;
  try {
    const vars = network.variables();
    const C = classes.length;
    while (step < steps && !options.signal?.aborted) {
      if (aug && refreshEvery > 0 && step > 0 && step % refreshEvery === 0) {
        const slot = (drawn - poolSize) % poolSize;
        pool[slot] = augmentedCopy();
        sampler = makeSampler([...originals, ...pool]);
      }
      const batch = sampler.sample(rng);
      const lr = lr0 * (1 - step / steps) ** 0.9;
      const labels = Int32Array.from(batch.b);
      let ce = 0;
      let dice = 0;
      const { value, grads } = tf.variableGrads(() => {
        const x = tf.tensor(batch.a, batch.shape, 'float32');
        const target = tf.reshape(tf.oneHot(tf.tensor1d(labels, 'int32'), C), [...batch.shape.slice(0, -1), C]);
        const l = diceCrossEntropyLoss(network.apply(x, { training: true }), target);
        ce = l.ce.dataSync()[0];
        dice = l.dice.dataSync()[0];
        return l.total;
      }, vars);
      adam.applyGradients(new Map(Object.entries(grads)), lr);
      const loss = value.dataSync()[0];
      value.dispose();
      for (const g of Object.values(grads)) g.dispose();
      if (!Number.isFinite(loss)) {
        throw new VoxshiftError('INTERNAL', `the segmentation loss became ${loss} at step ${step + 1}; lower the learning rate`, { param: 'learningRate' });
      }
      step++;
      losses.push(loss);
      options.onStep?.({ step, totalSteps: steps, loss, ce, dice, learningRate: lr, secondsPerStep: (Date.now() - started) / 1000 / step });
      // Lets a progress bar draw and a signal arrive.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  } catch (e) {
    adam.dispose();
    network.dispose();
    throw e;
  }
  adam.dispose();
  info.steps = step;
  return { segmenter: createLearnedSegmenter(network, info), losses, steps: step, interrupted: step < steps, seconds: (Date.now() - started) / 1000 };
}
