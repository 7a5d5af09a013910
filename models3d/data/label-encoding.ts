/**
 * Label maps as a Pix2Pix source domain (label → image synthesis). A label domain's normalization is
 * `{ type: 'labels', classes }`: the ascending list of label values the model knows (K of them).
 *
 * Two encodings, one for moving data and one for the network:
 * - transport: one channel holding the class rank r (the position of the value in `classes`) scaled
 *   to [−1, 1], −1 + 2r / (K − 1). The paired sampler, slice and sliding-window inference and their
 *   padding (−1 = the first class, the background) all stay one-channel and unchanged; the effective
 *   normalization stored in manifest.normalization is the window [0, K − 1] over the rank volume.
 * - network: a one-hot of K channels (`oneHotFromEncoded`), built from the transport value right
 *   before the generator (and the discriminator, which sees one-hot ⊕ image, K + 1 channels). A
 *   scaled single channel was tried first: a tiny U-Net had to carve a non-monotonic map out of one
 *   line (label 2 brightest between two darker neighbours) and after 400 steps still had every tissue
 *   within ±30% of the mean; with one-hot each class owns its input weights.
 */
import * as tf from '@tensorflow/tfjs-core';
import { VoxshiftError } from '../../volumes/errors.ts';
import type { CtWindowNormalization, NormalizationSpec } from '../../volumes/normalize.ts';
import { deriveVolume } from '../../volumes/volume.ts';
import type { Volume } from '../../volumes/volume.ts';

export interface LabelEncodingSpec {
  type: 'labels';
  /** The label values, strictly ascending integers; the first one is the background. */
  classes: number[];
}

/** What a domain's `normalization` may be: an intensity normalization or a label encoding. */
export type DomainNormalizationSpec = NormalizationSpec | LabelEncodingSpec;

export const MAX_LABEL_CLASSES = 256;

export function isLabelEncoding(spec: unknown): spec is LabelEncodingSpec {
  return spec !== null && typeof spec === 'object' && (spec as { type?: unknown }).type === 'labels';
}

/** Checks `classes`: 2 to 256 integers, strictly ascending. Returns a copy. */
export function validateLabelClasses(classes: unknown, param = 'classes'): number[] {
  const ok =
    Array.isArray(classes) &&
    classes.length >= 2 &&
    classes.length <= MAX_LABEL_CLASSES &&
    classes.every((c, i) => Number.isSafeInteger(c) && (i === 0 || c > (classes[i - 1] as number)));
  if (!ok) {
    throw new VoxshiftError(
      'INVALID_ARGUMENT',
      `${param} must be 2 to ${MAX_LABEL_CLASSES} integer label values in strictly ascending order, got ${JSON.stringify(classes)}`,
      { param, details: { received: classes } },
    );
  }
  return [...(classes as number[])];
}

/** The window that maps ranks 0 … K − 1 to −1 … 1 (what the checkpoint stores and inference applies). */
export function labelEncodingNormalization(spec: LabelEncodingSpec): CtWindowNormalization {
  return { type: 'ct-window', lower: 0, upper: spec.classes.length - 1 };
}

/** The generator input value of class rank `rank` of K classes. */
export function encodedValue(rank: number, classCount: number): number {
  return -1 + (2 * rank) / (classCount - 1);
}

/**
 * The class rank of every voxel (Float32Array, x fastest). Refuses more than one channel, non-integer
 * values (not a label map) and values not in `classes`, naming `name`, the voxel and the value.
 */
export function labelRanks(volume: Volume, spec: LabelEncodingSpec, name: string): Float32Array {
  const classes = validateLabelClasses(spec.classes, 'normalization.classes');
  if (volume.channels !== 1) {
    throw new VoxshiftError('INVALID_VOLUME', `${name}: has ${volume.channels} channels; a label map has exactly 1`, {
      param: 'volume',
      details: { name, channels: volume.channels },
    });
  }
  const rankOf = new Map(classes.map((c, r) => [c, r]));
  const [nx, ny] = volume.shape;
  const src = volume.data;
  const out = new Float32Array(src.length);
  for (let p = 0; p < src.length; p++) {
    const v = Number(src[p]);
    const r = rankOf.get(v);
    if (r !== undefined) {
      out[p] = r;
      continue;
    }
    const ijk = [p % nx, Math.floor(p / nx) % ny, Math.floor(p / (nx * ny))];
    if (!Number.isInteger(v)) {
      throw new VoxshiftError(
        'INVALID_VOLUME',
        `${name}: voxel [${ijk.join(', ')}] is ${v}, not an integer; a label domain takes integer label maps only (classes ${classes.join(', ')})`,
        { param: 'volume', details: { name, index: ijk, value: String(v), classes } },
      );
    }
    throw new VoxshiftError(
      'INVALID_VOLUME',
      `${name}: label value ${v} (voxel [${ijk.join(', ')}]) is not one of the model's classes ${classes.join(', ')}; relabel it or train with that class`,
      { param: 'volume', details: { name, index: ijk, value: v, classes } },
    );
  }
  return out;
}

/** The rank volume (kind 'intensity', float32) on the label map's grid, ready for the label window. */
export function rankVolume(volume: Volume, spec: LabelEncodingSpec, name: string): Volume<Float32Array> {
  return deriveVolume<Float32Array>(volume, { data: labelRanks(volume, spec, name), kind: 'intensity', meta: { ...volume.meta, units: 'label' } });
}

/** The generator input of a label map: −1 + 2r / (K − 1) per voxel. */
export function encodeLabelMap(volume: Volume, spec: LabelEncodingSpec, name: string): Float32Array {
  const ranks = labelRanks(volume, spec, name);
  const k = spec.classes.length;
  for (let p = 0; p < ranks.length; p++) ranks[p] = encodedValue(ranks[p], k);
  return ranks;
}

/** The sorted distinct values of label maps (for inferring a domain's classes); refuses non-integers. */
export function distinctLabels(volumes: readonly Volume[], names: readonly string[]): number[] {
  const seen = new Set<number>();
  volumes.forEach((vol, n) => {
    const src = vol.data;
    for (let p = 0; p < src.length; p++) {
      const v = Number(src[p]);
      if (seen.has(v)) continue;
      if (!Number.isInteger(v)) {
        throw new VoxshiftError('INVALID_VOLUME', `${names[n]}: voxel ${p} is ${v}, not an integer; a label domain takes integer label maps only`, {
          param: 'volume',
          details: { name: names[n], value: String(v) },
        });
      }
      seen.add(v);
      if (seen.size > MAX_LABEL_CLASSES) {
        throw new VoxshiftError('INVALID_VOLUME', `${names[n]}: the label maps hold more than ${MAX_LABEL_CLASSES} distinct values; a label domain takes at most ${MAX_LABEL_CLASSES} classes`, {
          param: 'volume',
          details: { name: names[n] },
        });
      }
    }
  });
  return [...seen].sort((x, y) => x - y);
}

/** K for a label domain's spec, undefined for an intensity one (the generator's input channels). */
export function labelClassCount(spec: DomainNormalizationSpec): number | undefined {
  return isLabelEncoding(spec) ? spec.classes.length : undefined;
}

/** Transport values [..., 1] → one-hot [..., K] (float32); values are rounded to the nearest rank and clipped. */
export function oneHotFromEncoded(x: tf.Tensor, classCount: number): tf.Tensor {
  return tf.tidy(() => {
    const k = classCount;
    const rank = tf.clipByValue(tf.round(tf.mul(tf.add(x, 1), (k - 1) / 2)), 0, k - 1);
    // Broadcast comparison with 0 … K − 1 rather than tf.oneHot: the wasm OneHot kernel writes int32
    // bits into a float32 output (1 reads as 1.4e-45).
    return tf.cast(tf.equal(rank, tf.range(0, k, 1, 'float32')), 'float32');
  });
}

/** The same on a float32 buffer [..., 1] (for generators outside tfjs, e.g. onnxruntime). */
export function oneHotBuffer(x: Float32Array, classCount: number): Float32Array {
  const k = classCount;
  const out = new Float32Array(x.length * k);
  for (let p = 0; p < x.length; p++) {
    const r = Math.min(k - 1, Math.max(0, Math.round(((x[p] + 1) * (k - 1)) / 2)));
    out[p * k + r] = 1;
  }
  return out;
}
