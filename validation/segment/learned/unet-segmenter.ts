/**
 * The segmentation U-Net (Ronneberger et al. 2015, in nnU-Net's plain form), described with the
 * models3d SpecBuilder so it is built, checkpointed and run like the translation networks:
 * - encoder level l has filters·2^l channels (at most filters·8): two 3-conv → instance norm →
 *   LeakyReLU(0.01) layers, the first of them with stride 2 below level 0 (the downsampling);
 * - decoder: a stride-2 transposed conv (kernel 2) back to level l, concatenated with the encoder's
 *   level-l output, then two conv layers as above;
 * - a 1-conv to `classes` channels: the output is logits (no activation; softmax in loss/inference).
 * Spatial sizes must be multiples of 2^depth.
 */
import type { NetworkSpec, SpatialDims } from '../../../models3d/networks/spec.ts';
import { SpecBuilder } from '../../../models3d/networks/spec-builder.ts';
import { checkInt, checkSpatialDims } from '../../../models3d/networks/validate.ts';

export interface UnetSegmenterConfig {
  spatialDims: SpatialDims;
  inputChannels?: number;
  /** Output classes including background (≥ 2). */
  classes: number;
  /** Channels of the first level (default 16). */
  filters?: number;
  /** Downsamplings (default 3). */
  depth?: number;
}

export const UNET_SEGMENTER_KIND = 'unet-segmenter';

export function describeUnetSegmenter(config: UnetSegmenterConfig): NetworkSpec {
  const dims = checkSpatialDims(config.spatialDims);
  const inC = checkInt('inputChannels', config.inputChannels ?? 1, 1, 64);
  const classes = checkInt('classes', config.classes, 2, 256);
  const filters = checkInt('filters', config.filters ?? 16, 1, 512);
  const depth = checkInt('depth', config.depth ?? 3, 1, 8);
  const b = new SpecBuilder(dims);
  const ch = (l: number): number => filters * Math.min(2 ** l, 8);

  const layer = (name: string, x: string, from: number, to: number, stride: number): string => {
    const c = b.conv(`${name}.conv`, x, from, to, 3, stride, 1);
    const n = b.instanceNorm(`${name}.norm`, c, to);
    return b.leakyRelu(`${name}.act`, n, 0.01);
  };
  const block = (name: string, x: string, from: number, to: number, stride: number): string =>
    layer(`${name}.1`, layer(`${name}.0`, x, from, to, stride), to, to, 1);

  const skips: string[] = [];
  let x = block('enc0', 'input', inC, ch(0), 1);
  skips.push(x);
  for (let l = 1; l <= depth; l++) {
    x = block(`enc${l}`, x, ch(l - 1), ch(l), 2);
    skips.push(x);
  }
  for (let l = depth - 1; l >= 0; l--) {
    const up = b.convTranspose(`dec${l}.up`, x, ch(l + 1), ch(l), 2, 2, 0, 0);
    const cat = b.concat(`dec${l}.skip`, [skips[l], up]);
    x = block(`dec${l}`, cat, 2 * ch(l), ch(l), 1);
  }
  const out = b.conv('head.conv', x, ch(0), classes, 1, 1, 0);
  return b.finish({
    kind: UNET_SEGMENTER_KIND,
    inputChannels: inC,
    outputChannels: classes,
    output: out,
    sizeMultiple: 2 ** depth,
    config: { spatialDims: dims, inputChannels: inC, classes, filters, depth },
  });
}
