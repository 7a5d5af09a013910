/**
 * `voxshift train segmenter --images DIR --labels DIR --out DIR ...`: trains the learned segmenter
 * (validation/segment/learned) on image/label-map pairs matched by file name, with a progress bar
 * (ETA, loss), and writes a segmenter checkpoint folder to --out. Ctrl-C stops after the current
 * step and saves the segmenter as trained so far.
 */
import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { pairSubjectFiles } from '../../augment/export/pair-files.ts';
import { buildPipeline, readSubject, type PipelineSource } from '../../augment/export/sample.ts';
import { PRESETS, type PresetName } from '../../augment/presets.ts';
import { initBackend, type BackendKind } from '../../models3d/engine/backend.ts';
import { parseClassSpec, type SharedClassMapping } from '../../validation/segment/learned/classes.ts';
import { saveLearnedSegmenter } from '../../validation/segment/learned/segmenter-checkpoint.ts';
import { trainSegmenter, type TrainingSubject } from '../../validation/segment/learned/train-segmenter.ts';
import type { SharedClass } from '../../validation/segment/segmenter.ts';
import { VoxshiftError } from '../../volumes/errors.ts';
import type { Modality } from '../../volumes/volume.ts';
import { invocation } from '../invocation.ts';
import { createProgressBar } from '../progress.ts';

interface TrainSegmenterCliOptions {
  images: string;
  labels: string;
  out: string;
  dims: string;
  axis: string;
  steps: string;
  patch?: string;
  batch?: string;
  lr?: string;
  filters?: string;
  depth?: string;
  pipeline?: string;
  classes?: string;
  shared?: string;
  modality?: string;
  seed: string;
  backend: string;
  threads?: string;
}

function toInt(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isInteger(n)) throw new VoxshiftError('INVALID_ARGUMENT', `--${name} must be an integer, got ${JSON.stringify(v)}`, { param: name });
  return n;
}

function toNum(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new VoxshiftError('INVALID_ARGUMENT', `--${name} must be a number, got ${JSON.stringify(v)}`, { param: name });
  return n;
}

/** "0=0,1=3": label value = shared class id. */
function parseShared(text: string): SharedClassMapping {
  const out: Record<number, SharedClass> = {};
  for (const part of text.split(',')) {
    const m = /^\s*(\d+)\s*=\s*(\d+)\s*$/.exec(part);
    if (!m) throw new VoxshiftError('INVALID_ARGUMENT', `--shared must be value=class pairs like "0=0,1=3", got ${JSON.stringify(text)}`, { param: 'shared' });
    out[Number(m[1])] = Number(m[2]) as SharedClass;
  }
  return out;
}

async function pipelineSource(value: string): Promise<PipelineSource> {
  if (Object.keys(PRESETS).includes(value)) return { preset: value as PresetName };
  let text: string;
  try {
    text = await readFile(value, 'utf8');
  } catch (e) {
    throw new VoxshiftError('FILE_NOT_FOUND', `--pipeline ${JSON.stringify(value)} is neither a preset (${Object.keys(PRESETS).join(', ')}) nor a readable JSON file`, {
      file: value,
      param: 'pipeline',
      cause: e,
    });
  }
  return { json: text, name: value };
}

function modalityOf(v: string | undefined): Modality | undefined {
  if (v === undefined) return undefined;
  const m = v.toUpperCase();
  if (m !== 'CT' && m !== 'MR' && m !== 'PT') throw new VoxshiftError('INVALID_ARGUMENT', `--modality must be CT, MR or PT, got ${JSON.stringify(v)}`, { param: 'modality' });
  return m;
}

/** Adds `segmenter` under the `train` command. */
export function registerTrainSegmenter(train: Command, setExitCode: (code: number) => void): void {
  train
    .command('segmenter')
    .description('train a U-Net segmenter (2D slices or 3D patches) on image/label-map pairs matched by file name')
    .requiredOption('--images <dir>', 'folder of images (NIfTI, NRRD, MHA)')
    .requiredOption('--labels <dir>', 'folder of label maps with the same file names')
    .requiredOption('--out <dir>', 'checkpoint folder to write (manifest.json, weights.bin)')
    .option('--dims <n>', '2 (slices) or 3 (patches)', '2')
    .option('--axis <n>', '2D slicing axis of the volume grid', '2')
    .option('--steps <n>', 'training steps', '500')
    .option('--patch <sizes>', 'patch side n, or h,w (2D) / d,h,w (3D); multiples of 2^depth (default 64 in 2D, 32 in 3D)')
    .option('--batch <n>', 'patches per step (default 8 in 2D, 2 in 3D)')
    .option('--lr <x>', 'initial Adam learning rate (default 1e-3, polynomial decay)')
    .option('--filters <n>', 'U-Net channels of the first level (default 16)')
    .option('--depth <n>', 'U-Net downsamplings (default 3)')
    .option('--pipeline <p>', `augmentation: a preset (${Object.keys(PRESETS).join(', ')}) or a pipeline JSON file`)
    .option('--classes <list>', 'classes to learn as value=name pairs, e.g. 1=liver,2=kidney (default: every label value found; others count as background)')
    .option('--shared <list>', 'label value = validation shared class id, e.g. 0=0,1=3 (lets `validate` use the segmenter)')
    .option('--modality <m>', 'CT (HU window) or MR/PT (percentile normalisation); default from the images')
    .option('--seed <n>', 'seed of weights, patches and augmentation', '0')
    .option('--backend <kind>', 'auto, gpu, cpu or wasm', 'auto')
    .option('--threads <n>', 'WebAssembly threads (default: cores)')
    .action(async (o: TrainSegmenterCliOptions) => {
      const say = (s: string): boolean => process.stderr.write(`${s}\n`);
      const dims = toInt('dims', o.dims);
      if (dims !== 2 && dims !== 3) throw new VoxshiftError('INVALID_ARGUMENT', `--dims must be 2 or 3, got ${JSON.stringify(o.dims)}`, { param: 'dims' });
      const axis = toInt('axis', o.axis);
      if (axis !== 0 && axis !== 1 && axis !== 2) throw new VoxshiftError('INVALID_ARGUMENT', `--axis must be 0, 1 or 2, got ${JSON.stringify(o.axis)}`, { param: 'axis' });
      const patchParts = o.patch?.split(',').map((s) => toInt('patch', s.trim()) as number);
      const patchSize = patchParts === undefined ? undefined : patchParts.length === 1 ? patchParts[0] : patchParts;
      const classes = o.classes !== undefined ? parseClassSpec(o.classes, 'classes') : undefined;
      const pipeline = o.pipeline !== undefined ? await pipelineSource(o.pipeline) : undefined;
      const augmentation = pipeline ? { pipeline: buildPipeline(pipeline), name: 'preset' in pipeline ? `preset:${pipeline.preset}` : (pipeline.name ?? 'custom') } : undefined;
      const files = await pairSubjectFiles(o.images, o.labels);
      const subjects: TrainingSubject[] = [];
      for (const f of files) {
        say(`reading ${f.id}`);
        const s = await readSubject(f);
        subjects.push({ id: f.id, image: s.image, label: s.label });
      }
      const threads = toInt('threads', o.threads);
      await initBackend(o.backend as BackendKind, { ...(threads !== undefined ? { threads } : {}), log: say });
      const controller = new AbortController();
      const onSigint = (): void => {
        if (controller.signal.aborted) process.exit(130);
        say('\ninterrupt: finishing this step and saving the segmenter (Ctrl-C again to quit at once)');
        controller.abort();
      };
      process.on('SIGINT', onSigint);
      const bar = createProgressBar('train segmenter');
      try {
        const modality = modalityOf(o.modality);
        const lr = toNum('lr', o.lr);
        const result = await trainSegmenter({
          subjects,
          spatialDims: dims,
          axis,
          steps: toInt('steps', o.steps) as number,
          seed: toInt('seed', o.seed) ?? 0,
          ...(patchSize !== undefined ? { patchSize } : {}),
          ...(o.batch !== undefined ? { batchSize: toInt('batch', o.batch) } : {}),
          ...(lr !== undefined ? { learningRate: lr } : {}),
          ...(o.filters !== undefined ? { filters: toInt('filters', o.filters) } : {}),
          ...(o.depth !== undefined ? { depth: toInt('depth', o.depth) } : {}),
          ...(classes ? { classes } : {}),
          ...(o.shared !== undefined ? { sharedClasses: parseShared(o.shared) } : {}),
          ...(modality ? { modality } : {}),
          ...(augmentation ? { augmentation } : {}),
          signal: controller.signal,
          onStep: (r) => bar.update(r.step, r.totalSteps, `loss ${r.loss.toFixed(3)} (CE ${r.ce.toFixed(3)}, Dice ${r.dice.toFixed(3)}) ${r.secondsPerStep.toFixed(2)} s/step`),
        });
        bar.stop();
        try {
          await saveLearnedSegmenter(o.out, result.segmenter, {
            command: ['voxshift', ...invocation.argv].join(' '),
            data: { images: o.images, labels: o.labels, subjects: files.map((f) => f.id) },
            finalLoss: result.losses.at(-1),
            seconds: result.seconds,
          });
        } finally {
          result.segmenter.dispose();
        }
        const names = result.segmenter.info.classes.map((c) => `${c.value}=${c.name}`).join(', ');
        if (result.interrupted) {
          say(`stopped at step ${result.steps}; segmenter saved in ${o.out}`);
          setExitCode(130);
        } else {
          say(`trained ${result.steps} steps in ${result.seconds.toFixed(1)} s (classes ${names}); segmenter in ${o.out}`);
        }
      } finally {
        bar.stop();
        process.off('SIGINT', onSigint);
      }
    });
}
