/**
 * The PatchGAN discriminator of pix2pix/CycleGAN (the reference `NLayerDiscriminator`): conv 4 stride 2
 * + LeakyReLU 0.2, then n−1 more stride-2 convs and one stride-1 conv, each + instance norm + LeakyReLU,
 * doubling the filters up to ndf·8, then a stride-1 conv 4 to one channel. With 3 layers its receptive
 * field is 70×70 in 2-D (70³ in 3-D). Convs pad 1 as in the reference.
 */
import type { NetworkSpec, SpatialDims } from './spec.ts';
import { SpecBuilder } from './spec-builder.ts';
import { checkInt, checkSpatialDims } from './validate.ts';

export interface PatchDiscriminatorConfig {
  spatialDims: SpatialDims;
  /** Channels of the image it judges (for Pix2Pix: input + output channels). */
  inputChannels?: number;
  ndf?: number;
  /** Stride-2 layers (the reference's n_layers); 3 by default. */
  layers?: number;
}

export function describePatchDiscriminator(config: PatchDiscriminatorConfig): NetworkSpec {
  const dims = checkSpatialDims(config.spatialDims);
  const inC = checkInt('inputChannels', config.inputChannels ?? 1, 1, 4096);
  const ndf = checkInt('ndf', config.ndf ?? 64, 1, 4096);
  const layers = checkInt('layers', config.layers ?? 3, 1, 8);
  const b = new SpecBuilder(dims);
  let x = b.conv('layer0.conv', 'input', inC, ndf, 4, 2, 1);
  x = b.leakyRelu('layer0.lrelu', x, 0.2);
  let ch = ndf;
  for (let i = 1; i <= layers; i++) {
    const next = ndf * Math.min(2 ** i, 8);
    const stride = i < layers ? 2 : 1;
    x = b.conv(`layer${i}.conv`, x, ch, next, 4, stride, 1);
    x = b.instanceNorm(`layer${i}.norm`, x, next);
    x = b.leakyRelu(`layer${i}.lrelu`, x, 0.2);
    ch = next;
  }
  x = b.conv('head.conv', x, ch, 1, 4, 1, 1);
  return b.finish({
    kind: 'patch-discriminator',
    inputChannels: inC,
    outputChannels: 1,
    output: x,
    sizeMultiple: 1,
    config: { spatialDims: dims, inputChannels: inC, ndf, layers },
  });
}

/** Receptive field (voxels per axis) of one output of a PatchGAN discriminator with `layers` layers. */
export function patchReceptiveField(layers: number): number {
  // Walk back from one output: each conv 4 adds (4 − 1)·(product of later strides).
  const strides = [2, ...Array<number>(layers - 1).fill(2), 1, 1];
  let rf = 1;
  for (let i = strides.length - 1; i >= 0; i--) rf = (rf - 1) * strides[i] + 4;
  return rf;
}
