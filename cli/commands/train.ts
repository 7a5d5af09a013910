/**
 * `voxshift train cyclegan|pix2pix --dims 2|3 --out DIR (--a FILES --b FILES | --phantoms N) ...`:
 * trains a translation model with a progress bar (ETA, losses), a JSONL log, PNG montages and
 * checkpoints; Ctrl-C stops after the current step and saves a resumable checkpoint (`--resume`).
 */
import type { Command } from 'commander';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { VoxshiftError } from '../../volumes/errors.ts';
import { readVolume } from '../../volumes/io.ts';
import type { PhantomRegion } from '../../volumes/phantom/index.ts';
import type { Modality, Volume } from '../../volumes/volume.ts';
import { initBackend, type BackendKind } from '../../models3d/engine/backend.ts';
import { prepareDomainVolume } from '../../models3d/data/domain-volume.ts';
import { distinctLabels, validateLabelClasses, type LabelEncodingSpec } from '../../models3d/data/label-encoding.ts';
import { phantomSet, type PhantomContrast } from '../../models3d/data/phantom-data.ts';
import { resolveModelConfig, type ModelConfigInput, type ModelKind } from '../../models3d/model/config.ts';
import type { GanMode } from '../../models3d/training/losses.ts';
import { trainModel } from '../../models3d/training/train-model.ts';
import { invocation } from '../invocation.ts';
import { createProgressBar } from '../progress.ts';
import type { RegisterCommand } from './index.ts';
import { registerTrainSegmenter } from './train-segmenter.ts';

interface TrainCliOptions {
  dims: string;
  out?: string;
  a?: string[];
  b?: string[];
  aModality?: string;
  aClasses?: string;
  bModality?: string;
  phantoms?: string;
  phantomRegion: string;
  phantomContrast: string;
  phantomSeed: string;
  phantomShape?: string;
  generator?: string;
  ngf?: string;
  blocks?: string;
  depth?: string;
  ndf?: string;
  dLayers?: string;
  dScales?: string;
  spectralNorm?: boolean;
  labelSmoothing?: string;
  steps: string;
  decaySteps?: string;
  patch?: string;
  batch?: string;
  axis?: string;
  flip?: boolean;
  lr?: string;
  ganMode?: string;
  lambdaCycle?: string;
  lambdaIdentity?: string;
  lambdaL1?: string;
  poolSize?: string;
  seed: string;
  checkpointEvery: string;
  logEvery: string;
  montageEvery: string;
  resume?: boolean;
  stopAt?: string;
  backend: string;
  threads?: string;
}

const IMAGE_FILE = /\.(nii|nii\.gz|hdr|nrrd|nhdr|mha|mhd|zip)$/i;

function toInt(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new VoxshiftError('INVALID_ARGUMENT', `--${name} must be an integer, got ${JSON.stringify(v)}`, { param: name });
  return n;
}

function toNum(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new VoxshiftError('INVALID_ARGUMENT', `--${name} must be a number, got ${JSON.stringify(v)}`, { param: name });
  return n;
}

/** Files and folders → volume paths: a folder of image files gives each file; any other folder is one DICOM series. */
export async function expandVolumePaths(paths: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const p of paths) {
    const info = await stat(p).catch(() => undefined);
    if (!info) throw new VoxshiftError('FILE_NOT_FOUND', 'training input does not exist', { file: p });
    if (info.isDirectory()) {
      const images = (await readdir(p)).filter((f) => IMAGE_FILE.test(f)).sort();
      out.push(...(images.length > 0 ? images.map((f) => join(p, f)) : [p]));
    } else {
      out.push(p);
    }
  }
  return out;
}

function modalityOf(name: string, v: string | undefined): Modality | undefined {
  if (v === undefined) return undefined;
  const m = v.toUpperCase();
  if (m !== 'CT' && m !== 'MR' && m !== 'PT') throw new VoxshiftError('INVALID_ARGUMENT', `--${name} must be CT, MR or PT, got ${JSON.stringify(v)}`, { param: name });
  return m;
}

/** `--a-modality labels`: the label domain's classes, from --a-classes or the distinct values of the label maps. */
function labelDomain(kind: ModelKind, o: TrainCliOptions, a: readonly Volume[]): LabelEncodingSpec | undefined {
  if (o.aModality?.toLowerCase() !== 'labels') {
    if (o.aClasses !== undefined) throw new VoxshiftError('INVALID_ARGUMENT', '--a-classes needs --a-modality labels', { param: 'a-classes' });
    return undefined;
  }
  if (kind !== 'pix2pix') {
    throw new VoxshiftError('INVALID_ARGUMENT', `--a-modality labels trains a label → image Pix2Pix; the model kind must be pix2pix, got ${kind}`, { param: 'a-modality' });
  }
  if (o.phantoms !== undefined) throw new VoxshiftError('INVALID_ARGUMENT', '--a-modality labels needs label maps in --a (not --phantoms)', { param: 'a-modality' });
  const classes =
    o.aClasses !== undefined
      ? validateLabelClasses(o.aClasses.split(',').map((c) => Number(c.trim())), 'a-classes')
      : validateLabelClasses(distinctLabels(a, a.map((v, i) => v.meta.source ?? `A[${i}]`)), 'a-classes (the distinct values of the --a label maps)');
  return { type: 'labels', classes };
}

function configInput(kind: ModelKind, o: TrainCliOptions, modalities: { a: Modality; b: Modality }, labels?: LabelEncodingSpec): ModelConfigInput {
  const dims = toInt('dims', o.dims);
  if (dims !== 2 && dims !== 3) throw new VoxshiftError('INVALID_ARGUMENT', `--dims must be 2 or 3, got ${JSON.stringify(o.dims)}`, { param: 'dims' });
  const steps = toInt('steps', o.steps) as number;
  const decay = toInt('decay-steps', o.decaySteps) ?? Math.floor(steps / 2);
  if (steps < 1 || decay < 0 || decay > steps) {
    throw new VoxshiftError('INVALID_ARGUMENT', `--steps must be ≥ 1 and --decay-steps in [0, steps], got ${steps} and ${decay}`, { param: 'steps' });
  }
  const gType = o.generator ?? (kind === 'pix2pix' ? 'unet' : 'resnet');
  if (gType !== 'resnet' && gType !== 'unet') throw new VoxshiftError('INVALID_ARGUMENT', `--generator must be resnet or unet, got ${JSON.stringify(gType)}`, { param: 'generator' });
  const patch = o.patch?.split(',').map((s) => toInt('patch', s.trim()) as number);
  const ganMode = o.ganMode as GanMode | undefined;
  if (ganMode !== undefined && ganMode !== 'lsgan' && ganMode !== 'vanilla') {
    throw new VoxshiftError('INVALID_ARGUMENT', `--gan-mode must be lsgan or vanilla, got ${JSON.stringify(ganMode)}`, { param: 'gan-mode' });
  }
  const axis = toInt('axis', o.axis);
  const defined = <T extends object>(x: T): T => Object.fromEntries(Object.entries(x).filter(([, v]) => v !== undefined)) as T;
  return {
    kind,
    spatialDims: dims,
    domains: { a: labels ? { modality: 'SEG', normalization: labels } : { modality: modalities.a }, b: { modality: modalities.b } },
    generator:
      gType === 'resnet'
        ? defined({ type: 'resnet' as const, ngf: toInt('ngf', o.ngf), blocks: toInt('blocks', o.blocks) })
        : defined({ type: 'unet' as const, ngf: toInt('ngf', o.ngf), depth: toInt('depth', o.depth) }),
    discriminator: defined({ ndf: toInt('ndf', o.ndf), layers: toInt('d-layers', o.dLayers), scales: toInt('d-scales', o.dScales), spectralNorm: o.spectralNorm }),
    loss: defined({ ganMode, lambdaCycle: toNum('lambda-cycle', o.lambdaCycle), lambdaIdentity: toNum('lambda-identity', o.lambdaIdentity), lambdaL1: toNum('lambda-l1', o.lambdaL1), labelSmoothing: toNum('label-smoothing', o.labelSmoothing) }),
    optimizer: defined({ learningRate: toNum('lr', o.lr), constantSteps: steps - decay, decaySteps: decay }),
    data: defined({
      patchSize: patch,
      batchSize: toInt('batch', o.batch),
      axis: axis as 0 | 1 | 2 | undefined,
      flip: o.flip,
      poolSize: toInt('pool-size', o.poolSize),
    }),
    seed: toInt('seed', o.seed) ?? 0,
  };
}

function phantomShape(v: string): number[] {
  const shape = v.split(',').map((s) => Number(s.trim()));
  if (shape.length !== 3 || !shape.every((n) => Number.isInteger(n) && n >= 1)) {
    throw new VoxshiftError('INVALID_ARGUMENT', `--phantom-shape must be three positive integers i,j,k, got ${JSON.stringify(v)}`, { param: 'phantom-shape' });
  }
  return shape;
}

async function loadDomain(paths: readonly string[], label: string, onFile: (path: string) => void): Promise<Volume[]> {
  const files = await expandVolumePaths(paths);
  const out: Volume[] = [];
  for (const f of files) {
    onFile(f);
    out.push(await readVolume(f));
  }
  if (out.length === 0) throw new VoxshiftError('INVALID_ARGUMENT', `no volumes found for domain ${label}`, { param: label });
  return out;
}

export const registerTrain: RegisterCommand = (program: Command, setExitCode) => {
  // `train segmenter` is a subcommand with options of its own: positional options keep the program and
  // `train` from taking its --out, --steps... as theirs.
  program.enablePositionalOptions();
  const train = program
    .command('train')
    .enablePositionalOptions()
    .description('train a CycleGAN (unpaired) or Pix2Pix (paired) translation model, 2D or 3D (or: train segmenter --help)')
    .argument('<kind>', 'cyclegan or pix2pix')
    // Required, but checked in the action: commander checks a parent's mandatory options for its subcommands too.
    .option('--out <dir>', 'output folder (checkpoint/, model/, log.jsonl, montage/) (required)')
    .option('--dims <n>', '2 (slices) or 3 (patches, CubeGAN)', '2')
    .option('--a <paths...>', 'domain A volumes (files, or folders of files / a DICOM series)')
    .option('--b <paths...>', 'domain B volumes (Pix2Pix: registered to A, in the same order)')
    .option('--a-modality <m>', 'domain A modality (CT, MR, PT; default from the files), or labels: --a holds integer label maps (pix2pix label → image synthesis)')
    .option('--a-classes <values>', 'with --a-modality labels: the label values, e.g. 0,1,2,3 (default: the distinct values of the --a label maps)')
    .option('--b-modality <m>', 'domain B modality')
    .option('--phantoms <n>', 'built-in data: N phantom subjects, A = MR, B = CT (paired for pix2pix, disjoint subjects for cyclegan)')
    .option('--phantom-region <r>', 'head or pelvis', 'head')
    .option('--phantom-contrast <c>', 't1 or t2', 't1')
    .option('--phantom-seed <n>', 'first phantom seed', '1')
    .option('--phantom-shape <i,j,k>', "phantom grid in voxels (default: the region's standard grid); small grids train fast")
    .option('--generator <type>', 'resnet or unet (default: resnet for cyclegan, unet for pix2pix)')
    .option('--ngf <n>', 'generator filters (default 32)')
    .option('--blocks <n>', 'ResNet residual blocks (default 6)')
    .option('--depth <n>', 'U-Net downsamplings (default 6 in 2D, 4 in 3D)')
    .option('--ndf <n>', 'discriminator filters (default 32)')
    .option('--d-layers <n>', 'PatchGAN stride-2 layers (default 3)')
    .option('--d-scales <n>', 'multi-scale discriminator: PatchGANs at 1, 1/2, ... resolution (default 1)')
    .option('--spectral-norm', 'spectral normalisation in the discriminators')
    .option('--label-smoothing <x>', 'one-sided label smoothing of real targets, e.g. 0.1 (default 0)')
    .option('--steps <n>', 'training steps (half constant, half linear decay unless --decay-steps)', '2000')
    .option('--decay-steps <n>', 'steps of linear learning-rate decay at the end')
    .option('--patch <sizes>', 'crop size: h,w (2D) or d,h,w (3D)')
    .option('--batch <n>', 'batch size (default 1)')
    .option('--axis <n>', '2D slicing axis of the volume grid (default 2)')
    .option('--flip', 'random left/right flips (off by default)')
    .option('--lr <x>', 'Adam learning rate (default 2e-4)')
    .option('--gan-mode <m>', 'lsgan (default) or vanilla')
    .option('--lambda-cycle <x>', 'cycle loss weight (10)')
    .option('--lambda-identity <x>', 'identity loss weight relative to lambda-cycle (0.5)')
    .option('--lambda-l1 <x>', 'Pix2Pix L1 weight (100)')
    .option('--pool-size <n>', 'CycleGAN image pool size (50)')
    .option('--seed <n>', 'seed of weights and sampling', '0')
    .option('--checkpoint-every <n>', 'steps between checkpoints', '500')
    .option('--log-every <n>', 'steps between log.jsonl lines', '10')
    .option('--montage-every <n>', 'steps between PNG montages (0 = none)', '200')
    .option('--resume', 'continue from OUT/checkpoint')
    .option('--stop-at <n>', 'stop (with a checkpoint) after this step')
    .option('--backend <kind>', 'auto, gpu, cpu or wasm', 'auto')
    .option('--threads <n>', 'WebAssembly threads (default: cores)')
    .action(async (kindArg: string, o: TrainCliOptions) => {
      if (kindArg !== 'cyclegan' && kindArg !== 'pix2pix') {
        throw new VoxshiftError('INVALID_ARGUMENT', `model kind must be cyclegan or pix2pix, got ${JSON.stringify(kindArg)}`, { param: 'kind' });
      }
      const kind: ModelKind = kindArg;
      if (o.out === undefined) throw new VoxshiftError('INVALID_ARGUMENT', "required option '--out <dir>' not specified", { param: 'out' });
      const say = (s: string): boolean => process.stderr.write(`${s}\n`);
      let a: Volume[];
      let b: Volume[];
      if (o.phantoms !== undefined) {
        if (o.a || o.b) throw new VoxshiftError('INVALID_ARGUMENT', '--phantoms replaces --a/--b; give one or the other', { param: 'phantoms' });
        say(`generating ${o.phantoms} ${o.phantomRegion} phantom subjects (${o.phantomContrast.toUpperCase()} → CT, ${kind === 'pix2pix' ? 'paired' : 'unpaired'})`);
        const set = phantomSet({
          count: toInt('phantoms', o.phantoms) as number,
          region: o.phantomRegion as PhantomRegion,
          contrast: o.phantomContrast as PhantomContrast,
          paired: kind === 'pix2pix',
          seed: toInt('phantom-seed', o.phantomSeed) ?? 1,
          ...(o.phantomShape !== undefined ? { shape: phantomShape(o.phantomShape) } : {}),
        });
        ({ a, b } = set);
      } else {
        if (!o.a || !o.b) throw new VoxshiftError('INVALID_ARGUMENT', 'give training data: --a and --b volumes, or --phantoms N', { param: 'a' });
        a = await loadDomain(o.a, 'a', (f) => say(`reading A ${f}`));
        b = await loadDomain(o.b, 'b', (f) => say(`reading B ${f}`));
      }
      const labels = labelDomain(kind, o, a);
      const modalities = {
        a: labels ? 'SEG' : (modalityOf('a-modality', o.aModality) ?? a[0].modality),
        b: modalityOf('b-modality', o.bModality) ?? b[0].modality,
      } satisfies { a: Modality; b: Modality };
      if (labels) say(`domain A: label maps, classes ${labels.classes.join(', ')} (one-hot into the generator)`);
      const config = resolveModelConfig(configInput(kind, o, modalities, labels));
      const data = {
        a: a.map((v, i) => prepareDomainVolume(v, config.domains.a.normalization, v.meta.source ?? `A[${i}]`)),
        b: b.map((v, i) => prepareDomainVolume(v, config.domains.b.normalization, v.meta.source ?? `B[${i}]`)),
      };
      const threads = toInt('threads', o.threads);
      await initBackend(o.backend as BackendKind, { ...(threads !== undefined ? { threads } : {}), log: say });
      const controller = new AbortController();
      const onSigint = (): void => {
        if (controller.signal.aborted) process.exit(130);
        say('\ninterrupt: finishing this step and saving a checkpoint (Ctrl-C again to quit at once)');
        controller.abort();
      };
      process.on('SIGINT', onSigint);
      const bar = createProgressBar('train');
      try {
        const stopAt = toInt('stop-at', o.stopAt);
        const result = await trainModel({
          config,
          data,
          outDir: o.out,
          ...(o.resume ? { resume: true } : {}),
          ...(stopAt !== undefined ? { stopAtStep: stopAt } : {}),
          checkpointEvery: toInt('checkpoint-every', o.checkpointEvery) ?? 500,
          logEvery: toInt('log-every', o.logEvery) ?? 10,
          montageEvery: toInt('montage-every', o.montageEvery) ?? 200,
          signal: controller.signal,
          notes: {
            command: ['voxshift', ...invocation.argv].join(' '),
            data:
              o.phantoms !== undefined
                ? { phantoms: Number(o.phantoms), region: o.phantomRegion, contrast: o.phantomContrast, seed: Number(o.phantomSeed) }
                : { a: o.a ?? [], b: o.b ?? [] },
          },
          onStep: (r) => {
            const l = r.losses;
            const shown = kind === 'cyclegan' ? `G ${l.generator.toFixed(3)} cyc ${(l.cycleA + l.cycleB).toFixed(3)} D ${(l.discA + l.discB).toFixed(3)}` : `G ${l.generator.toFixed(3)} L1 ${l.l1.toFixed(3)} D ${l.disc.toFixed(3)}`;
            bar.update(r.step, r.totalSteps, `${shown} ${r.secondsPerStep.toFixed(2)} s/step`);
          },
        });
        bar.stop();
        if (result.interrupted) {
          say(`stopped at step ${result.step}; checkpoint saved in ${result.checkpointDir} (continue with the same command and --resume)`);
          setExitCode(130);
        } else {
          say(`trained ${result.step} steps in ${result.seconds.toFixed(1)} s; model in ${result.modelDir ?? result.checkpointDir}`);
        }
      } finally {
        bar.stop();
        process.off('SIGINT', onSigint);
      }
    });
  registerTrainSegmenter(train, setExitCode);
};
