/**
 * 3-D forward convolutions with few input channels (a 3-D generator's 7³ first layer), and stride-1
 * input gradients with few output channels (its output layer: the forward convolution of dy with the
 * flipped, in/out-swapped filter and pads k − 1 − p), on MLAS's
 * blocked-channel kernels, which are 2-D only: the depth slabs of x, zero-padded in depth, are the
 * batch of one blocked 2-D convolution per depth tap t with W[t], and the output slab d sums tap t's
 * result at slab d·1 + t (depth stride 1):
 *
 *   x → [N·Dp, Ci, H, W] → for t: nchwc Conv(W[t] in OIHWBo) → [N, Dp, Co', Ho, Wo] slabs t … t + Do
 *     → Sum over t → ReorderOutput(channels_last) → y
 *
 * Slicing and summing whole slabs is layout-blind, so the blocked tensors never leave the graph.
 * No column matrix is built (the generic graph's im2col for this layer at 64³ is 360 MB).
 */
import onnxProto from 'onnx-proto';
import { int, int64Tensor as int64, ints } from '../../export/onnx-export.ts';
import { encodeConvModel, graphShapes, type ConvGeometry, type ConvOp } from './conv-graphs.ts';
import { directConv, NCHW_INPUT_BELOW } from './nchwc-graphs.ts';

const { onnx } = onnxProto;
type Node = InstanceType<typeof onnx.NodeProto>;
type Tensor = InstanceType<typeof onnx.TensorProto>;
const NCHWC = 'com.microsoft.nchwc';

/**
 * Whether the 3-D `op` on `g` runs as blocked 2-D convolutions per depth tap: a forward convolution
 * or a stride-1 input gradient, depth stride and all dilations 1, fewer than 8 channels in and at
 * least one block of channels out (of the convolution computed).
 */
export function nchwc3dApplies(op: ConvOp, g: ConvGeometry, block: number): boolean {
  if (g.dims !== 3 || g.dilations.some((d) => d !== 1)) return false;
  const c = directConv(op, g);
  if (block < 4 || c === undefined || c.strides[0] !== 1) return false;
  return c.inChannels < NCHW_INPUT_BELOW && c.outChannels >= block;
}

export function buildNchwc3dConvGraph(op: ConvOp, g: ConvGeometry, block: number): Uint8Array {
  const c = directConv(op, g);
  if (c === undefined || !nchwc3dApplies(op, g, block)) throw new Error(`nchwc 3-D graph: ${op} of this geometry is not supported`);
  const shapes = graphShapes(op, g);
  const [kd, kh, kw] = g.kernel;
  const [inD, inH, inW] = c.inSize;
  const [outD, outH, outW] = c.outSize;
  const ci = c.inChannels;
  const co = c.outChannels;
  const n = g.batch;
  const outPadded = Math.ceil(co / block) * block;
  const outBlocks = outPadded / block;
  const depthPadded = inD + c.padBegin[0] + Math.max(0, outD - 1 + kd - inD - c.padBegin[0]);
  const nodes: Node[] = [];
  const inits: Tensor[] = [];
  const node = (opType: string, input: string[], output: string, attribute: InstanceType<typeof onnx.AttributeProto>[] = [], domain = ''): void => {
    nodes.push(onnx.NodeProto.create({ opType, input, output: [output], attribute, domain }));
  };

  // x [N, D, H, W, Ci] → [N, D, Ci, H, W], depth zero-padded → slabs [N·Dp, Ci, H, W].
  node('Transpose', ['a'], 'x_ndchw', [ints('perm', [0, 1, 4, 2, 3])]);
  inits.push(int64('x_pads', [0, c.padBegin[0], 0, 0, 0, 0, depthPadded - inD - c.padBegin[0], 0, 0, 0]));
  node('Pad', ['x_ndchw', 'x_pads'], 'x_dpad');
  inits.push(int64('slabs', [n * depthPadded, ci, inH, inW]));
  node('Reshape', ['x_dpad', 'slabs'], 'x_slabs');

  // W [kd, kh, kw, Ci, Co] → per tap OIHWBo [outBlocks, Ci, kh, kw, Bo] from [kd, kh·kw, Ci, outBlocks, Bo].
  let w = 'b';
  if (op === 'backprop-input') {
    // flipped in depth, height and width, in and out swapped: [kd, kh, kw, Co_fwd, Ci_fwd]
    inits.push(int64('flip_s', [-1, -1, -1]), int64('flip_e', g.kernel.map((k) => -(k + 1))), int64('flip_a', [0, 1, 2]), int64('flip_st', [-1, -1, -1]));
    node('Slice', ['b', 'flip_s', 'flip_e', 'flip_a', 'flip_st'], 'w_flip');
    node('Transpose', ['w_flip'], 'w_swap', [ints('perm', [0, 1, 2, 4, 3])]);
    w = 'w_swap';
  }
  if (outPadded !== co) {
    inits.push(int64('w_pads', [0, 0, 0, 0, 0, 0, 0, 0, 0, outPadded - co]));
    node('Pad', [w, 'w_pads'], 'w_pad');
    w = 'w_pad';
  }
  inits.push(int64('w_6d', [kd, kh * kw, ci, outBlocks, block]));
  node('Reshape', [w, 'w_6d'], 'w_split');
  node('Transpose', ['w_split'], 'w_blocked', [ints('perm', [0, 3, 2, 1, 4])]);
  inits.push(int64('w_taps', [kd, outPadded, ci, kh, kw]), int64('zero', [0]), int64('w_oihw', [outPadded, ci, kh, kw]));
  node('Reshape', ['w_blocked', 'w_taps'], 'w_all');

  const convAttrs = [
    ints('kernel_shape', [kh, kw]),
    ints('strides', [c.strides[1], c.strides[2]]),
    ints('dilations', [1, 1]),
    ints('pads', [c.padBegin[1], c.padBegin[2], c.padEnd[1], c.padEnd[2]]),
    int('group', 1),
  ];
  inits.push(int64('y_5d', [n, depthPadded, outPadded, outH, outW]), int64('depth_axis', [1]));
  const parts: string[] = [];
  for (let t = 0; t < kd; t++) {
    inits.push(int64(`w${t}_s`, [t]), int64(`w${t}_e`, [t + 1]));
    node('Slice', ['w_all', `w${t}_s`, `w${t}_e`, 'zero'], `w${t}_5d`);
    node('Reshape', [`w${t}_5d`, 'w_oihw'], `w${t}`);
    node('Conv', ['x_slabs', `w${t}`], `y${t}_slabs`, convAttrs, NCHWC);
    node('Reshape', [`y${t}_slabs`, 'y_5d'], `y${t}_5d`);
    inits.push(int64(`d${t}_s`, [t]), int64(`d${t}_e`, [t + outD]));
    node('Slice', [`y${t}_5d`, `d${t}_s`, `d${t}_e`, 'depth_axis'], `part${t}`);
    parts.push(`part${t}`);
  }
  node(parts.length === 1 ? 'Identity' : 'Sum', parts, 'y_sum');
  inits.push(int64('y_4d', [n * outD, outPadded, outH, outW]), int64('y_shape', shapes.y));
  node('Reshape', ['y_sum', 'y_4d'], 'y_blocked');
  node('ReorderOutput', ['y_blocked'], 'y_nhwc', [int('channels', co), int('channels_last', 1)], NCHWC);
  node('Reshape', ['y_nhwc', 'y_shape'], 'y');

  return encodeConvModel(`voxshift-nchwc3d-${op}`, nodes, inits, shapes, [NCHWC]);
}
