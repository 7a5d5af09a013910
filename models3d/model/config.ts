/**
 * The typed configuration of a translation model (CycleGAN or Pix2Pix, 2D or 3D): everything needed
 * to rebuild its networks, repeat its training and undo its intensity normalisation. It is stored as
 * JSON in every checkpoint manifest. `resolveModelConfig` fills the papers' defaults and rejects
 * anything else with an error naming the field.
 */
import { VoxshiftError } from '../../volumes/errors.ts';
import { DEFAULT_CT_WINDOW, DEFAULT_MR_PERCENTILES, type NormalizationSpec } from '../../volumes/normalize.ts';
import type { Axis } from '../../volumes/slices.ts';
import type { Modality } from '../../volumes/volume.ts';
import { isLabelEncoding, validateLabelClasses, type DomainNormalizationSpec } from '../data/label-encoding.ts';
import { inferShapes } from '../networks/shapes.ts';
import type { GanMode } from '../training/losses.ts';
import { describeModelNetworks, sizeMultipleOf } from './networks.ts';

export type ModelKind = 'cyclegan' | 'pix2pix';

export interface DomainConfig {
  /** A short name shown in logs and reports ('MR T1', 'CT', 'site A'). */
  name: string;
  modality: Modality;
  /** An intensity normalization, or `{ type: 'labels', classes }` for a label-map source (Pix2Pix domain A only; data/label-encoding.ts). */
  normalization: DomainNormalizationSpec;
}

export type GeneratorConfig =
  | { type: 'resnet'; ngf: number; blocks: number; dropout: number }
  | { type: 'unet'; ngf: number; depth: number; dropout: number };

export interface DiscriminatorConfig {
  ndf: number;
  /** Stride-2 layers of the PatchGAN (3 → 70×70 receptive field in 2D). */
  layers: number;
  /** PatchGANs on the image and on 1/2, 1/4... downsampled copies (pix2pixHD); 1 = the papers' single one. */
  scales: number;
  /** Spectral normalisation of every discriminator conv (Miyato et al. 2018). */
  spectralNorm: boolean;
}

export interface LossConfig {
  ganMode: GanMode;
  /** CycleGAN cycle-consistency weight λ. */
  lambdaCycle: number;
  /** CycleGAN identity weight, relative to λ. */
  lambdaIdentity: number;
  /** Pix2Pix L1 weight. */
  lambdaL1: number;
  /** One-sided label smoothing: the discriminators' target for real images is 1 − this (0 = off). */
  labelSmoothing: number;
}

export interface OptimizerConfig {
  learningRate: number;
  beta1: number;
  beta2: number;
  /** Steps at the initial rate, then `decaySteps` of linear decay to zero (the training length). */
  constantSteps: number;
  decaySteps: number;
}

export interface DataConfig {
  /** 2D: the slicing axis of the volume grid (2 = axial for an axial acquisition). */
  axis: Axis;
  /** 2D: [height, width] of the training crops; 3D: [depth, height, width] of the patches. */
  patchSize: number[];
  batchSize: number;
  /** Random left/right flips; off by default because left and right differ in anatomy. */
  flip: boolean;
  /** Probability that a crop is centred on a foreground (body) voxel. */
  foregroundProb: number;
  /** CycleGAN image pool of generated images shown to the discriminators (0 = none). */
  poolSize: number;
}

export interface ModelConfig {
  kind: ModelKind;
  spatialDims: 2 | 3;
  domains: { a: DomainConfig; b: DomainConfig };
  generator: GeneratorConfig;
  discriminator: DiscriminatorConfig;
  loss: LossConfig;
  optimizer: OptimizerConfig;
  data: DataConfig;
  /** Seed of weight initialisation and of every random draw in training. */
  seed: number;
}

/** What a caller may leave out: every group is optional and merged over the defaults. */
export interface ModelConfigInput {
  kind: ModelKind;
  spatialDims: 2 | 3;
  domains?: { a?: Partial<DomainConfig>; b?: Partial<DomainConfig> };
  generator?: Partial<Omit<Extract<GeneratorConfig, { type: 'resnet' }>, 'type'>> & { type?: 'resnet' } | (Partial<Omit<Extract<GeneratorConfig, { type: 'unet' }>, 'type'>> & { type: 'unet' });
  discriminator?: Partial<DiscriminatorConfig>;
  loss?: Partial<LossConfig>;
  optimizer?: Partial<OptimizerConfig>;
  data?: Partial<DataConfig>;
  seed?: number;
}

export function defaultNormalizationFor(modality: Modality): NormalizationSpec {
  return modality === 'CT' ? { ...DEFAULT_CT_WINDOW } : { type: 'mr-percentile', p: [...DEFAULT_MR_PERCENTILES] as [number, number] };
}

function invalid(field: string, expected: string, received: unknown): never {
  throw new VoxshiftError('INVALID_ARGUMENT', `model config ${field} must be ${expected}, got ${JSON.stringify(received)}`, {
    param: field,
    details: { received },
  });
}

function int(field: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) invalid(field, `an integer in [${min}, ${max}]`, v);
  return v;
}

function num(field: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) invalid(field, `a number in [${min}, ${max}]`, v);
  return v;
}

const MODALITIES: readonly Modality[] = ['CT', 'MR', 'PT', 'NM', 'US', 'XA', 'CR', 'DX', 'SEG', 'OT', 'unknown'];

function domain(field: string, d: Partial<DomainConfig> | undefined, fallback: DomainConfig): DomainConfig {
  const labels = isLabelEncoding(d?.normalization);
  const modality = d?.modality ?? (labels ? 'SEG' : fallback.modality);
  if (!MODALITIES.includes(modality)) invalid(`${field}.modality`, `one of ${MODALITIES.join(', ')}`, modality);
  const name = d?.name ?? (labels ? 'labels' : d?.modality !== undefined ? modality : fallback.name);
  if (typeof name !== 'string' || name.length === 0 || name.length > 64) invalid(`${field}.name`, 'a non-empty string of at most 64 characters', name);
  const normalization = d?.normalization ?? defaultNormalizationFor(modality);
  if (isLabelEncoding(normalization)) {
    return { name, modality, normalization: { type: 'labels', classes: validateLabelClasses(normalization.classes, `${field}.normalization.classes`) } };
  }
  if (normalization.type === 'ct-window') {
    if (!(normalization.upper > normalization.lower)) invalid(`${field}.normalization`, 'a window with upper > lower', normalization);
  } else if (normalization.type === 'mr-percentile') {
    const p = normalization.p ?? DEFAULT_MR_PERCENTILES;
    if (!(p[0] >= 0 && p[1] <= 100 && p[0] < p[1])) invalid(`${field}.normalization.p`, 'two percentiles 0 ≤ low < high ≤ 100', p);
  } else {
    invalid(`${field}.normalization.type`, "'ct-window', 'mr-percentile' or 'labels'", (normalization as { type: unknown }).type);
  }
  return { name, modality, normalization };
}

/** Fills defaults (CycleGAN/Pix2Pix papers; sizes for CPU training) and validates every field. */
export function resolveModelConfig(input: ModelConfigInput): ModelConfig {
  if (typeof input !== 'object' || input === null) invalid('(root)', 'an object', input);
  const kind = input.kind;
  if (kind !== 'cyclegan' && kind !== 'pix2pix') invalid('kind', "'cyclegan' or 'pix2pix'", kind);
  const dims = input.spatialDims;
  if (dims !== 2 && dims !== 3) invalid('spatialDims', '2 or 3', dims);
  const domains = {
    a: domain('domains.a', input.domains?.a, { name: 'MR', modality: 'MR', normalization: defaultNormalizationFor('MR') }),
    b: domain('domains.b', input.domains?.b, { name: 'CT', modality: 'CT', normalization: defaultNormalizationFor('CT') }),
  };
  // A generator ends in tanh and is inverted as intensities: label maps can only be a Pix2Pix input.
  if (isLabelEncoding(domains.b.normalization)) invalid('domains.b.normalization.type', "an intensity normalization (label maps can only be the source, domain A)", 'labels');
  if (isLabelEncoding(domains.a.normalization) && kind !== 'pix2pix') {
    invalid('domains.a.normalization.type', "an intensity normalization for a CycleGAN (a label-map source needs kind 'pix2pix')", 'labels');
  }

  const g = input.generator ?? {};
  const gType = g.type ?? (kind === 'pix2pix' ? 'unet' : 'resnet');
  let generator: GeneratorConfig;
  if (gType === 'resnet') {
    const r = g as Partial<Extract<GeneratorConfig, { type: 'resnet' }>>;
    generator = {
      type: 'resnet',
      ngf: int('generator.ngf', r.ngf ?? 32, 1, 512),
      blocks: int('generator.blocks', r.blocks ?? (dims === 2 ? 6 : 6), 0, 64),
      dropout: num('generator.dropout', r.dropout ?? 0, 0, 0.99),
    };
  } else if (gType === 'unet') {
    const u = g as Partial<Extract<GeneratorConfig, { type: 'unet' }>>;
    generator = {
      type: 'unet',
      ngf: int('generator.ngf', u.ngf ?? 32, 1, 512),
      depth: int('generator.depth', u.depth ?? (dims === 2 ? 6 : 4), 2, 10),
      dropout: num('generator.dropout', u.dropout ?? (kind === 'pix2pix' ? 0.5 : 0), 0, 0.99),
    };
  } else {
    invalid('generator.type', "'resnet' or 'unet'", gType);
  }

  const d = input.discriminator ?? {};
  const discriminator: DiscriminatorConfig = {
    ndf: int('discriminator.ndf', d.ndf ?? 32, 1, 512),
    layers: int('discriminator.layers', d.layers ?? 3, 1, 6),
    scales: int('discriminator.scales', d.scales ?? 1, 1, 4),
    spectralNorm: d.spectralNorm ?? false,
  };
  if (typeof discriminator.spectralNorm !== 'boolean') invalid('discriminator.spectralNorm', 'true or false', discriminator.spectralNorm);

  const l = input.loss ?? {};
  const ganMode = l.ganMode ?? 'lsgan';
  if (ganMode !== 'lsgan' && ganMode !== 'vanilla') invalid('loss.ganMode', "'lsgan' or 'vanilla'", ganMode);
  const loss: LossConfig = {
    ganMode,
    lambdaCycle: num('loss.lambdaCycle', l.lambdaCycle ?? 10, 0, 1e4),
    lambdaIdentity: num('loss.lambdaIdentity', l.lambdaIdentity ?? 0.5, 0, 100),
    lambdaL1: num('loss.lambdaL1', l.lambdaL1 ?? 100, 0, 1e5),
    labelSmoothing: num('loss.labelSmoothing', l.labelSmoothing ?? 0, 0, 0.5),
  };

  const o = input.optimizer ?? {};
  const optimizer: OptimizerConfig = {
    learningRate: num('optimizer.learningRate', o.learningRate ?? 2e-4, 1e-8, 1),
    beta1: num('optimizer.beta1', o.beta1 ?? 0.5, 0, 0.9999),
    beta2: num('optimizer.beta2', o.beta2 ?? 0.999, 0, 0.999999),
    constantSteps: int('optimizer.constantSteps', o.constantSteps ?? 1000, 0, 1e8),
    decaySteps: int('optimizer.decaySteps', o.decaySteps ?? 1000, 0, 1e8),
  };
  if (optimizer.constantSteps + optimizer.decaySteps < 1) invalid('optimizer.constantSteps + decaySteps', 'at least 1 (the training length)', 0);

  const dd = input.data ?? {};
  const axis = dd.axis ?? 2;
  if (axis !== 0 && axis !== 1 && axis !== 2) invalid('data.axis', '0, 1 or 2', axis);
  const patchSize = dd.patchSize ?? (dims === 2 ? [64, 64] : [32, 32, 32]);
  if (!Array.isArray(patchSize) || patchSize.length !== dims) invalid('data.patchSize', `${dims} positive integers`, patchSize);
  patchSize.forEach((n, i) => int(`data.patchSize[${i}]`, n, 1, 4096));
  const data: DataConfig = {
    axis,
    patchSize: [...patchSize],
    batchSize: int('data.batchSize', dd.batchSize ?? 1, 1, 1024),
    flip: dd.flip ?? false,
    foregroundProb: num('data.foregroundProb', dd.foregroundProb ?? 0.9, 0, 1),
    poolSize: int('data.poolSize', dd.poolSize ?? (kind === 'cyclegan' ? 50 : 0), 0, 10_000),
  };
  if (typeof data.flip !== 'boolean') invalid('data.flip', 'true or false', data.flip);

  const seed = int('seed', input.seed ?? 0, 0, 2 ** 32 - 1);
  const config: ModelConfig = { kind, spatialDims: dims, domains, generator, discriminator, loss, optimizer, data, seed };
  checkPatchSize(config);
  return config;
}

/** The patch must pass through every network (else the first training step fails, naming no field). */
function checkPatchSize(config: ModelConfig): void {
  const specs = describeModelNetworks(config);
  const p = config.data.patchSize;
  for (const spec of specs.values()) {
    try {
      inferShapes(spec, p);
    } catch (e) {
      const layers = config.discriminator.layers;
      invalid(
        'data.patchSize',
        `sizes every network accepts: multiples of ${sizeMultipleOf(specs)} (the generator's downsampling), at least ${3 * 2 ** layers} per axis for a PatchGAN with ${layers} layers (${(e as Error).message})`,
        p,
      );
    }
  }
}

/** The training length in steps. */
export function totalSteps(config: ModelConfig): number {
  return config.optimizer.constantSteps + config.optimizer.decaySteps;
}
