/**
 * `translate(volume, model)`: a trained checkpoint applied to a whole volume, returning a volume on the
 * source grid in the target domain's units (HU for CT). The source intensities are normalised as in
 * training (a CT window, or MR percentiles fitted inside this volume's body mask); the generator's
 * output is mapped back with the target domain's normalisation stored in the checkpoint.
 */
import { bodyMask } from '../../validation/masks.ts';
import { VoxshiftError } from '../../volumes/errors.ts';
import { fitNormalization, type Normalization } from '../../volumes/normalize.ts';
import type { Volume } from '../../volumes/volume.ts';
import { loadCheckpoint, readManifest, type CheckpointManifest } from '../checkpoint/checkpoint.ts';
import type { DomainConfig, ModelConfig } from '../model/config.ts';
import { generatorRole } from '../model/networks.ts';
import type { Network } from '../networks/build-network.ts';
import { translateVolume } from './translate-volume.ts';

export type Direction = 'AtoB' | 'BtoA';

export interface Translator {
  readonly dir: string;
  readonly manifest: CheckpointManifest;
  readonly config: ModelConfig;
  readonly direction: Direction;
  readonly source: DomainConfig;
  readonly target: DomainConfig;
  /** The target domain's normalisation, inverted on the output. */
  readonly targetNormalization: Normalization;
  readonly generator: Network;
  dispose(): void;
}

/** Loads the generator of one direction from a checkpoint folder. */
export async function loadTranslator(dir: string, direction: Direction = 'AtoB'): Promise<Translator> {
  if (direction !== 'AtoB' && direction !== 'BtoA') {
    throw new VoxshiftError('INVALID_ARGUMENT', `direction must be AtoB or BtoA, got ${JSON.stringify(direction)}`, { param: 'direction' });
  }
  const role = generatorRole((await readManifest(dir)).config.kind, direction);
  const loaded = await loadCheckpoint(dir, { roles: [role], trainable: false });
  const generator = loaded.networks.get(role) as Network;
  const { a, b } = loaded.config.domains;
  return {
    dir,
    manifest: loaded.manifest,
    config: loaded.config,
    direction,
    source: direction === 'AtoB' ? a : b,
    target: direction === 'AtoB' ? b : a,
    targetNormalization: direction === 'AtoB' ? loaded.normalization.b : loaded.normalization.a,
    generator,
    dispose: () => generator.dispose(),
  };
}

export interface TranslateOptions {
  direction?: Direction;
  /** 2D: slices per generator call. */
  batchSize?: number;
  /** 3D: window size (default: the training patch size). */
  patchSize?: number[];
  /** 3D: overlap fraction of neighbouring windows (default 0.5). */
  overlap?: number;
  /** Accept an input whose modality differs from the model's source domain. */
  allowModalityMismatch?: boolean;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

/** Translates `volume` with a checkpoint folder or a loaded translator. */
export async function translate(volume: Volume, model: string | Translator, options: TranslateOptions = {}): Promise<Volume<Float32Array>> {
  const t = typeof model === 'string' ? await loadTranslator(model, options.direction ?? 'AtoB') : model;
  try {
    const src = t.source;
    if (volume.modality !== 'unknown' && src.modality !== 'unknown' && volume.modality !== src.modality && !options.allowModalityMismatch) {
      throw new VoxshiftError(
        'INVALID_ARGUMENT',
        `the model translates ${src.name} (${src.modality}) to ${t.target.name} (${t.target.modality}), but the input is ${volume.modality}; pass a ${src.modality} volume (or allow the mismatch explicitly)`,
        { param: 'volume', details: { expected: src.modality, received: volume.modality } },
      );
    }
    if (volume.kind === 'label') {
      throw new VoxshiftError('INVALID_ARGUMENT', 'cannot translate a label map; pass an intensity image', { param: 'volume' });
    }
    // As in training (prepareDomainVolume): MR percentiles without a threshold are taken inside the
    // body mask, else background noise lowers both ends and the model sees other intensities.
    const spec = src.normalization;
    const inBody = spec.type === 'mr-percentile' && spec.threshold === undefined;
    const sourceNormalization = fitNormalization(volume, spec, inBody ? bodyMask(volume).data : undefined);
    const out = await translateVolume(volume, (x) => t.generator.apply(x), {
      spatialDims: t.config.spatialDims,
      sizeMultiple: t.generator.spec.sizeMultiple,
      sourceNormalization,
      targetNormalization: t.targetNormalization,
      targetModality: t.target.modality,
      targetUnits: t.target.modality === 'CT' ? 'HU' : 'arbitrary',
      axis: t.config.data.axis,
      ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}),
      patchSize: options.patchSize ?? (t.config.spatialDims === 3 ? t.config.data.patchSize : undefined),
      ...(options.overlap !== undefined ? { overlap: options.overlap } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const trained = t.direction === 'AtoB' ? t.manifest.spacing.a : t.manifest.spacing.b;
    const off = volume.spacing.map((s, i) => s / trained[i]).filter((r) => r > 2 || r < 0.5);
    if (off.length > 0) {
      out.meta.warnings.push({
        code: 'SPACING_DIFFERS_FROM_TRAINING',
        message: `input spacing ${volume.spacing.map((s) => s.toFixed(2)).join('×')} mm differs from the training spacing ${trained.map((s) => s.toFixed(2)).join('×')} mm by more than 2×; resample the input to the training spacing for best results`,
      });
    }
    return out;
  } finally {
    if (typeof model === 'string') t.dispose();
  }
}
