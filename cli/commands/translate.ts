/**
 * `voxshift translate --model DIR IN OUT`: applies a trained model to a volume (any readable format)
 * and writes the result on the input's grid (any writable format), with a progress bar. The generator
 * runs on onnxruntime when the model folder has an ONNX export (`voxshift export`), else on tfjs
 * (`--runtime` chooses); the choice is printed.
 */
import type { Command } from 'commander';
import { VoxshiftError } from '../../volumes/errors.ts';
import { readVolume, writeVolume } from '../../volumes/io.ts';
import { initBackend, type BackendKind } from '../../models3d/engine/backend.ts';
import { chooseRuntime, loadTranslator, translate, RUNTIMES, type Direction, type Runtime } from '../../models3d/inference/translate.ts';
import { createProgressBar } from '../progress.ts';
import type { RegisterCommand } from './index.ts';

interface TranslateCliOptions {
  model: string;
  direction: string;
  batch?: string;
  patch?: string;
  overlap?: string;
  allowModalityMismatch?: boolean;
  overwrite?: boolean;
  backend: string;
  threads?: string;
  runtime: string;
}

function positiveInt(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new VoxshiftError('INVALID_ARGUMENT', `--${name} must be a positive integer, got ${JSON.stringify(v)}`, { param: name });
  return n;
}

export const registerTranslate: RegisterCommand = (program: Command) => {
  program
    .command('translate')
    .description('translate a volume with a trained model (e.g. MR → synthetic CT in HU)')
    .argument('<in>', 'input volume (file, DICOM folder or .zip)')
    .argument('<out>', 'output file (.nii, .nii.gz, .nrrd, .mha) or folder (DICOM series)')
    .requiredOption('--model <dir>', 'model folder written by `voxshift train` (OUT/model or OUT/checkpoint)')
    .option('--direction <d>', 'AtoB or BtoA (CycleGAN only)', 'AtoB')
    .option('--batch <n>', '2D: slices per batch')
    .option('--patch <d,h,w>', '3D: sliding-window size (default: the training patch)')
    .option('--overlap <f>', '3D: window overlap fraction (default 0.5)')
    .option('--allow-modality-mismatch', "translate even if the input's modality is not the model's source modality")
    .option('--overwrite', 'replace an existing output')
    .option('--runtime <r>', 'auto (onnx when the model has an ONNX export, else tfjs), onnx or tfjs', 'auto')
    .option('--backend <kind>', 'tfjs runtime: auto, gpu, cpu or wasm', 'auto')
    .option('--threads <n>', 'onnxruntime intra-op or WebAssembly threads (default: cores)')
    .action(async (input: string, output: string, o: TranslateCliOptions) => {
      const say = (s: string): boolean => process.stderr.write(`${s}\n`);
      if (o.runtime !== 'auto' && !RUNTIMES.includes(o.runtime as Runtime)) {
        throw new VoxshiftError('INVALID_ARGUMENT', `--runtime must be auto, onnx or tfjs, got ${JSON.stringify(o.runtime)}`, { param: 'runtime' });
      }
      const threads = o.threads !== undefined ? positiveInt('threads', o.threads) : undefined;
      const runtime = await chooseRuntime(o.model, o.direction as Direction, o.runtime as Runtime | 'auto');
      if (runtime === 'tfjs') await initBackend(o.backend as BackendKind, { ...(threads !== undefined ? { threads } : {}), log: say });
      const translator = await loadTranslator(o.model, o.direction as Direction, {
        runtime: o.runtime as Runtime | 'auto',
        ...(threads !== undefined ? { threads } : {}),
        log: say,
      });
      try {
        const vol = await readVolume(input);
        const overlap = o.overlap === undefined ? undefined : Number(o.overlap);
        if (overlap !== undefined && !(overlap >= 0 && overlap < 1)) {
          throw new VoxshiftError('INVALID_ARGUMENT', `--overlap must be in [0, 1), got ${JSON.stringify(o.overlap)}`, { param: 'overlap' });
        }
        const bar = createProgressBar(`${translator.source.name} → ${translator.target.name}`);
        const t0 = performance.now();
        const out = await translate(vol, translator, {
          ...(o.batch !== undefined ? { batchSize: positiveInt('batch', o.batch) } : {}),
          ...(o.patch !== undefined ? { patchSize: o.patch.split(',').map((s) => positiveInt('patch', s.trim())) } : {}),
          ...(overlap !== undefined ? { overlap } : {}),
          ...(o.allowModalityMismatch ? { allowModalityMismatch: true } : {}),
          onProgress: (d, t) => bar.update(d, t),
        });
        bar.stop();
        for (const w of out.meta.warnings) say(`warning ${w.code}: ${w.message}`);
        const files = await writeVolume(out, output, o.overwrite ? { overwrite: true } : {});
        process.stdout.write(
          `translated ${vol.shape.join('×')} ${translator.source.name} → ${translator.target.name} in ${((performance.now() - t0) / 1000).toFixed(1)} s on ${translator.runtime}; wrote ${files.length === 1 ? files[0] : `${files.length} files to ${output}`}\n`,
        );
      } finally {
        translator.dispose();
      }
    });
};
