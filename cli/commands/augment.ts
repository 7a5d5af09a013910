/**
 * `voxshift augment --images DIR --labels DIR (--pipeline P.json | --preset ct|mr) [--translate MODEL |
 * --label-to-image MODEL] --per-subject N --seed S --out DIR [--workers K]`: an augmented training set
 * (NIfTI image/label pairs and manifest.jsonl) from labelled volumes paired by file name, on worker
 * threads, with a progress bar; rerunning the same command resumes an interrupted export.
 *
 * GAN steps: `Translate` / `LabelToImageGAN` steps in the pipeline JSON (model paths relative to the
 * JSON file), or `--translate MODEL` / `--label-to-image MODEL`, which append that step after the
 * pipeline or preset (or make the whole pipeline when neither is given).
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { exportDataset } from '../../augment/export/export-dataset.ts';
import type { PipelineSource } from '../../augment/export/sample.ts';
import { PRESETS } from '../../augment/presets.ts';
import type { PresetName } from '../../augment/presets.ts';
import { VoxshiftError } from '../../volumes/errors.ts';
import { createProgressBar } from '../progress.ts';
import type { RegisterCommand } from './index.ts';

interface AugmentCliOptions {
  images: string;
  labels: string;
  pipeline?: string;
  preset?: string;
  perSubject: string;
  seed: string;
  out: string;
  workers?: string;
  translate?: string;
  labelToImage?: string;
}

function intOption(name: string, v: string, min: number): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isInteger(n) || n < min) throw new VoxshiftError('INVALID_ARGUMENT', `--${name} must be an integer >= ${min}, got ${JSON.stringify(v)}`, { param: name });
  return n;
}

/** The step a GAN flag asks for (model resolved against the working directory), or undefined. */
function ganFlagStep(o: AugmentCliOptions): { type: string; model: string } | undefined {
  if (o.translate !== undefined && o.labelToImage !== undefined) {
    throw new VoxshiftError('INVALID_ARGUMENT', 'give at most one of --translate and --label-to-image (to chain GAN steps, write them into --pipeline JSON)', { param: 'label-to-image' });
  }
  for (const [flag, type, v] of [['translate', 'Translate', o.translate], ['label-to-image', 'LabelToImageGAN', o.labelToImage]] as const) {
    if (v === undefined) continue;
    if (v.trim() === '') throw new VoxshiftError('INVALID_ARGUMENT', `--${flag} needs a checkpoint folder, got ""`, { param: flag });
    return { type, model: resolve(v) };
  }
  return undefined;
}

/** `source` with `step` appended as a last top-level step. */
function withStep(source: PipelineSource, step: { type: string; model: string }): PipelineSource {
  if ('preset' in source) {
    return { json: { name: `preset:${source.preset}+${step.type}`, transforms: [...PRESETS[source.preset].transforms, step] } };
  }
  const j = source.json;
  const obj = typeof j === 'object' && j !== null && !Array.isArray(j) ? (j as { name?: unknown; transforms?: unknown }) : undefined;
  const steps = obj ? obj.transforms : j;
  if (!Array.isArray(steps)) return source; // exportDataset reports the malformed pipeline
  const name = `${typeof obj?.name === 'string' ? obj.name : 'custom'}+${step.type}`;
  return { ...source, json: { ...(obj ?? {}), name, transforms: [...(steps as unknown[]), step] } };
}

async function pipelineSource(o: AugmentCliOptions): Promise<PipelineSource> {
  const gan = ganFlagStep(o);
  if (o.pipeline !== undefined && o.preset !== undefined) {
    throw new VoxshiftError('INVALID_ARGUMENT', 'give exactly one of --pipeline P.json or --preset ct|mr, not both', { param: 'pipeline' });
  }
  if (o.pipeline === undefined && o.preset === undefined) {
    if (!gan) throw new VoxshiftError('INVALID_ARGUMENT', 'give exactly one of --pipeline P.json or --preset ct|mr, or a GAN step alone (--translate MODEL or --label-to-image MODEL)', { param: 'pipeline' });
    return { json: { name: gan.type, transforms: [gan] } };
  }
  const base = await baseSource(o);
  return gan ? withStep(base, gan) : base;
}

async function baseSource(o: AugmentCliOptions): Promise<PipelineSource> {
  if (o.preset !== undefined) {
    if (!Object.keys(PRESETS).includes(o.preset)) {
      throw new VoxshiftError('INVALID_ARGUMENT', `--preset must be one of ${Object.keys(PRESETS).join(', ')}, got ${JSON.stringify(o.preset)}`, { param: 'preset' });
    }
    return { preset: o.preset as PresetName };
  }
  const path = o.pipeline as string;
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new VoxshiftError('FILE_NOT_FOUND', `--pipeline ${JSON.stringify(path)} cannot be read`, { file: path, param: 'pipeline', cause: e });
  }
  try {
    // GAN steps' relative model paths are relative to the pipeline file.
    return { json: JSON.parse(text) as unknown, baseDir: dirname(resolve(path)) };
  } catch (e) {
    throw new VoxshiftError('INVALID_ARGUMENT', `--pipeline ${JSON.stringify(path)} is not valid JSON (${(e as Error).message})`, { file: path, param: 'pipeline' });
  }
}

export const registerAugment: RegisterCommand = (program: Command) => {
  program
    .command('augment')
    .description('write an augmented training set: N seeded, recorded image/label pairs per subject (resumable)')
    .requiredOption('--images <dir>', 'folder of images (.nii, .nii.gz, .nrrd, .mha)')
    .requiredOption('--labels <dir>', 'folder of label maps with the same file names as the images')
    .option('--pipeline <file>', 'augmentation pipeline (JSON, see augment/README.md; may hold Translate / LabelToImageGAN steps)')
    .option('--preset <name>', 'a ready-made pipeline: ct (nnU-Net-like) or mr (TorchIO-like)')
    .option('--translate <model>', 'after the pipeline, translate each image with this models3d checkpoint (GAN; labels unchanged)')
    .option('--label-to-image <model>', "after the pipeline, replace each image by one a label → image Pix2Pix makes from the sample's label map")
    .requiredOption('--per-subject <n>', 'augmented samples per subject')
    .option('--seed <s>', 'dataset seed (each sample gets a seed from it, its subject and its index)', '0')
    .requiredOption('--out <dir>', 'output folder (images/, labels/, manifest.jsonl, augment.json)')
    .option('--workers <k>', 'worker threads (default: cores; 0 = main thread)')
    .action(async (o: AugmentCliOptions) => {
      const pipeline = await pipelineSource(o);
      const bar = createProgressBar('augment');
      const r = await exportDataset({
        images: o.images,
        labels: o.labels,
        pipeline,
        perSubject: intOption('per-subject', o.perSubject, 1),
        seed: intOption('seed', o.seed, 0),
        out: o.out,
        ...(o.workers !== undefined ? { workers: intOption('workers', o.workers, 0) } : {}),
        onProgress: (d, t) => bar.update(d, t),
        log: (m) => process.stderr.write(`${m}\n`),
      });
      bar.stop();
      process.stdout.write(
        `wrote ${r.written} augmented pairs (${r.skipped} already there) for ${r.subjects} subjects × ${r.samples / r.subjects} to ${o.out} in ${r.seconds.toFixed(1)} s on ${r.workers} worker(s); manifest ${r.manifest}\n`,
      );
    });
};
