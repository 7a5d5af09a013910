/**
 * The U-Net generator of pix2pix (the reference `UnetGenerator` built from `UnetSkipConnectionBlock`s):
 * `depth` stride-2 conv 4 downsamplings (LeakyReLU 0.2 before, instance norm after, except at the two
 * ends) and as many transposed-conv 4 upsamplings (ReLU before, instance norm after), each level's input
 * concatenated to its output; filters ngf·min(2^level, 8); dropout on the ngf·8 levels between the
 * innermost and the ngf·4 one; tanh at the top. The spatial size must be a multiple of 2^depth.
 */
import type { NetworkSpec, SpatialDims } from './spec.ts';
import { SpecBuilder } from './spec-builder.ts';
import { checkInt, checkRate, checkSpatialDims } from './validate.ts';

export interface UnetGeneratorConfig {
  spatialDims: SpatialDims;
  inputChannels?: number;
  outputChannels?: number;
  ngf?: number;
  /** Downsamplings (the reference's num_downs: 8 for 256², 7 for 128²); at least 2. */
  depth?: number;
  /** Dropout rate on the ngf·8 inner levels (0.5 in pix2pix; 0 turns it off). */
  dropout?: number;
}

export function describeUnetGenerator(config: UnetGeneratorConfig): NetworkSpec {
  const dims = checkSpatialDims(config.spatialDims);
  const inC = checkInt('inputChannels', config.inputChannels ?? 1, 1, 4096);
  const outC = checkInt('outputChannels', config.outputChannels ?? 1, 1, 4096);
  const ngf = checkInt('ngf', config.ngf ?? 64, 1, 4096);
  const depth = checkInt('depth', config.depth ?? 8, 2, 12);
  const dropout = checkRate('dropout', config.dropout ?? 0.5);
  const b = new SpecBuilder(dims);
  const inner = (level: number): number => ngf * Math.min(2 ** level, 8);
  const outer = (level: number): number => (level === 0 ? outC : inner(level - 1));

  const level = (l: number, x: string): string => {
    const p = `level${l}`;
    const innerC = inner(l);
    if (l === 0) {
      const d = b.conv(`${p}.down.conv`, x, inC, innerC, 4, 2, 1);
      const s = level(1, d);
      let u = b.relu(`${p}.up.relu`, s);
      u = b.convTranspose(`${p}.up.conv`, u, innerC * 2, outC, 4, 2, 1, 0);
      return b.tanh(`${p}.up.tanh`, u);
    }
    const outerC = outer(l);
    let d = b.leakyRelu(`${p}.down.lrelu`, x, 0.2);
    d = b.conv(`${p}.down.conv`, d, outerC, innerC, 4, 2, 1);
    let u: string;
    if (l === depth - 1) {
      u = b.relu(`${p}.up.relu`, d);
      u = b.convTranspose(`${p}.up.conv`, u, innerC, outerC, 4, 2, 1, 0);
      u = b.instanceNorm(`${p}.up.norm`, u, outerC);
    } else {
      d = b.instanceNorm(`${p}.down.norm`, d, innerC);
      const s = level(l + 1, d);
      u = b.relu(`${p}.up.relu`, s);
      u = b.convTranspose(`${p}.up.conv`, u, innerC * 2, outerC, 4, 2, 1, 0);
      u = b.instanceNorm(`${p}.up.norm`, u, outerC);
      if (dropout > 0 && outerC === ngf * 8) u = b.dropout(`${p}.up.dropout`, u, dropout);
    }
    return b.concat(`${p}.skip`, [x, u]);
  };

  const out = level(0, 'input');
  return b.finish({
    kind: 'unet-generator',
    inputChannels: inC,
    outputChannels: outC,
    output: out,
    sizeMultiple: 2 ** depth,
    config: { spatialDims: dims, inputChannels: inC, outputChannels: outC, ngf, depth, dropout },
  });
}
