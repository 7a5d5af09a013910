/**
 * Label → image synthesis with a trained Pix2Pix (`voxshift train pix2pix --a LABEL_MAPS --a-modality
 * labels --b IMAGES`): the subject's label map is run through the checkpoint's generator and the
 * result is written as an image on the label map's grid, so image and labels agree by construction.
 * The label map (and every other volume) is the same object, bit-identical. The new image's history
 * is the label map's plus one `LabelToImageGAN` entry naming the model (manifest path, checkpoint id =
 * sha256 of its weights, training step, classes, target domain).
 *
 * Variation comes from what is done to the label map first: run a spatial pipeline (RandomAffine,
 * RandomElastic, RandomFlip...) on { image, labels }, then this on the result — the deformed label map
 * gets an image of its own. Like translateSubject it is async (the generator runs on onnxruntime or
 * tfjs), so it is not a Transform: call it after (or before) a pipeline, or use a
 * `{ "type": "LabelToImageGAN", "model": DIR }` step in the dataset export's pipeline JSON (gan-steps.ts).
 */
import { VoxshiftError } from '../../volumes/errors.ts';
import { deriveVolume } from '../../volumes/volume.ts';
import type { HistoryEntry } from '../../volumes/volume.ts';
import { isLabelEncoding } from '../../models3d/data/label-encoding.ts';
import { loadTranslator, translate } from '../../models3d/inference/translate.ts';
import type { Runtime, Translator } from '../../models3d/inference/translate.ts';
import { createSubject } from '../subject.ts';
import type { Subject } from '../subject.ts';
import { checkpointParams } from './translate-subject.ts';

export interface LabelToImageGANOptions {
  /** Key of the label map (default: the subject's only label map). */
  labels?: string;
  /** Key the image is written under (default 'image'; replaces an image of that name). */
  image?: string;
  /** When a folder is given: the runtime (default auto). */
  runtime?: Runtime | 'auto';
  /** 2D models: slices per generator call. */
  batchSize?: number;
}

function labelKey(subject: Subject, given: string | undefined): string {
  if (given !== undefined) {
    if (subject[given]?.kind !== 'label') {
      throw new VoxshiftError('INVALID_ARGUMENT', `labels names ${JSON.stringify(given)}, which is not a label map of the subject (${Object.keys(subject).join(', ')})`, {
        param: 'labels',
      });
    }
    return given;
  }
  const keys = Object.keys(subject).filter((k) => subject[k].kind === 'label');
  if (keys.length !== 1) {
    throw new VoxshiftError('INVALID_ARGUMENT', `LabelToImageGAN needs exactly one label map in the subject or a "labels" key; the subject has ${keys.length} (${keys.join(', ') || 'none'})`, {
      param: 'labels',
    });
  }
  return keys[0];
}

/** The history entry written for a synthesis with `t` from the label map under `labels`. */
export function labelToImageGANStep(t: Translator, labels: string): HistoryEntry {
  const spec = t.source.normalization;
  return {
    op: 'LabelToImageGAN',
    params: {
      ...checkpointParams(t),
      spatialDims: t.config.spatialDims,
      classes: isLabelEncoding(spec) ? [...spec.classes] : [],
      to: t.target.name,
      modality: t.target.modality,
      labels,
    },
  };
}

function checkLabelModel(t: Translator): void {
  if (!isLabelEncoding(t.source.normalization)) {
    throw new VoxshiftError(
      'INVALID_ARGUMENT',
      `model ${t.dir} translates ${t.source.name} (${t.source.modality}) images, not label maps; LabelToImageGAN needs a label → image Pix2Pix (voxshift train pix2pix --a-modality labels)`,
      { param: 'model', details: { source: t.source.name, normalization: t.source.normalization } },
    );
  }
}

/** Synthesises an image from the subject's label map with a checkpoint folder or a loaded Translator (reuse one for many subjects). */
export async function labelToImageGAN(subject: Subject, model: string | Translator, options: LabelToImageGANOptions = {}): Promise<Subject> {
  const key = labelKey(subject, options.labels);
  const output = options.image ?? 'image';
  if (typeof output !== 'string' || output.length === 0 || subject[output]?.kind === 'label') {
    throw new VoxshiftError('INVALID_ARGUMENT', `image must name a new volume or an image of the subject, got ${JSON.stringify(output)}`, { param: 'image' });
  }
  const t = typeof model === 'string' ? await loadTranslator(model, 'AtoB', { runtime: options.runtime ?? 'auto' }) : model;
  try {
    checkLabelModel(t);
    const labels = subject[key];
    const out = await translate(labels, t, { ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}) });
    const image = deriveVolume(
      out,
      {
        data: out.data,
        shape: labels.shape,
        spacing: labels.spacing,
        origin: labels.origin,
        direction: labels.direction,
        kind: 'intensity',
        modality: t.target.modality,
        history: labels.history,
      },
      labelToImageGANStep(t, key),
    );
    return createSubject({ ...subject, [output]: image });
  } finally {
    if (typeof model === 'string') t.dispose();
  }
}
