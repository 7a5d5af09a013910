/**
 * One subject's augmented samples: read the image and label map, and for each sample index draw a
 * fresh generator from (seed, subject id, index) alone — so a sample's bytes never depend on the
 * worker count, the order of work or which samples were already done — apply the pipeline (its GAN
 * steps on the thread's loaded generators), write the pair (write-then-rename, see writeNifti) and
 * return its manifest record.
 */
import { join } from 'node:path';
import { VoxshiftError } from '../../volumes/errors.ts';
import { readVolume } from '../../volumes/io.ts';
import { writeNifti } from '../../volumes/nifti/write-nifti.ts';
import { createRng, nextSeed } from '../../volumes/random.ts';
import { deriveVolume } from '../../volumes/volume.ts';
import type { HistoryEntry } from '../../volumes/volume.ts';
import { parsePipeline } from '../pipeline.ts';
import { presetPipeline, PRESETS } from '../presets.ts';
import type { PresetName } from '../presets.ts';
import { createSubject } from '../subject.ts';
import type { Subject } from '../subject.ts';
import type { Transform } from '../transform.ts';
import type { GanModels } from '../synthesis/gan-steps.ts';
import { applyStaged, parseStagedPipeline, syncStaged } from '../synthesis/staged-pipeline.ts';
import type { StagedPipeline } from '../synthesis/staged-pipeline.ts';
import type { SubjectFiles } from './pair-files.ts';

/**
 * A preset name or a pipeline's JSON (as parsePipeline takes it; for the export, top-level GAN steps
 * too). `baseDir`: what relative model paths of GAN steps are relative to (the JSON file's folder).
 */
export type PipelineSource = { preset: PresetName } | { json: unknown; name?: string; baseDir?: string };

export interface ManifestRecord {
  sample: string;
  subject: string;
  index: number;
  seed: number;
  /** Relative to the output folder. */
  image: string;
  label: string;
  source: { image: string; label: string };
  pipeline: string;
  history: { image: HistoryEntry[]; label: HistoryEntry[] };
}

export function buildPipeline(p: PipelineSource): Transform {
  if ('preset' in p) {
    if (!Object.keys(PRESETS).includes(p.preset)) {
      throw new VoxshiftError('INVALID_ARGUMENT', `preset must be one of ${Object.keys(PRESETS).join(', ')}, got ${JSON.stringify(p.preset)}`, { param: 'preset' });
    }
    return presetPipeline(p.preset);
  }
  return parsePipeline(p.json);
}

/** The export's pipeline: synchronous parts and GAN steps (validated; the models are checked by checkGanModels). */
export function buildStagedPipeline(p: PipelineSource): StagedPipeline {
  if ('preset' in p) return syncStaged(buildPipeline(p));
  return parseStagedPipeline(p.json, p.baseDir !== undefined ? { baseDir: p.baseDir } : {});
}

export function pipelineName(p: PipelineSource): string {
  if ('preset' in p) return `preset:${p.preset}`;
  const j = p.json as { name?: unknown } | null;
  return p.name ?? (typeof j === 'object' && j !== null && typeof j.name === 'string' ? j.name : 'custom');
}

/** The seed of sample `index` of subject `id` under the dataset seed (FNV-1a of the triple, then one mulberry32 step). */
export function sampleSeed(seed: number, id: string, index: number): number {
  const text = `${seed >>> 0}/${id}/${index}`;
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return nextSeed(createRng(h >>> 0));
}

export function sampleName(id: string, index: number): string {
  return `${id}_${String(index).padStart(4, '0')}`;
}

export function samplePaths(id: string, index: number): { image: string; label: string } {
  const name = sampleName(id, index);
  return { image: join('images', `${name}.nii.gz`), label: join('labels', `${name}.nii.gz`) };
}

/** Reads a subject; the label file is a label map whatever its header says. */
export async function readSubject(files: SubjectFiles): Promise<Subject> {
  const image = await readVolume(files.image);
  const raw = await readVolume(files.label);
  const label = raw.kind === 'label' ? raw : deriveVolume(raw, { data: raw.data, kind: 'label' });
  try {
    return createSubject({ image: image.kind === 'intensity' ? image : deriveVolume(image, { data: image.data, kind: 'intensity' }), label });
  } catch (e) {
    if (e instanceof VoxshiftError && e.shortCode === 'GEOMETRY_MISMATCH') {
      throw new VoxshiftError('GEOMETRY_MISMATCH', `label map ${files.label} is not on the grid of image ${files.image}: ${e.message}`, { file: files.label, param: 'labels' });
    }
    throw e;
  }
}

/** Makes and writes samples `indices` of one subject; `onSample` gets each record as its files land. */
export async function augmentSubject(
  files: SubjectFiles,
  indices: readonly number[],
  options: { pipeline: StagedPipeline; pipelineName: string; seed: number; outDir: string; models: GanModels },
  onSample: (record: ManifestRecord) => void,
): Promise<void> {
  const subject = await readSubject(files);
  for (const index of indices) {
    const seed = sampleSeed(options.seed, files.id, index);
    const out = await applyStaged(options.pipeline, subject, createRng(seed), options.models);
    const paths = samplePaths(files.id, index);
    await writeNifti(out.image, join(options.outDir, paths.image));
    await writeNifti(out.label, join(options.outDir, paths.label));
    onSample({
      sample: sampleName(files.id, index),
      subject: files.id,
      index,
      seed,
      ...paths,
      source: { image: files.image, label: files.label },
      pipeline: options.pipelineName,
      history: { image: [...out.image.history], label: [...out.label.history] },
    });
  }
}
