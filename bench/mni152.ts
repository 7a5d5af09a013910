/**
 * Real anatomy: a 2D Pix2Pix (ResNet generator) trained on the co-registered MNI152 T1 template and the
 * Clinical toolbox CT template (same MNI 2 mm grid), scored on axial slices it never saw against a
 * global linear MR→HU fit.
 *
 *   npx tsx bench/mni152.ts [--steps N] [--quick] [--out DIR]
 *
 * Data: ../shared/data/nifti/mr/niivue_MNI152_T1_2mm.nii.gz and nifti/ct/clinical_scct.nii. The CT
 * template is stored in Cormack units (Rorden et al. 2012: air 0, the −124..76 HU range stretched 11×),
 * not HU; it is converted back with the Clinical toolbox's clinical_c2h (for a −1024 HU minimum):
 *   C ≤ 900: HU = C − 1024;  900 < C ≤ 3100: HU = (C − 900)/11 − 124;  C > 3100: HU = C − 3024.
 * Split: every 4th axial slice (index % 4 = 0) is held out; the others are stacked into the training
 * pair. Both stacks keep the template's 2 mm slice spacing as nominal geometry: the model is 2D, and
 * the 3D neighbourhood of a stack is never used (SSIM is computed per 2D slice).
 * Head mask (all metrics): the CT body mask of the whole template (CT > −500 HU, largest component,
 * holes filled per axial slice), restricted to the held-out slices. The MR's Otsu mask is printed
 * for comparison (Dice) only.
 * Baseline: HU = a·T1 + b fitted by least squares on the training slices inside the head mask.
 * MR normalisation: percentiles 0.5/99.5 of the voxels > 0 (nnU-Net's "nonzero" foreground; the
 * template is ≈ 0 outside the head), an explicit threshold so that training and translate() apply the
 * same rule to their slice stacks.
 * Translation runs where loadTranslator puts it by default (onnxruntime when the saved model has an
 * ONNX export, else TensorFlow.js); the report names it.
 * Output: out/bench/mni152/ (checkpoint, model, log.jsonl, montage-*.png).
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createProgressBar } from '../cli/progress.ts';
import { prepareDomainVolume } from '../models3d/data/domain-volume.ts';
import { initBackend } from '../models3d/engine/backend.ts';
import { loadTranslator, translate } from '../models3d/inference/translate.ts';
import { resolveModelConfig } from '../models3d/model/config.ts';
import { volumeMontage, windowFor } from '../models3d/report/montage.ts';
import { trainModel } from '../models3d/training/train-model.ts';
import { applyLinearMapping, fitLinearMapping } from '../validation/linear-fit.ts';
import { bodyMask } from '../validation/masks.ts';
import { checkSameGrid } from '../validation/metrics/check-inputs.ts';
import { CT_DATA_RANGE } from '../validation/metrics/data-range.ts';
import { dice } from '../validation/metrics/dice.ts';
import { intensityErrors } from '../validation/metrics/intensity-errors.ts';
import { ssimPerSlice } from '../validation/metrics/ssim-per-slice.ts';
import { VoxshiftError } from '../volumes/errors.ts';
import { readVolume } from '../volumes/io.ts';
import { axisOrientations } from '../volumes/orientation.ts';
import { sliceAt, stackSlices, type Axis } from '../volumes/slices.ts';
import { allocate, deriveVolume, dtypeOf, type Volume } from '../volumes/volume.ts';

const MR_FILE = '../shared/data/nifti/mr/niivue_MNI152_T1_2mm.nii.gz';
const CT_FILE = '../shared/data/nifti/ct/clinical_scct.nii';
const HOLD_OUT_EVERY = 4;

/** Cormack units → HU, the inverse map of clinical_h2c (Clinical toolbox clinical_c2h, minimum −1024 HU). */
function cormackToHounsfield(vol: Volume): Volume<Float32Array> {
  const src = vol.data;
  let max = -Infinity;
  for (let p = 0; p < src.length; p++) {
    const c = src[p];
    if (!(c >= 0)) {
      throw new VoxshiftError('INVALID_VOLUME', `voxel ${p} is ${c}; Cormack units are never negative, so this CT is not in Cormack units`, {
        param: 'ct',
        ...(vol.meta.source !== undefined ? { file: vol.meta.source } : {}),
      });
    }
    if (c > max) max = c;
  }
  if (max <= 900) {
    throw new VoxshiftError('INVALID_VOLUME', `the CT's maximum is ${max}; Cormack-unit soft tissue lies above 900, so this CT is not in Cormack units`, {
      param: 'ct',
      ...(vol.meta.source !== undefined ? { file: vol.meta.source } : {}),
    });
  }
  const out = new Float32Array(src.length);
  for (let p = 0; p < src.length; p++) {
    const c = src[p];
    out[p] = c <= 900 ? c - 1024 : c <= 3100 ? (c - 900) / 11 - 124 : c - 3024;
  }
  return deriveVolume(vol, { data: out, modality: 'CT', meta: { units: 'HU' } }, { op: 'cormackToHounsfield', params: { dark: 900, mid: 200, ratio: 10, min: -1024 } });
}

/** The voxel axis closest to world z (superior–inferior): the axial slicing axis. */
function axialAxis(vol: Volume): Axis {
  return axisOrientations(vol.direction).findIndex((a) => a.worldAxis === 2) as Axis;
}

/** The slices `indices` along `axis`, stacked into a volume with the same in-plane geometry. */
function pickSlices<V extends Volume>(vol: V, axis: Axis, indices: number[]): V {
  const shape = [vol.shape[0], vol.shape[1], vol.shape[2]];
  shape[axis] = indices.length;
  const like = deriveVolume(vol, { data: allocate(dtypeOf(vol.data), shape[0] * shape[1] * shape[2]), shape });
  return stackSlices(
    indices.map((i) => sliceAt(vol, axis, i)),
    like,
    axis,
  ) as unknown as V;
}

function countNonZero(data: ArrayLike<number>): number {
  let n = 0;
  for (let p = 0; p < data.length; p++) if (data[p] !== 0) n++;
  return n;
}

function range(data: ArrayLike<number>): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let p = 0; p < data.length; p++) {
    if (data[p] < lo) lo = data[p];
    if (data[p] > hi) hi = data[p];
  }
  return [lo, hi];
}

function percentile(data: ArrayLike<number>, mask: ArrayLike<number>, q: number[]): number[] {
  const v: number[] = [];
  for (let p = 0; p < data.length; p++) if (mask[p] !== 0) v.push(data[p]);
  v.sort((x, y) => x - y);
  return q.map((x) => v[Math.min(v.length - 1, Math.floor((x / 100) * v.length))]);
}

/** Masked 2D SSIM of each slice along `axis`, averaged with each slice weighted by its mask voxels. */
function sliceSsim(pred: Volume, ref: Volume, mask: Volume, axis: Axis): number {
  const r = ssimPerSlice(pred, ref, { axis, mask, dataRange: CT_DATA_RANGE });
  const masked = r.masked as Float64Array;
  let sum = 0;
  let n = 0;
  for (let s = 0; s < masked.length; s++) {
    const count = countNonZero(sliceAt(mask, axis, s).data);
    if (count > 0) {
      sum += masked[s] * count;
      n += count;
    }
  }
  return sum / n;
}

async function run(): Promise<void> {
  const { values: args } = parseArgs({
    options: {
      steps: { type: 'string' },
      quick: { type: 'boolean', default: false },
      out: { type: 'string', default: join('out', 'bench', 'mni152') },
    },
  });
  const steps = args.steps !== undefined ? Number(args.steps) : args.quick ? 20 : 2000;
  if (!Number.isInteger(steps) || steps < 1) {
    throw new VoxshiftError('INVALID_ARGUMENT', `--steps must be a positive integer, got ${JSON.stringify(args.steps)}`, { param: 'steps' });
  }
  const outDir = args.out;
  const info = await initBackend('auto', { log: (s) => process.stderr.write(`${s}\n`) });

  const mr = await readVolume(MR_FILE, { modality: 'MR' });
  const ctRaw = await readVolume(CT_FILE);
  checkSameGrid({ vol: mr, name: MR_FILE }, { vol: ctRaw, name: CT_FILE });
  const ct = cormackToHounsfield(ctRaw);
  const axis = axialAxis(mr);
  const n = mr.shape[axis];
  const all = Array.from({ length: n }, (_, i) => i);
  const testIdx = all.filter((i) => i % HOLD_OUT_EVERY === 0);
  const trainIdx = all.filter((i) => i % HOLD_OUT_EVERY !== 0);

  const headFull = bodyMask(ct, { sliceAxis: axis });
  const mrMaskFull = bodyMask(mr, { sliceAxis: axis });
  const [ctLo, ctMed, ctHi] = percentile(ct.data, headFull.data, [0, 50, 100]);
  console.log(`MNI152 T1 and CT template: ${mr.shape.join('×')} voxels, ${mr.spacing.join('×')} mm, same grid; axial = voxel axis ${'ijk'[axis]}`);
  console.log(`CT template: Cormack units ${range(ctRaw.data).map((x) => x.toFixed(0)).join('..')} → HU; inside the head min ${ctLo.toFixed(0)}, median ${ctMed.toFixed(0)}, max ${ctHi.toFixed(0)} HU`);
  console.log(`head mask: CT > −500 HU (${countNonZero(headFull.data)} voxels); Dice with the MR Otsu mask ${dice(headFull, mrMaskFull).toFixed(3)}`);
  console.log(`split: ${trainIdx.length} training slices, ${testIdx.length} held out (${'ijk'[axis]} % ${HOLD_OUT_EVERY} = 0)`);

  const mrTrain = pickSlices(mr, axis, trainIdx);
  const ctTrain = pickSlices(ct, axis, trainIdx);
  const headTrain = pickSlices(headFull, axis, trainIdx);
  const mrTest = pickSlices(mr, axis, testIdx);
  const ctTest = pickSlices(ct, axis, testIdx);
  const headTest = pickSlices(headFull, axis, testIdx);

  const constantSteps = steps - Math.floor(steps / 2);
  const config = resolveModelConfig({
    kind: 'pix2pix',
    spatialDims: 2,
    domains: {
      a: { name: 'MNI152 T1', modality: 'MR', normalization: { type: 'mr-percentile', p: [0.5, 99.5], threshold: 0 } },
      b: { name: 'CT template', modality: 'CT' },
    },
    generator: { type: 'resnet', ngf: 16, blocks: 6, dropout: 0 },
    discriminator: { ndf: 32, layers: 3 },
    optimizer: { learningRate: 2e-4, constantSteps, decaySteps: steps - constantSteps },
    data: { axis, patchSize: [64, 64], batchSize: 1, foregroundProb: 0.9 },
    seed: 0,
  });
  const a = prepareDomainVolume(mrTrain, config.domains.a.normalization, `${MR_FILE} (training slices)`);
  const b = prepareDomainVolume(ctTrain, config.domains.b.normalization, `${CT_FILE} (training slices, HU)`);

  for (const sub of ['checkpoint', 'model', 'montage']) await rm(join(outDir, sub), { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  const bar = createProgressBar('train pix2pix');
  let lastSecondsPerStep = Number.NaN;
  const trained = await trainModel({
    config,
    data: { a: [a], b: [b] },
    outDir,
    checkpointEvery: Math.max(500, steps),
    logEvery: 10,
    montageEvery: Math.max(1, Math.floor(steps / 4)),
    notes: { bench: 'bench/mni152.ts', data: { a: MR_FILE, b: CT_FILE }, heldOut: `${'ijk'[axis]} % ${HOLD_OUT_EVERY} = 0` },
    onStep: (r) => {
      lastSecondsPerStep = r.secondsPerStep;
      bar.update(r.step, r.totalSteps, `l1 ${r.losses.l1?.toFixed(3) ?? '?'}`);
    },
  });
  bar.stop();
  if (trained.modelDir === undefined) throw new VoxshiftError('INTERNAL', `training stopped at step ${trained.step} of ${steps} without a model`, {});

  const translator = await loadTranslator(trained.modelDir);
  const tbar = createProgressBar('translate');
  const t0 = performance.now();
  const synthetic = await translate(mrTest, translator, { onProgress: (d, t) => tbar.update(d, t) });
  const translateSeconds = (performance.now() - t0) / 1000;
  tbar.stop();
  const runtime = translator.runtimeDescription;
  translator.dispose();

  const fit = fitLinearMapping([{ source: mrTrain, target: ctTrain, mask: headTrain }]);
  const baseline = applyLinearMapping(mrTest, fit, { modality: 'CT', units: 'HU' });
  const score = (v: Volume): { mae: number; rmse: number; bias: number; ssim: number } => {
    const e = intensityErrors(v, ctTest, { mask: headTest });
    return { mae: e.mae, rmse: e.rmse, bias: e.meanError, ssim: sliceSsim(v, ctTest, headTest, axis) };
  };
  const m = score(synthetic);
  const l = score(baseline);

  const montageDir = outDir;
  const ctWindow = windowFor(ctTest);
  const columns = [
    { volume: mrTest, window: windowFor(mrTest), label: 'MR' },
    { volume: baseline, window: ctWindow, label: 'LINEAR' },
    { volume: synthetic, window: ctWindow, label: 'PIX2PIX' },
    { volume: ctTest, window: ctWindow, label: 'CT' },
  ];
  // Held-out stack index s is template slice HOLD_OUT_EVERY·s; the labels show the stack index.
  const rows = [4, 9, 12, 16].filter((s) => s < testIdx.length);
  await writeFile(join(montageDir, 'montage-heldout.png'), volumeMontage(columns, { axis: 2, slices: rows, scale: 2 }).png);
  const brain = { lower: -20, upper: 80 };
  await writeFile(
    join(montageDir, 'montage-heldout-brain-window.png'),
    volumeMontage(
      columns.map((c) => (c.label === 'MR' ? c : { ...c, window: brain })),
      { axis: 2, slices: rows, scale: 2 },
    ).png,
  );

  const row = (name: string, s: typeof m): string =>
    `${name.padEnd(24)} | ${s.mae.toFixed(1).padStart(8)} | ${s.rmse.toFixed(1).padStart(9)} | ${s.bias.toFixed(1).padStart(9)} | ${s.ssim.toFixed(3).padStart(6)}`;
  console.log(`\nheld-out axial slices (${testIdx.length} × ${mrTest.shape.filter((_, i) => i !== axis).join('×')}), inside the head mask (${countNonZero(headTest.data)} voxels):`);
  console.log(`${'model'.padEnd(24)} | MAE (HU) | RMSE (HU) | bias (HU) |   SSIM`);
  console.log(row(`linear fit`, l));
  console.log(row(`pix2pix ${steps} steps`, m));
  console.log(`MAE ratio linear / pix2pix: ${(l.mae / m.mae).toFixed(2)}×; SSIM: 2D per slice, data range [${CT_DATA_RANGE.join(', ')}] HU`);
  console.log(`linear fit (training slices): HU = ${fit.slope.toFixed(4)}·T1 + ${fit.intercept.toFixed(1)} over ${fit.samples} voxels`);
  console.log(
    `training: ${trained.step} steps, ${trained.seconds.toFixed(0)} s wall (${(trained.seconds / trained.step).toFixed(3)} s/step overall, ${lastSecondsPerStep.toFixed(3)} s/step in the loop); ` +
      `translate ${translateSeconds.toFixed(1)} s on ${runtime}; training backend ${info.backend} (${info.threads} threads)`,
  );
  console.log(`ResNet generator ngf ${config.generator.ngf}, ${config.generator.type === 'resnet' ? config.generator.blocks : '?'} blocks; PatchGAN ndf ${config.discriminator.ndf}; patch ${config.data.patchSize.join('×')}; lr ${config.optimizer.learningRate} (${constantSteps} constant + ${steps - constantSteps} decay)`);
  console.log(`output: ${outDir}/ (model/, log.jsonl, montage-heldout.png, montage-heldout-brain-window.png)`);
}

try {
  await run();
} catch (e) {
  process.stderr.write(`bench/mni152 failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
}
