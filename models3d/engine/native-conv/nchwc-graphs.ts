/**
 * 2-D convolutions on MLAS's blocked-channel ("NCHWc") kernels, onnxruntime's fastest CPU convolutions
 * on x86 (direct convolutions over channel blocks of 8 on AVX2, 16 on AVX-512, no im2col). onnxruntime
 * only rewrites a Conv into them when its weight is a constant; a training step's weights change every
 * step, so these graphs call the `com.microsoft.nchwc` operators themselves and put the weight into the
 * blocked layout in the graph (a reshape and a transpose; the weights are small):
 *
 *   x (NHWC) → ReorderInput(channels_last) → nchwc Conv(W in OIHWBiBo) → ReorderOutput(channels_last) → y (NHWC)
 *
 * With fewer than 8 input channels (a network's first layer) the blocked Conv reads NCHW input directly
 * and wants the weight in OIHWBo. OIHWBiBo, per output block, input block and kernel tap, is a
 * Bi × Bo tile with the output channel fastest; OIHWBo, per output block, input channel and tap, a row
 * of Bo output channels (as onnxruntime's own NchwcTransformer writes a constant weight; the conv
 * tests check every blocked case against the pure-JS backend).
 *
 * The stride-1 input gradient is the same convolution of dy with the flipped, in/out-swapped filter
 * and pads k − 1 − p, so it runs on these kernels too.
 */
import onnxProto from 'onnx-proto';
import { int, int64Tensor as int64, ints } from '../../export/onnx-export.ts';
import { encodeConvModel, graphShapes, type ConvGeometry, type ConvOp } from './conv-graphs.ts';

const { onnx } = onnxProto;
type Node = InstanceType<typeof onnx.NodeProto>;
type Tensor = InstanceType<typeof onnx.TensorProto>;
const NCHWC = 'com.microsoft.nchwc';

/** Below this many input channels the blocked Conv takes NCHW input (onnxruntime's own rule). */
export const NCHW_INPUT_BELOW = 8;

const roundUp = (n: number, b: number): number => Math.ceil(n / b) * b;

/** The convolution a blocked graph computes: the forward one, or the input gradient's flipped form. */
export interface DirectConv {
  inSize: number[];
  outSize: number[];
  inChannels: number;
  outChannels: number;
  padBegin: number[];
  padEnd: number[];
  strides: number[];
  dilations: number[];
}

/**
 * `op` as a forward convolution: itself, or for a stride-1, dilation-1 input gradient whose pads stay
 * within the kernel, the convolution of dy with the flipped, in/out-swapped filter and pads k − 1 − p.
 * Undefined for anything else (filter gradients, strided input gradients).
 */
export function directConv(op: ConvOp, g: ConvGeometry): DirectConv | undefined {
  if (op === 'forward') return g;
  if (op !== 'backprop-input') return undefined;
  const unit = g.strides.every((s) => s === 1) && g.dilations.every((d) => d === 1);
  if (!unit || g.kernel.some((k, i) => g.padBegin[i] > k - 1 || g.padEnd[i] > k - 1)) return undefined;
  return {
    inSize: g.outSize,
    outSize: g.inSize,
    inChannels: g.outChannels,
    outChannels: g.inChannels,
    padBegin: g.kernel.map((k, i) => k - 1 - g.padBegin[i]),
    padEnd: g.kernel.map((k, i) => k - 1 - g.padEnd[i]),
    strides: g.strides.map(() => 1),
    dilations: g.dilations.map(() => 1),
  };
}

/**
 * Whether `op` on `g` runs on the blocked kernels with block size `block`: 2-D, forward or stride-1
 * input gradient, input channels a multiple of the block (or fewer than 8), and output channels at
 * least a block (padding 1 output channel to 16 would multiply the work by 16).
 */
export function nchwcApplies(op: ConvOp, g: ConvGeometry, block: number): boolean {
  if (block < 4 || g.dims !== 2) return false;
  const c = directConv(op, g);
  if (c === undefined) return false;
  const inOk = c.inChannels < NCHW_INPUT_BELOW || c.inChannels % block === 0;
  return inOk && c.outChannels >= block;
}

export function buildNchwcConvGraph(op: ConvOp, g: ConvGeometry, block: number): Uint8Array {
  const c = directConv(op, g);
  if (c === undefined || !nchwcApplies(op, g, block)) throw new Error(`nchwc graph: ${op} of this geometry is not supported`);
  const shapes = graphShapes(op, g);
  const [kh, kw] = g.kernel;
  const nchwInput = c.inChannels < NCHW_INPUT_BELOW;
  const outPadded = roundUp(c.outChannels, block);
  const nodes: Node[] = [];
  const inits: Tensor[] = [];
  const node = (opType: string, input: string[], output: string, attribute: InstanceType<typeof onnx.AttributeProto>[] = [], domain = ''): void => {
    nodes.push(onnx.NodeProto.create({ opType, input, output: [output], attribute, domain }));
  };

  // Filter in HWIO of the direct convolution: tfjs's [kh, kw, in, out], or for the input gradient
  // flipped in both spatial axes with in and out swapped.
  let hwio = 'b';
  if (op === 'backprop-input') {
    inits.push(int64('flip_s', [-1, -1]), int64('flip_e', [-(kh + 1), -(kw + 1)]), int64('flip_a', [0, 1]), int64('flip_st', [-1, -1]));
    node('Slice', ['b', 'flip_s', 'flip_e', 'flip_a', 'flip_st'], 'w_flip');
    node('Transpose', ['w_flip'], 'w_swap', [ints('perm', [0, 1, 3, 2])]);
    hwio = 'w_swap';
  }
  if (outPadded !== c.outChannels) {
    inits.push(int64('w_pads', [0, 0, 0, 0, 0, 0, 0, outPadded - c.outChannels]));
    node('Pad', [hwio, 'w_pads'], 'w_pad');
    hwio = 'w_pad';
  }
  const outBlocks = outPadded / block;
  if (nchwInput) {
    // OIHWBo: [outBlocks, in, kh, kw, Bo] from [kh·kw, in, outBlocks, Bo].
    inits.push(int64('w_5d', [kh * kw, c.inChannels, outBlocks, block]), int64('w_oihw', [outPadded, c.inChannels, kh, kw]));
    node('Reshape', [hwio, 'w_5d'], 'w_split');
    node('Transpose', ['w_split'], 'w_blocked', [ints('perm', [2, 1, 0, 3])]);
  } else {
    // OIHWBiBo: [outBlocks, inBlocks, kh, kw, Bi, Bo] from [kh·kw, inBlocks, Bi, outBlocks, Bo].
    const inBlocks = c.inChannels / block;
    inits.push(int64('w_5d', [kh * kw, inBlocks, block, outBlocks, block]), int64('w_oihw', [outPadded, c.inChannels, kh, kw]));
    node('Reshape', [hwio, 'w_5d'], 'w_split');
    node('Transpose', ['w_split'], 'w_blocked', [ints('perm', [3, 1, 0, 2, 4])]);
  }
  node('Reshape', ['w_blocked', 'w_oihw'], 'w');

  const x = nchwInput ? 'x_nchw' : 'x_blocked';
  if (nchwInput) node('Transpose', ['a'], x, [ints('perm', [0, 3, 1, 2])]);
  else node('ReorderInput', ['a'], x, [int('channels_last', 1)], NCHWC);
  const convAttrs = [ints('kernel_shape', g.kernel), ints('strides', c.strides), ints('dilations', c.dilations), ints('pads', [...c.padBegin, ...c.padEnd]), int('group', 1)];
  node('Conv', [x, 'w'], 'y_blocked', convAttrs, NCHWC);
  node('ReorderOutput', ['y_blocked'], 'y', [int('channels', c.outChannels), int('channels_last', 1)], NCHWC);

  return encodeConvModel(`voxshift-nchwc-${op}`, nodes, inits, shapes, [NCHWC]);
}

/**
 * A graph that reorders a 4-channel NCHW tensor (its smallest) into blocks: its output has `block` channels, which
 * is how the engine learns MLAS's block size on this CPU (8 with AVX2, 16 with AVX-512).
 */
export function blockSizeProbeGraph(): Uint8Array {
  const reorder = onnx.NodeProto.create({ opType: 'ReorderInput', input: ['a'], output: ['y'], attribute: [int('channels_last', 0)], domain: NCHWC });
  return encodeConvModel('voxshift-nchwc-probe', [reorder], [], { a: [1, 4, 1, 1] }, [NCHWC]);
}
