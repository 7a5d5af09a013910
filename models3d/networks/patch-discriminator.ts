/**
 * The PatchGAN discriminator of pix2pix/CycleGAN (the reference `NLayerDiscriminator`): conv 4 stride 2
 * + LeakyReLU 0.2, then n−1 more stride-2 convs and one stride-1 conv, each + instance norm + LeakyReLU,
 * doubling the filters up to ndf·8, then a stride-1 conv 4 to one channel. With 3 layers its receptive
 * field is 70×70 in 2-D (70³ in 3-D). Convs pad 1 as in the reference.
 *
 * Options beyond the reference:
 * - `spectralNorm`: every conv is spectrally normalised (Miyato et al. 2018), as
 *   torch.nn.utils.spectral_norm wrapped around each conv.
 * - `scales` (pix2pixHD's multi-scale discriminator, Wang et al. 2018): n PatchGANs of the same shape
 *   judge the input, the input average-pooled once (AvgPool 3, stride 2, padding 1,
 *   count_include_pad=False), twice... The full-resolution branch keeps the single-scale node names
 *   and is the main output; branch s > 0 is named `scale<s>.…` and its head is extra output s − 1.
 * With the defaults (no spectral norm, one scale) the description is exactly the reference one.
 */
import type { NetworkSpec, NodeSpec, SpatialDims } from './spec.ts';
import { SpecBuilder } from './spec-builder.ts';
import { checkInt, checkSpatialDims } from './validate.ts';
import { VoxshiftError } from '../../volumes/errors.ts';

export interface PatchDiscriminatorConfig {
  spatialDims: SpatialDims;
  /** Channels of the image it judges (for Pix2Pix: input + output channels). */
  inputChannels?: number;
  ndf?: number;
  /** Stride-2 layers (the reference's n_layers); 3 by default. */
  layers?: number;
  /** Spectral normalisation of every conv (false). */
  spectralNorm?: boolean;
  /** Number of scales of a multi-scale discriminator (1: the plain PatchGAN). */
  scales?: number;
}

/** The down-sampling between scales (pix2pixHD: AvgPool2d(3, stride=2, padding=1, count_include_pad=False)). */
export const SCALE_POOL = { kernel: 3, stride: 2, padding: 1 } as const;

function patchBranch(b: SpecBuilder, prefix: string, input: string, inC: number, ndf: number, layers: number): string {
  let x = b.conv(`${prefix}layer0.conv`, input, inC, ndf, 4, 2, 1);
  x = b.leakyRelu(`${prefix}layer0.lrelu`, x, 0.2);
  let ch = ndf;
  for (let i = 1; i <= layers; i++) {
    const next = ndf * Math.min(2 ** i, 8);
    const stride = i < layers ? 2 : 1;
    x = b.conv(`${prefix}layer${i}.conv`, x, ch, next, 4, stride, 1);
    x = b.instanceNorm(`${prefix}layer${i}.norm`, x, next);
    x = b.leakyRelu(`${prefix}layer${i}.lrelu`, x, 0.2);
    ch = next;
  }
  return b.conv(`${prefix}head.conv`, x, ch, 1, 4, 1, 1);
}

export function describePatchDiscriminator(config: PatchDiscriminatorConfig): NetworkSpec {
  const dims = checkSpatialDims(config.spatialDims);
  const inC = checkInt('inputChannels', config.inputChannels ?? 1, 1, 4096);
  const ndf = checkInt('ndf', config.ndf ?? 64, 1, 4096);
  const layers = checkInt('layers', config.layers ?? 3, 1, 8);
  const scales = checkInt('scales', config.scales ?? 1, 1, 8);
  const spectralNorm = config.spectralNorm ?? false;
  if (typeof spectralNorm !== 'boolean') {
    throw new VoxshiftError('INVALID_ARGUMENT', `spectralNorm must be true or false, got ${String(spectralNorm)}`, { param: 'spectralNorm' });
  }
  const b = new SpecBuilder(dims);
  const heads = [patchBranch(b, '', 'input', inC, ndf, layers)];
  let scaled = 'input';
  for (let s = 1; s < scales; s++) {
    // SpecBuilder has no pooling node: appended here (names are unique by construction).
    const pool: NodeSpec = { name: `scale${s}.downsample`, op: 'avgPool', inputs: [scaled], ...SCALE_POOL };
    b.nodes.push(pool);
    scaled = pool.name;
    heads.push(patchBranch(b, `scale${s}.`, scaled, inC, ndf, layers));
  }
  if (spectralNorm) for (const node of b.nodes) if (node.op === 'conv') node.spectralNorm = true;
  const spec = b.finish({
    kind: 'patch-discriminator',
    inputChannels: inC,
    outputChannels: 1,
    output: heads[0],
    sizeMultiple: 1,
    // The new options are recorded only when used, so a plain PatchGAN's description is unchanged.
    config: { spatialDims: dims, inputChannels: inC, ndf, layers, ...(spectralNorm ? { spectralNorm } : {}), ...(scales > 1 ? { scales } : {}) },
  });
  return scales > 1 ? { ...spec, extraOutputs: heads.slice(1) } : spec;
}

/** Receptive field (voxels per axis) of one output of a PatchGAN discriminator with `layers` layers. */
export function patchReceptiveField(layers: number): number {
  // Walk back from one output: each conv 4 adds (4 − 1)·(product of later strides).
  const strides = [2, ...Array<number>(layers - 1).fill(2), 1, 1];
  let rf = 1;
  for (let i = strides.length - 1; i >= 0; i--) rf = (rf - 1) * strides[i] + 4;
  return rf;
}
