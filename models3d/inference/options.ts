/**
 * Options of whole-volume inference, their validation, and the per-value intensity maps shared by the
 * slice and sliding-window paths (the same arithmetic as volumes/normalize.ts, applied a slice or a
 * window at a time so no normalised copy of the whole volume is made).
 */
import type * as tf from '@tensorflow/tfjs-core';
import { VoxshiftError } from '../../volumes/errors.ts';
import { validateNormalization } from '../../volumes/normalize.ts';
import type { Normalization } from '../../volumes/normalize.ts';
import type { Axis } from '../../volumes/slices.ts';
import { assertFinite } from '../../volumes/stats.ts';
import type { IntensityUnits, Modality, Volume } from '../../volumes/volume.ts';

/** Normalised [batch, ...spatial, 1] → the same shape, values in [−1, 1]. */
export type GeneratorFn = (x: tf.Tensor) => tf.Tensor;

/**
 * A generator outside TensorFlow.js (e.g. an onnxruntime session): the same contract on float32
 * buffers, channels last. `input` may be a view of a buffer that is reused for the next call.
 */
export interface BufferGenerator {
  run(input: Float32Array, shape: readonly number[]): Promise<Float32Array>;
}

/** What translateVolume runs: a tfjs function or a buffer generator. */
export type Generator = GeneratorFn | BufferGenerator;

export function isBufferGenerator(g: unknown): g is BufferGenerator {
  return g !== null && typeof g === 'object' && typeof (g as { run?: unknown }).run === 'function';
}

export interface TranslateVolumeOptions {
  spatialDims: 2 | 3;
  /** Spatial sizes fed to the generator must be multiples of this (the input is padded, then cropped back). */
  sizeMultiple: number;
  /** Maps the input volume to [−1, 1] (values outside the window are clamped). */
  sourceNormalization: Normalization;
  /** Inverted on the generator's output (e.g. a CT window back to HU); not clamped. */
  targetNormalization: Normalization;
  targetModality: Modality;
  targetUnits: IntensityUnits;
  /** 2-D only: the slice axis (default 2). Tensors are [batch, H, W, 1] with W the slice's faster axis (as sliceAt). */
  axis?: Axis;
  /** Slices (2-D, default 4) or windows (3-D, default 1) per generator call. */
  batchSize?: number;
  /**
   * 3-D only: the window in tensor order [d, h, w] = its extent along k, j, i (default 64 on each axis,
   * shrunk to the padded volume). Each must be a multiple of sizeMultiple.
   */
  patchSize?: readonly number[];
  /** 3-D only: fraction of the window shared by neighbours, in [0, 1) (default 0.5). */
  overlap?: number;
  /** Normalised value of the padding (default −1, the background). */
  padValue?: number;
  /** Called after each generator call with (units done, total): slices in 2-D, windows in 3-D. */
  onProgress?: (done: number, total: number) => void;
  /** Checked between generator calls; when aborted, translateVolume rejects with VOXSHIFT_E_CANCELLED. */
  signal?: AbortSignal;
}

/** The validated options, defaults filled in. */
export interface ResolvedOptions {
  spatialDims: 2 | 3;
  sizeMultiple: number;
  source: LinearMap;
  target: LinearMap;
  sourceNormalization: Normalization;
  targetNormalization: Normalization;
  targetModality: Modality;
  targetUnits: IntensityUnits;
  axis: Axis;
  batchSize: number;
  /** 3-D window in tensor order [d, h, w], before shrinking to the volume. */
  patchSize: [number, number, number];
  overlap: number;
  padValue: number;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

/**
 * A normalisation as the constants of its linear map: y = (2x − sum)/range (then clamped to [−1, 1])
 * and back x = (range·y + sum)/2, exactly the expressions of volumes/normalize.ts.
 */
export interface LinearMap {
  sum: number;
  range: number;
}

export const DEFAULT_PATCH = 64;
export const DEFAULT_OVERLAP = 0.5;

function invalid(param: string, message: string, received: unknown): VoxshiftError {
  return new VoxshiftError('INVALID_ARGUMENT', `${param} ${message}, got ${JSON.stringify(received)}`, { param, details: { received } });
}

export function linearMap(norm: Normalization): LinearMap {
  const low = norm.type === 'ct-window' ? norm.lower : norm.low;
  const high = norm.type === 'ct-window' ? norm.upper : norm.high;
  return { sum: low + high, range: high - low };
}

function normalizationParam(value: unknown, param: string): Normalization {
  try {
    return validateNormalization(value);
  } catch (e) {
    if (e instanceof VoxshiftError) throw new VoxshiftError('INVALID_ARGUMENT', `${param}: ${e.message}`, { param, details: e.details, cause: e });
    throw e;
  }
}

function positiveInt(value: unknown, param: string, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw invalid(param, `must be an integer in 1..${max}`, value);
  }
  return value;
}

/** Checks the volume and the options; throws INVALID_ARGUMENT / NON_FINITE_VALUES naming the parameter. */
export function resolveOptions(volume: Volume, generator: unknown, options: TranslateVolumeOptions): ResolvedOptions {
  if (volume === null || typeof volume !== 'object' || !('data' in volume) || !('shape' in volume)) {
    throw new VoxshiftError('INVALID_ARGUMENT', 'volume must be a Volume', { param: 'volume' });
  }
  if (volume.kind === 'label') {
    throw new VoxshiftError('INVALID_ARGUMENT', 'cannot translate a label volume; translation applies to intensity volumes', {
      param: 'volume',
      details: { kind: volume.kind },
    });
  }
  if (volume.channels !== 1) {
    throw new VoxshiftError('INVALID_ARGUMENT', `volume must have 1 channel, got ${volume.channels}; translate one channel at a time`, {
      param: 'volume',
      details: { channels: volume.channels },
    });
  }
  if (typeof generator !== 'function' && !isBufferGenerator(generator)) {
    throw invalid('generator', 'must be a function (x: tf.Tensor) => tf.Tensor or an object with run(input, shape)', typeof generator);
  }
  if (options === null || typeof options !== 'object') throw invalid('options', 'must be an object', options);
  const { spatialDims } = options;
  if (spatialDims !== 2 && spatialDims !== 3) throw invalid('spatialDims', 'must be 2 or 3', spatialDims);
  const sizeMultiple = positiveInt(options.sizeMultiple, 'sizeMultiple', 1024);
  const sourceNormalization = normalizationParam(options.sourceNormalization, 'sourceNormalization');
  const targetNormalization = normalizationParam(options.targetNormalization, 'targetNormalization');
  if (typeof options.targetModality !== 'string') throw invalid('targetModality', 'must be a modality code such as "CT"', options.targetModality);
  if (typeof options.targetUnits !== 'string') throw invalid('targetUnits', 'must be a units name such as "HU"', options.targetUnits);
  const axis = options.axis ?? 2;
  if (axis !== 0 && axis !== 1 && axis !== 2) throw invalid('axis', 'must be 0, 1 or 2', axis);
  const batchSize = positiveInt(options.batchSize ?? (spatialDims === 2 ? 4 : 1), 'batchSize', 4096);
  const overlap = options.overlap ?? DEFAULT_OVERLAP;
  if (typeof overlap !== 'number' || !(overlap >= 0 && overlap < 1)) throw invalid('overlap', 'must be a number in [0, 1)', overlap);
  const padValue = options.padValue ?? -1;
  if (typeof padValue !== 'number' || !Number.isFinite(padValue)) throw invalid('padValue', 'must be a finite number', padValue);
  const defaultPatch = Math.max(sizeMultiple, Math.floor(DEFAULT_PATCH / sizeMultiple) * sizeMultiple);
  const ps = options.patchSize ?? [defaultPatch, defaultPatch, defaultPatch];
  if (!Array.isArray(ps) || ps.length !== 3 || !ps.every((n) => Number.isInteger(n) && n > 0 && n % sizeMultiple === 0)) {
    throw invalid('patchSize', `must be 3 positive multiples of sizeMultiple (${sizeMultiple}) in order [d, h, w]`, ps);
  }
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function') throw invalid('onProgress', 'must be a function', typeof options.onProgress);
  const signal = options.signal;
  if (signal !== undefined && (signal === null || typeof signal !== 'object' || typeof signal.aborted !== 'boolean')) {
    throw invalid('signal', 'must be an AbortSignal', typeof signal);
  }
  assertFinite(volume, 'volume');
  return {
    spatialDims,
    sizeMultiple,
    source: linearMap(sourceNormalization),
    target: linearMap(targetNormalization),
    sourceNormalization,
    targetNormalization,
    targetModality: options.targetModality,
    targetUnits: options.targetUnits,
    axis,
    batchSize,
    patchSize: [ps[0], ps[1], ps[2]],
    overlap,
    padValue,
    ...(options.onProgress !== undefined ? { onProgress: options.onProgress } : {}),
    ...(signal !== undefined ? { signal } : {}),
  };
}

export function roundUp(n: number, multiple: number): number {
  return Math.ceil(n / multiple) * multiple;
}

/** Throws VOXSHIFT_E_CANCELLED when the signal has been aborted. */
export function throwIfAborted(signal: AbortSignal | undefined, done: number, total: number): void {
  if (signal?.aborted) {
    const reason = signal.reason instanceof Error ? signal.reason.message : signal.reason === undefined ? undefined : String(signal.reason);
    throw new VoxshiftError('CANCELLED', `translation cancelled after ${done} of ${total} generator inputs${reason ? ` (${reason})` : ''}`, {
      param: 'signal',
      details: { done, total },
      cause: signal.reason,
    });
  }
}
