/**
 * GAN steps of a JSON pipeline: `{ "type": "Translate", "model": DIR, ... }` (translateSubject: an image
 * through a models3d/ translation checkpoint) and `{ "type": "LabelToImageGAN", "model": DIR, ... }`
 * (labelToImageGAN: a new image from the label map with a label → image Pix2Pix). They are async (the
 * generator runs on onnxruntime or tfjs), so they are not Transforms: staged-pipeline.ts runs them
 * between the synchronous parts of a pipeline.
 *
 * - `parseGanStep` checks the keys (sync); a relative `model` is resolved against `baseDir` (the
 *   pipeline file's folder).
 * - `checkGanStep` reads the checkpoint's manifest before any work starts: a missing folder, something
 *   that is not a checkpoint, or a model of the wrong type (a label → image model used as Translate, an
 *   image translator used as LabelToImageGAN), a Pix2Pix asked for BtoA, or runtime onnx without an
 *   ONNX export are INVALID_ARGUMENT/FILE_NOT_FOUND naming the step's key (`pipeline[2].model`).
 * - `GanModels` loads each step's generator once per thread and keeps it for every sample.
 * - A step with `p` < 1 draws one uniform number from the sample's generator to decide (as the random
 *   transforms do); with p = 1 it draws nothing, so the rest of the pipeline sees the same numbers as
 *   without the step. The generators themselves are deterministic.
 */
import { isAbsolute, resolve } from 'node:path';
import { VoxshiftError } from '../../volumes/errors.ts';
import type { Rng } from '../../volumes/random.ts';
import { backendInfo, initBackend } from '../../models3d/engine/backend.ts';
import { isLabelEncoding } from '../../models3d/data/label-encoding.ts';
import { readManifest } from '../../models3d/checkpoint/checkpoint.ts';
import type { CheckpointManifest } from '../../models3d/checkpoint/checkpoint.ts';
import { findOnnxExport, hasOnnxExport } from '../../models3d/export/export-checkpoint.ts';
import { generatorRole } from '../../models3d/model/networks.ts';
import { loadTranslator } from '../../models3d/inference/translate.ts';
import type { Direction, Runtime, Translator } from '../../models3d/inference/translate.ts';
import { OptionReader } from '../options.ts';
import { GAN_STEP_TYPES, isGanStepType } from '../pipeline.ts';
import type { GanStepType } from '../pipeline.ts';
import type { Subject } from '../subject.ts';
import { labelToImageGAN } from './label-to-image-gan.ts';
import { translateSubject } from './translate-subject.ts';

export { GAN_STEP_TYPES, isGanStepType };
export type { GanStepType };

export interface GanStep {
  type: GanStepType;
  /** Where the step is in the pipeline JSON, e.g. "pipeline[2]"; errors name `${where}.model`. */
  where: string;
  /** Absolute checkpoint folder. */
  model: string;
  direction: Direction;
  runtime: Runtime | 'auto';
  p: number;
  /** Translate: the image to translate and the key of the result (defaults: the only image, replaced). */
  source?: string;
  output?: string;
  allowModalityMismatch?: boolean;
  /** LabelToImageGAN: the label map and the key of the new image (defaults: the only label map, 'image'). */
  labels?: string;
  image?: string;
}

/** What checkGanStep learned about a step's checkpoint (recorded in the export's settings). */
export interface GanModelInfo {
  where: string;
  type: GanStepType;
  model: string;
  /** sha256 of the checkpoint's weights. */
  checkpointId: string;
  step: number;
  runtime: Runtime;
}

function optionalKey(r: OptionReader, key: string): string | undefined {
  if (!r.has(key)) return undefined;
  const v = r.raw(key);
  if (typeof v !== 'string' || v.length === 0) r.fail(key, 'expected a volume name (non-empty string)', v);
  return v;
}

/** Validates a GAN step's keys; `baseDir` resolves a relative model path (default: the working directory). */
export function parseGanStep(step: Record<string, unknown>, where: string, baseDir?: string): GanStep {
  const { type, ...options } = step;
  if (!isGanStepType(type)) throw new VoxshiftError('INVALID_ARGUMENT', `${where}.type: expected one of ${GAN_STEP_TYPES.join(', ')}, got ${JSON.stringify(type)}`, { param: `${where}.type` });
  const allowed = type === 'Translate' ? ['model', 'direction', 'runtime', 'source', 'output', 'allowModalityMismatch', 'p'] : ['model', 'runtime', 'labels', 'image', 'p'];
  const r: OptionReader = new OptionReader(where, options, allowed);
  const model = r.raw('model');
  if (typeof model !== 'string' || model.trim() === '') r.fail('model', 'expected the folder of a trained checkpoint (voxshift train)', model);
  const out: GanStep = {
    type,
    where,
    model: isAbsolute(model) ? model : resolve(baseDir ?? process.cwd(), model),
    direction: type === 'Translate' ? r.choice<Direction>('direction', 'AtoB', ['AtoB', 'BtoA']) : 'AtoB',
    runtime: r.choice<Runtime | 'auto'>('runtime', 'auto', ['auto', 'onnx', 'tfjs']),
    p: r.prob('p', 1),
  };
  if (type === 'Translate') {
    const source = optionalKey(r, 'source');
    const output = optionalKey(r, 'output');
    if (source !== undefined) out.source = source;
    if (output !== undefined) out.output = output;
    if (r.bool('allowModalityMismatch', false)) out.allowModalityMismatch = true;
  } else {
    const labels = optionalKey(r, 'labels');
    const image = optionalKey(r, 'image');
    if (labels !== undefined) out.labels = labels;
    if (image !== undefined) out.image = image;
  }
  return out;
}

function modelError(s: GanStep, message: string, cause?: unknown, code: 'INVALID_ARGUMENT' | 'FILE_NOT_FOUND' = 'INVALID_ARGUMENT'): VoxshiftError {
  const param = `${s.where}.model`;
  return new VoxshiftError(code, `${param} (${s.type}): ${message}`, { param, details: { model: s.model }, ...(cause !== undefined ? { cause } : {}) });
}

/** Checks a step's checkpoint before any work (see the module comment); returns what the export records. */
export async function checkGanStep(s: GanStep): Promise<GanModelInfo> {
  let manifest: CheckpointManifest;
  try {
    manifest = await readManifest(s.model);
  } catch (e) {
    const missing = e instanceof VoxshiftError && e.shortCode === 'FILE_NOT_FOUND';
    throw modelError(s, missing ? `${JSON.stringify(s.model)} does not exist` : `${JSON.stringify(s.model)} is not a usable checkpoint (${(e as Error).message})`, e, missing ? 'FILE_NOT_FOUND' : 'INVALID_ARGUMENT');
  }
  let role: ReturnType<typeof generatorRole>;
  try {
    role = generatorRole(manifest.config.kind, s.direction);
  } catch (e) {
    throw modelError(s, (e as Error).message, e);
  }
  const { a, b } = manifest.config.domains;
  const source = s.direction === 'AtoB' ? a : b;
  const target = s.direction === 'AtoB' ? b : a;
  const fromLabels = isLabelEncoding(source.normalization);
  if (s.type === 'Translate' && fromLabels) {
    throw modelError(s, `${s.model} is a label → image model (${source.name} label maps → ${target.name}); use it in a LabelToImageGAN step, or give Translate an image → image checkpoint`);
  }
  if (s.type === 'Translate' && isLabelEncoding(target.normalization)) {
    throw modelError(s, `${s.model} translates ${source.name} into label maps, not images; Translate needs an image → image checkpoint`);
  }
  if (s.type === 'LabelToImageGAN' && !fromLabels) {
    throw modelError(
      s,
      `${s.model} translates ${source.name} (${source.modality}) images, not label maps; LabelToImageGAN needs a label → image Pix2Pix (voxshift train pix2pix --a-modality labels), or use the model in a Translate step`,
    );
  }
  let runtime: Runtime = s.runtime === 'auto' ? (hasOnnxExport(s.model, manifest, role) ? 'onnx' : 'tfjs') : s.runtime;
  if (runtime === 'onnx') {
    const found = await findOnnxExport(s.model, manifest, role).catch((e: unknown) => {
      throw modelError(s, (e as Error).message, e);
    });
    if (!found.ok) {
      if (s.runtime === 'onnx') throw modelError(s, `runtime onnx needs an ONNX export of the ${role} generator, but ${found.reason}; run \`voxshift export --model ${s.model}\` or use runtime tfjs`);
      runtime = 'tfjs';
    }
  }
  return { where: s.where, type: s.type, model: s.model, checkpointId: manifest.weights.sha256, step: manifest.step, runtime };
}

export interface GanModelsOptions {
  /** onnxruntime intra-op threads per model (default: onnxruntime's, the cores). */
  threads?: number;
  log?: (message: string) => void;
}

/** The loaded generators of a thread, one per step, each loaded on first use and kept. */
export class GanModels {
  private readonly loaded = new Map<string, Promise<Translator>>();

  constructor(private readonly options: GanModelsOptions = {}) {}

  /** How many generators were loaded so far. */
  get count(): number {
    return this.loaded.size;
  }

  translator(s: GanStep): Promise<Translator> {
    const key = `${s.model}\n${s.direction}\n${s.runtime}`;
    let t = this.loaded.get(key);
    if (!t) {
      t = this.load(s);
      this.loaded.set(key, t);
    }
    return t;
  }

  private async load(s: GanStep): Promise<Translator> {
    const info = await checkGanStep(s);
    // An entry point normally starts tfjs; a worker thread or a library caller may not have.
    if (info.runtime === 'tfjs' && backendInfo() === undefined) await initBackend('auto', { ...(this.options.threads !== undefined ? { threads: this.options.threads } : {}) });
    return loadTranslator(s.model, s.direction, {
      runtime: info.runtime,
      ...(this.options.threads !== undefined ? { threads: this.options.threads } : {}),
      ...(this.options.log ? { log: this.options.log } : {}),
    });
  }

  async dispose(): Promise<void> {
    const all = [...this.loaded.values()];
    this.loaded.clear();
    for (const t of await Promise.allSettled(all)) if (t.status === 'fulfilled') t.value.dispose();
  }
}

/** Runs one GAN step on a subject (decides `p` with one draw from `rng` when p < 1). */
export async function applyGanStep(s: GanStep, subject: Subject, rng: Rng, models: GanModels): Promise<Subject> {
  if (s.p < 1 && !(rng() < s.p)) return subject;
  const t = await models.translator(s);
  if (s.type === 'Translate') {
    return translateSubject(subject, t, {
      ...(s.source !== undefined ? { source: s.source } : {}),
      ...(s.output !== undefined ? { output: s.output } : {}),
      ...(s.allowModalityMismatch ? { allowModalityMismatch: true } : {}),
    });
  }
  return labelToImageGAN(subject, t, { ...(s.labels !== undefined ? { labels: s.labels } : {}), ...(s.image !== undefined ? { image: s.image } : {}) });
}
