/**
 * The ResNet generator of CycleGAN (Zhu et al. 2017; the reference `ResnetGenerator`): reflection pad 3 +
 * conv 7, two stride-2 downsamplings, n residual blocks, two transposed-conv upsamplings, reflection
 * pad 3 + conv 7 + tanh; instance norm (affine=False) after every conv but the last, so every conv has
 * a bias. With spatialDims 3 it is the "CubeGAN" generator.
 */
import type { NetworkSpec, SpatialDims } from './spec.ts';
import { SpecBuilder } from './spec-builder.ts';
import { checkInt, checkRate, checkSpatialDims } from './validate.ts';

export interface ResnetGeneratorConfig {
  spatialDims: SpatialDims;
  inputChannels?: number;
  outputChannels?: number;
  /** Filters of the first conv (the reference's ngf); 64 by default. */
  ngf?: number;
  /** Residual blocks: 9 for 256² in the reference, 6 for 128² and smaller. */
  blocks?: number;
  /** Dropout inside residual blocks (off in CycleGAN). */
  dropout?: number;
}

export function describeResnetGenerator(config: ResnetGeneratorConfig): NetworkSpec {
  const dims = checkSpatialDims(config.spatialDims);
  const inC = checkInt('inputChannels', config.inputChannels ?? 1, 1, 4096);
  const outC = checkInt('outputChannels', config.outputChannels ?? 1, 1, 4096);
  const ngf = checkInt('ngf', config.ngf ?? 64, 1, 4096);
  const blocks = checkInt('blocks', config.blocks ?? 9, 0, 64);
  const dropout = checkRate('dropout', config.dropout ?? 0);
  const b = new SpecBuilder(dims);

  let x = b.reflectPad('stem.pad', 'input', 3);
  x = b.conv('stem.conv', x, inC, ngf, 7, 1, 0);
  x = b.instanceNorm('stem.norm', x, ngf);
  x = b.relu('stem.relu', x);
  let ch = ngf;
  for (let i = 1; i <= 2; i++) {
    x = b.conv(`down${i}.conv`, x, ch, ch * 2, 3, 2, 1);
    x = b.instanceNorm(`down${i}.norm`, x, ch * 2);
    x = b.relu(`down${i}.relu`, x);
    ch *= 2;
  }
  for (let i = 1; i <= blocks; i++) {
    const p = `block${i}`;
    let y = b.reflectPad(`${p}.pad1`, x, 1);
    y = b.conv(`${p}.conv1`, y, ch, ch, 3, 1, 0);
    y = b.instanceNorm(`${p}.norm1`, y, ch);
    y = b.relu(`${p}.relu`, y);
    if (dropout > 0) y = b.dropout(`${p}.dropout`, y, dropout);
    y = b.reflectPad(`${p}.pad2`, y, 1);
    y = b.conv(`${p}.conv2`, y, ch, ch, 3, 1, 0);
    y = b.instanceNorm(`${p}.norm2`, y, ch);
    x = b.add2(`${p}.add`, x, y);
  }
  for (let i = 1; i <= 2; i++) {
    x = b.convTranspose(`up${i}.conv`, x, ch, ch / 2, 3, 2, 1, 1);
    x = b.instanceNorm(`up${i}.norm`, x, ch / 2);
    x = b.relu(`up${i}.relu`, x);
    ch /= 2;
  }
  x = b.reflectPad('head.pad', x, 3);
  x = b.conv('head.conv', x, ngf, outC, 7, 1, 0);
  x = b.tanh('head.tanh', x);
  return b.finish({
    kind: 'resnet-generator',
    inputChannels: inC,
    outputChannels: outC,
    output: x,
    sizeMultiple: 4,
    config: { spatialDims: dims, inputChannels: inC, outputChannels: outC, ngf, blocks, dropout },
  });
}
