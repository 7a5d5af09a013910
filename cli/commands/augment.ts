/**
 * `voxshift augment --images DIR --labels DIR (--pipeline P.json | --preset ct|mr) --per-subject N
 * --seed S --out DIR [--workers K]`: an augmented training set (NIfTI image/label pairs and
 * manifest.jsonl) from labelled volumes paired by file name, on worker threads, with a progress bar;
 * rerunning the same command resumes an interrupted export.
 */
import { readFile } from 'node:fs/promises';
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
}

function intOption(name: string, v: string, min: number): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isInteger(n) || n < min) throw new VoxshiftError('INVALID_ARGUMENT', `--${name} must be an integer >= ${min}, got ${JSON.stringify(v)}`, { param: name });
  return n;
}

async function pipelineSource(o: AugmentCliOptions): Promise<PipelineSource> {
  if ((o.pipeline === undefined) === (o.preset === undefined)) {
    throw new VoxshiftError('INVALID_ARGUMENT', 'give exactly one of --pipeline P.json or --preset ct|mr', { param: 'pipeline' });
  }
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
    return { json: JSON.parse(text) as unknown };
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
    .option('--pipeline <file>', 'augmentation pipeline (JSON, see augment/README.md)')
    .option('--preset <name>', 'a ready-made pipeline: ct (nnU-Net-like) or mr (TorchIO-like)')
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
      });
      bar.stop();
      process.stdout.write(
        `wrote ${r.written} augmented pairs (${r.skipped} already there) for ${r.subjects} subjects × ${r.samples / r.subjects} to ${o.out} in ${r.seconds.toFixed(1)} s on ${r.workers} worker(s); manifest ${r.manifest}\n`,
      );
    });
};
