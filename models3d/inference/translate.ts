/**
 * `translate(volume, model)`: a trained checkpoint applied to a whole volume, returning a volume on the
 * source grid in the target domain's units (HU for CT). The source intensities are normalised as in
 * training (a CT window, or MR percentiles fitted inside this volume's body mask); the generator's
 * output is mapped back with the target domain's normalisation stored in the checkpoint.
 *
 * The generator runs on onnxruntime-node when the checkpoint has an ONNX export of it (written at save
 * time or by `voxshift export`), else on TensorFlow.js; `runtime` forces one. The session (or network)
 * is made once per Translator and reused for every volume it translates.
 */
import * as tf from '@tensorflow/tfjs-core';
import { bodyMask } from '../../validation/masks.ts';
import { VoxshiftError } from '../../volumes/errors.ts';
import { fitNormalization, type Normalization } from '../../volumes/normalize.ts';
import type { Volume } from '../../volumes/volume.ts';
import { isLabelEncoding, labelClassCount, labelEncodingNormalization, oneHotBuffer, oneHotFromEncoded, rankVolume } from '../data/label-encoding.ts';
import { loadCheckpoint, readManifest, type CheckpointManifest } from '../checkpoint/checkpoint.ts';
import type { DomainConfig, ModelConfig } from '../model/config.ts';
import { generatorRole } from '../model/networks.ts';
import type { Network } from '../networks/build-network.ts';
import type { NetworkSpec } from '../networks/spec.ts';
import { findOnnxExport, hasOnnxExport } from '../export/export-checkpoint.ts';
import { createOnnxGenerator, type ExecutionProvider, type OnnxGenerator } from './onnx-runtime.ts';
import type { Generator, GeneratorFn } from './options.ts';
import { translateVolume } from './translate-volume.ts';

export type Direction = 'AtoB' | 'BtoA';
/** Where the generator runs: onnxruntime-node or TensorFlow.js (on the backend initBackend chose). */
export type Runtime = 'onnx' | 'tfjs';
export const RUNTIMES: readonly Runtime[] = ['onnx', 'tfjs'];

export interface Translator {
  readonly dir: string;
  readonly manifest: CheckpointManifest;
  readonly config: ModelConfig;
  readonly direction: Direction;
  readonly source: DomainConfig;
  readonly target: DomainConfig;
  /** The target domain's normalisation, inverted on the output. */
  readonly targetNormalization: Normalization;
  readonly runtime: Runtime;
  /** e.g. "onnxruntime-node 1.30.0, CPU execution provider, 2 threads" or "tfjs (wasm backend)". */
  readonly runtimeDescription: string;
  /** The generator's layer description. */
  readonly spec: NetworkSpec;
  /** What translateVolume runs. */
  readonly run: Generator;
  /** The tfjs network (runtime 'tfjs' only). */
  readonly generator?: Network;
  /** The onnxruntime session (runtime 'onnx' only). */
  readonly session?: OnnxGenerator;
  dispose(): void;
}

export interface LoadTranslatorOptions {
  /** 'auto' (default): onnx when the checkpoint has an ONNX export of the generator, else tfjs. */
  runtime?: Runtime | 'auto';
  /** onnx: intra-op threads (default: cores). */
  threads?: number;
  /** onnx: execution provider (default auto: CUDA when installed, else CPU). */
  provider?: ExecutionProvider;
  /** Told which runtime runs the generator, and why. */
  log?: (message: string) => void;
}

function checkDirection(direction: unknown): asserts direction is Direction {
  if (direction !== 'AtoB' && direction !== 'BtoA') {
    throw new VoxshiftError('INVALID_ARGUMENT', `direction must be AtoB or BtoA, got ${JSON.stringify(direction)}`, { param: 'direction' });
  }
}

/**
 * The runtime loadTranslator would use for `dir` (reads only the manifest): `requested` when it is
 * onnx or tfjs, else onnx if the generator of `direction` has an ONNX export, else tfjs.
 */
export async function chooseRuntime(dir: string, direction: Direction = 'AtoB', requested: Runtime | 'auto' = 'auto'): Promise<Runtime> {
  checkDirection(direction);
  if (requested !== 'auto' && !RUNTIMES.includes(requested)) {
    throw new VoxshiftError('INVALID_ARGUMENT', `runtime must be onnx, tfjs or auto, got ${JSON.stringify(requested)}`, { param: 'runtime' });
  }
  if (requested !== 'auto') return requested;
  const manifest = await readManifest(dir);
  return hasOnnxExport(dir, manifest, generatorRole(manifest.config.kind, direction)) ? 'onnx' : 'tfjs';
}

/** Loads the generator of one direction from a checkpoint folder, on onnxruntime or tfjs (see LoadTranslatorOptions). */
export async function loadTranslator(dir: string, direction: Direction = 'AtoB', options: LoadTranslatorOptions = {}): Promise<Translator> {
  checkDirection(direction);
  const runtime = await chooseRuntime(dir, direction, options.runtime ?? 'auto');
  const manifest = await readManifest(dir);
  const role = generatorRole(manifest.config.kind, direction);
  const { a, b } = manifest.config.domains;
  const common = {
    dir,
    manifest,
    config: manifest.config,
    direction,
    source: direction === 'AtoB' ? a : b,
    target: direction === 'AtoB' ? b : a,
    targetNormalization: direction === 'AtoB' ? manifest.normalization.b : manifest.normalization.a,
  };
  if (runtime === 'onnx') {
    const spec = manifest.networks[role];
    if (!spec) throw new VoxshiftError('INCOMPATIBLE_CHECKPOINT', `checkpoint has no ${role} network (it holds ${Object.keys(manifest.networks).join(', ')})`, { file: dir });
    const found = await findOnnxExport(dir, manifest, role);
    if (!found.ok) {
      throw new VoxshiftError(
        'FILE_NOT_FOUND',
        `runtime onnx needs an ONNX export of the ${role} generator, but ${found.reason}; run \`voxshift export --model ${dir}\` or use runtime tfjs`,
        { file: dir, param: 'runtime', details: { role } },
      );
    }
    // translateVolume reads each output before the next call: one output buffer serves them all.
    const session = await createOnnxGenerator(found.bytes, {
      reuseOutput: true,
      ...(options.threads !== undefined ? { threads: options.threads } : {}),
      ...(options.provider !== undefined ? { provider: options.provider } : {}),
    });
    options.log?.(`translating with ${found.path} on ${session.description} (${options.runtime === 'onnx' ? 'runtime onnx' : 'runtime auto: the model has an ONNX export'})`);
    return {
      ...common,
      runtime,
      runtimeDescription: session.description,
      spec,
      run: session,
      session,
      dispose: () => void session.release(),
    };
  }
  const loaded = await loadCheckpoint(dir, { roles: [role], trainable: false });
  const generator = loaded.networks.get(role) as Network;
  const description = `tfjs (${tf.getBackend()} backend)`;
  options.log?.(
    `translating with ${role} on ${description} (${options.runtime === 'tfjs' ? 'runtime tfjs' : `runtime auto: no ONNX export in the model; \`voxshift export --model ${dir}\` makes one`})`,
  );
  return {
    ...common,
    runtime,
    runtimeDescription: description,
    spec: generator.spec,
    run: (x) => generator.apply(x),
    generator,
    dispose: () => generator.dispose(),
  };
}

export interface TranslateOptions {
  direction?: Direction;
  /** When `model` is a folder: the runtime (default auto, see LoadTranslatorOptions). */
  runtime?: Runtime | 'auto';
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
  const t = typeof model === 'string' ? await loadTranslator(model, options.direction ?? 'AtoB', { runtime: options.runtime ?? 'auto' }) : model;
  try {
    const src = t.source;
    const labelSource = isLabelEncoding(src.normalization);
    if (!labelSource && volume.modality !== 'unknown' && src.modality !== 'unknown' && volume.modality !== src.modality && !options.allowModalityMismatch) {
      throw new VoxshiftError(
        'INVALID_ARGUMENT',
        `the model translates ${src.name} (${src.modality}) to ${t.target.name} (${t.target.modality}), but the input is ${volume.modality}; pass a ${src.modality} volume (or allow the mismatch explicitly)`,
        { param: 'volume', details: { expected: src.modality, received: volume.modality } },
      );
    }
    if (volume.kind === 'label' && !labelSource) {
      throw new VoxshiftError('INVALID_ARGUMENT', 'cannot translate a label map; pass an intensity image', { param: 'volume' });
    }
    let input = volume;
    let sourceNormalization: Normalization;
    if (isLabelEncoding(src.normalization)) {
      // A label → image model: the label map's class ranks under the window [0, K − 1] (label-encoding.ts);
      // values outside the model's classes, or not integers, are refused.
      input = rankVolume(volume, src.normalization, volume.meta.source ?? 'label map');
      sourceNormalization = labelEncodingNormalization(src.normalization);
    } else {
      // As in training (prepareDomainVolume): MR percentiles without a threshold are taken inside the
      // body mask, else background noise lowers both ends and the model sees other intensities.
      const spec = src.normalization;
      const inBody = spec.type === 'mr-percentile' && spec.threshold === undefined;
      sourceNormalization = fitNormalization(volume, spec, inBody ? bodyMask(volume).data : undefined);
    }
    // A translator's tfjs network is called through `generator` (so a wrapped generator is honoured).
    const gen = t.generator;
    let run: Generator = gen ? (x) => gen.apply(x) : t.run;
    const classes = labelClassCount(src.normalization);
    if (classes !== undefined) {
      // The label map travels as one scaled channel and enters the generator one-hot.
      const inner = run;
      run =
        typeof inner === 'function'
          ? ((x) => tf.tidy(() => inner(oneHotFromEncoded(x, classes)))) satisfies GeneratorFn
          : { run: (x: Float32Array, shape: readonly number[]) => inner.run(oneHotBuffer(x, classes), [...shape.slice(0, -1), classes]) };
    }
    const out = await translateVolume(input, run, {
      spatialDims: t.config.spatialDims,
      sizeMultiple: t.spec.sizeMultiple,
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
    // A 2D model never looks across slices: the spacing along the slicing axis does not matter to it.
    const inPlane = (i: number): boolean => t.config.spatialDims === 3 || i !== t.config.data.axis;
    const off = volume.spacing.map((s, i) => s / trained[i]).filter((r, i) => inPlane(i) && (r > 2 || r < 0.5));
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
