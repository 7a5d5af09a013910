/**
 * A 3D CycleGAN ("CubeGAN") on unpaired phantoms: trains on 32³ patches of T1 MR subjects and CT
 * subjects drawn from other seeds (no pairs), translates whole held-out MR phantoms by sliding window
 * (the training patch as window, overlap 0.5, Gaussian blending) and scores them with
 * evaluateOnPhantoms: MAE and SSIM in HU inside the body, against a global linear MR→HU fit on
 * paired training subjects (which the CycleGAN never had).
 *
 *   npx tsx bench/cubegan.ts [--steps N] [--quick] [--subjects N] [--blocks N] [--out DIR]
 *
 * The default step count keeps the run within about 15 minutes on 2 cores (see DEFAULT_STEPS).
 * The generator runs where loadTranslator puts it by default (onnxruntime when the saved model has an
 * ONNX export, else TensorFlow.js); the report names it. Output: out/bench/cubegan/.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createProgressBar } from '../cli/progress.ts';
import { prepareDomainVolume } from '../models3d/data/domain-volume.ts';
import { phantomSet } from '../models3d/data/phantom-data.ts';
import { initBackend } from '../models3d/engine/backend.ts';
import { evaluateOnPhantoms } from '../models3d/evaluation/phantom-evaluation.ts';
import { isBufferGenerator } from '../models3d/inference/options.ts';
import { loadTranslator, type Translator } from '../models3d/inference/translate.ts';
import { planWindows } from '../models3d/inference/translate-volume.ts';
import { resolveModelConfig } from '../models3d/model/config.ts';
import { volumeMontage, windowFor } from '../models3d/report/montage.ts';
import { trainModel } from '../models3d/training/train-model.ts';
import { VoxshiftError } from '../volumes/errors.ts';

/**
 * Measured on the 2-core machine (wasm, 2 threads): ≈ 4 s/step while it also ran two one-thread
 * training jobs (160 steps ≈ 11 min, plus ≈ 2 min for the data and two held-out volumes), 6.9 s/step
 * under a load average of 10–12. An idle machine is faster.
 */
const DEFAULT_STEPS = 160;
const QUICK_STEPS = 4;

function positiveInt(name: string, v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new VoxshiftError('INVALID_ARGUMENT', `--${name} must be a positive integer, got ${JSON.stringify(v)}`, { param: name });
  return n;
}

async function run(): Promise<void> {
  const { values: args } = parseArgs({
    options: {
      steps: { type: 'string' },
      quick: { type: 'boolean', default: false },
      subjects: { type: 'string' },
      blocks: { type: 'string' },
      out: { type: 'string', default: join('out', 'bench', 'cubegan') },
    },
  });
  const steps = positiveInt('steps', args.steps, args.quick ? QUICK_STEPS : DEFAULT_STEPS);
  const subjects = positiveInt('subjects', args.subjects, args.quick ? 1 : 2);
  const blocks = positiveInt('blocks', args.blocks, 6);
  const outDir = args.out;
  const info = await initBackend('auto', { log: (s) => process.stderr.write(`${s}\n`) });

  const tData = performance.now();
  const set = phantomSet({ count: 4, paired: false, region: 'head', contrast: 't1', seed: 1 });
  const constantSteps = steps - Math.floor(steps / 2);
  const config = resolveModelConfig({
    kind: 'cyclegan',
    spatialDims: 3,
    domains: {
      a: { name: 'MR T1', modality: 'MR' },
      b: { name: 'CT', modality: 'CT' },
    },
    generator: { type: 'resnet', ngf: 8, blocks, dropout: 0 },
    discriminator: { ndf: 16, layers: 3 },
    optimizer: { learningRate: 2e-4, constantSteps, decaySteps: steps - constantSteps },
    data: { patchSize: [32, 32, 32], batchSize: 1, foregroundProb: 0.9 },
    seed: 0,
  });
  const a = set.a.map((v, i) => prepareDomainVolume(v, config.domains.a.normalization, `phantom ${set.seeds.a[i]} T1`));
  const b = set.b.map((v, i) => prepareDomainVolume(v, config.domains.b.normalization, `phantom ${set.seeds.b[i]} CT`));
  const dataSeconds = (performance.now() - tData) / 1000;
  console.log(
    `data: 4 MR subjects (seeds ${set.seeds.a.join(', ')}) and 4 CT subjects (seeds ${set.seeds.b.join(', ')}), unpaired, ` +
      `${set.a[0].shape.join('×')} voxels at ${set.a[0].spacing.join('×')} mm; generated in ${dataSeconds.toFixed(1)} s`,
  );

  for (const sub of ['checkpoint', 'model', 'montage']) await rm(join(outDir, sub), { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  const bar = createProgressBar('train cubegan');
  let lastSecondsPerStep = Number.NaN;
  const trained = await trainModel({
    config,
    data: { a, b },
    outDir,
    checkpointEvery: Math.max(500, steps),
    logEvery: 5,
    montageEvery: Math.max(1, Math.floor(steps / 4)),
    notes: { bench: 'bench/cubegan.ts', data: { phantoms: 4, region: 'head', contrast: 't1', seed: 1, paired: false } },
    onStep: (r) => {
      lastSecondsPerStep = r.secondsPerStep;
      bar.update(r.step, r.totalSteps, `cycleA ${r.losses.cycleA?.toFixed(3) ?? '?'} cycleB ${r.losses.cycleB?.toFixed(3) ?? '?'}`);
    },
  });
  bar.stop();
  if (trained.modelDir === undefined) throw new VoxshiftError('INTERNAL', `training stopped at step ${trained.step} of ${steps} without a model`, {});

  // evaluateOnPhantoms calls translate(); the wrapped generator shows progress and times the sliding window.
  const loaded = await loadTranslator(trained.modelDir);
  const tbar = createProgressBar('translate (sliding window)');
  // Held-out phantoms have the training subjects' (default) shape.
  const windowsPerSubject = planWindows(set.a[0].shape, config.data.patchSize, loaded.spec.sizeMultiple, 0.5).starts.length;
  const windowsTotal = windowsPerSubject * subjects;
  let windowsDone = 0;
  let first = Number.NaN;
  let last = Number.NaN;
  const perSubject: number[] = [];
  const started = (): void => {
    if (Number.isNaN(first)) first = performance.now();
  };
  const finished = (windows: number): void => {
    windowsDone += windows;
    last = performance.now();
    tbar.update(windowsDone, windowsTotal);
  };
  const gen = loaded.generator;
  const run = loaded.run;
  let translator: Translator;
  if (gen !== undefined) {
    translator = {
      ...loaded,
      generator: {
        ...gen,
        apply: (x, options) => {
          started();
          const y = gen.apply(x, options);
          finished(x.shape[0]);
          return y;
        },
      },
    };
  } else if (isBufferGenerator(run)) {
    translator = {
      ...loaded,
      run: {
        run: async (input, shape) => {
          started();
          const y = await run.run(input, shape);
          finished(shape[0]);
          return y;
        },
      },
    };
  } else {
    throw new VoxshiftError('INTERNAL', `translator for ${loaded.dir} has neither a tfjs network nor a buffer generator`, {});
  }
  let montageWritten = false;
  const evaluation = await evaluateOnPhantoms(translator, {
    subjects,
    onResult: async (r) => {
      perSubject.push((last - first) / 1000);
      first = Number.NaN;
      if (!montageWritten) {
        montageWritten = true;
        const ctWindow = windowFor(r.ct);
        const m = volumeMontage(
          [
            { volume: r.mr, window: windowFor(r.mr), label: 'MR' },
            { volume: r.baseline, window: ctWindow, label: 'LINEAR' },
            { volume: r.synthetic, window: ctWindow, label: 'CUBEGAN' },
            { volume: r.ct, window: ctWindow, label: 'CT' },
          ],
          { axis: 2, slices: 3 },
        );
        await writeFile(join(outDir, 'montage-heldout.png'), m.png);
      }
    },
  });
  tbar.stop();
  loaded.dispose();

  console.log(`\nheld-out phantoms (seeds from 100000), MAE and SSIM inside the body (label ≠ air):`);
  console.log('subject seed | CubeGAN MAE HU | linear MAE HU | CubeGAN SSIM | linear SSIM | translate s');
  evaluation.subjects.forEach((s, i) => {
    console.log(
      `${String(s.seed).padStart(12)} | ${s.modelMae.toFixed(1).padStart(14)} | ${s.baselineMae.toFixed(1).padStart(13)} | ${s.modelSsim.toFixed(3).padStart(12)} | ${s.baselineSsim.toFixed(3).padStart(11)} | ${(perSubject[i] ?? Number.NaN).toFixed(1).padStart(11)}`,
    );
  });
  console.log(
    `${'mean'.padStart(12)} | ${evaluation.modelMae.toFixed(1).padStart(14)} | ${evaluation.baselineMae.toFixed(1).padStart(13)} | ${evaluation.modelSsim.toFixed(3).padStart(12)} | ${evaluation.baselineSsim.toFixed(3).padStart(11)} |`,
  );
  console.log(`MAE ratio linear / CubeGAN: ${evaluation.improvement.toFixed(2)}× (linear fit on 4 paired training subjects: HU = ${evaluation.fit.slope.toFixed(3)}·MR + ${evaluation.fit.intercept.toFixed(1)})`);
  console.log(
    `training: ${trained.step} steps, ${trained.seconds.toFixed(0)} s wall (${(trained.seconds / trained.step).toFixed(2)} s/step overall, ${lastSecondsPerStep.toFixed(2)} s/step in the loop); ` +
      `backend ${info.backend} (${info.threads} threads)`,
  );
  console.log(`generator at inference: ${loaded.runtimeDescription}`);
  console.log(
    `translate: ${windowsPerSubject} windows of ${config.data.patchSize.join('×')} (overlap 0.5) per ${set.a[0].shape.join('×')} volume, ` +
      `${(perSubject.reduce((x, y) => x + y, 0) / perSubject.length).toFixed(1)} s per volume (first to last window); evaluation total ${evaluation.seconds.toFixed(0)} s`,
  );
  console.log(`ResNet generator ngf ${config.generator.ngf}, ${blocks} blocks; PatchGAN ndf ${config.discriminator.ndf}; patch ${config.data.patchSize.join('×')}; lr ${config.optimizer.learningRate} (${constantSteps} constant + ${steps - constantSteps} decay); pool ${config.data.poolSize}`);
  console.log(`output: ${outDir}/ (model/, log.jsonl, montage/, montage-heldout.png)`);
}

try {
  await run();
} catch (e) {
  process.stderr.write(`bench/cubegan failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
}
