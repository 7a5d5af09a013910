/**
 * GAN-based augmentation by modality/site translation: one image of a subject is run through a
 * `models3d/` checkpoint (MR → CT, site A → site B) and the result takes its place (or sits beside
 * it under `output`); label maps and every other volume are the same objects, bit-identical. The new
 * image's history is the source image's plus one `Translate` entry naming the model (manifest path,
 * checkpoint id = sha256 of its weights, training step, kind, direction, modality pair), so an
 * exported sample says which network made it.
 *
 * It is async (the generator runs on onnxruntime or tfjs), so it is not a Transform: call it before or
 * after a pipeline, or use a `{ "type": "Translate", "model": DIR }` step in the dataset export's
 * pipeline JSON (gan-steps.ts).
 */
import { join, resolve } from 'node:path';
import { VoxshiftError } from '../../volumes/errors.ts';
import { deriveVolume } from '../../volumes/volume.ts';
import type { HistoryEntry } from '../../volumes/volume.ts';
import { loadTranslator, translate } from '../../models3d/inference/translate.ts';
import type { Direction, Runtime, Translator } from '../../models3d/inference/translate.ts';
import { createSubject } from '../subject.ts';
import type { Subject } from '../subject.ts';

export interface TranslateSubjectOptions {
  /** The image to translate (default: the subject's only image). */
  source?: string;
  /** Key of the translated image (default: `source`, replacing it). */
  output?: string;
  /** When a folder is given: which generator (default AtoB) and runtime (default auto). */
  direction?: Direction;
  runtime?: Runtime | 'auto';
  allowModalityMismatch?: boolean;
  batchSize?: number;
}

function sourceKey(subject: Subject, given: string | undefined): string {
  if (given !== undefined) {
    if (subject[given]?.kind !== 'intensity') {
      throw new VoxshiftError('INVALID_ARGUMENT', `source names ${JSON.stringify(given)}, which is not an image of the subject (${Object.keys(subject).join(', ')})`, {
        param: 'source',
      });
    }
    return given;
  }
  const keys = Object.keys(subject).filter((k) => subject[k].kind === 'intensity');
  if (keys.length !== 1) {
    throw new VoxshiftError('INVALID_ARGUMENT', `translateSubject needs exactly one image in the subject or a "source" key; the subject has ${keys.length} (${keys.join(', ') || 'none'})`, {
      param: 'source',
    });
  }
  return keys[0];
}

/** What a GAN step's history records of its checkpoint: manifest path, weights sha256, training step. */
export function checkpointParams(t: Translator): { model: string; checkpointId: string; step: number } {
  return { model: join(resolve(t.dir), 'manifest.json'), checkpointId: t.manifest.weights.sha256, step: t.manifest.step };
}

/** The history entry written for a translation with `t`. */
export function translationStep(t: Translator, source: string): HistoryEntry {
  return {
    op: 'Translate',
    params: {
      ...checkpointParams(t),
      kind: t.config.kind,
      spatialDims: t.config.spatialDims,
      direction: t.direction,
      from: t.source.name,
      to: t.target.name,
      source,
    },
  };
}

/** Translates one image of `subject` with a checkpoint folder or a loaded Translator (reuse one for many subjects). */
export async function translateSubject(subject: Subject, model: string | Translator, options: TranslateSubjectOptions = {}): Promise<Subject> {
  const key = sourceKey(subject, options.source);
  const output = options.output ?? key;
  if (typeof output !== 'string' || output.length === 0 || (output !== key && subject[output] !== undefined && subject[output].kind === 'label')) {
    throw new VoxshiftError('INVALID_ARGUMENT', `output must name a new volume or an image, got ${JSON.stringify(output)}`, { param: 'output' });
  }
  const t = typeof model === 'string' ? await loadTranslator(model, options.direction ?? 'AtoB', { runtime: options.runtime ?? 'auto' }) : model;
  try {
    const src = subject[key];
    const out = await translate(src, t, {
      ...(options.allowModalityMismatch ? { allowModalityMismatch: true } : {}),
      ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}),
    });
    // Back on the subject's exact grid object values (translate keeps the grid; this keeps it bit-exact).
    const image = deriveVolume(out, { data: out.data, shape: src.shape, spacing: src.spacing, origin: src.origin, direction: src.direction, history: src.history }, translationStep(t, key));
    return createSubject({ ...subject, [output]: image });
  } finally {
    if (typeof model === 'string') t.dispose();
  }
}
