/**
 * 3-D forward convolutions and stride-1 input gradients (the forward convolution of dy with the
 * flipped, in/out-swapped filter and pads k − 1 − p) on MLAS's blocked-channel kernels, which are
 * 2-D only: the depth slabs of x, zero-padded in depth, are the batch of one blocked 2-D convolution
 * per depth tap t with W[t], over the slabs that tap reads (t, t + s, …, for the Do output slabs), and
 * the output slab d is the sum of the taps' results d:
 *
 *   x → slabs [N·Dp, Ci, H, W] (blocked, or plain NCHW below 8 channels)
 *     → for t: slabs t + s·d → nchwc Conv(W[t]) → [N·Do, Co', Ho, Wo] → Sum over t
 *     → ReorderOutput(channels_last) → y
 *
 * Slicing whole slabs and summing them is layout-blind, so the blocked tensors never leave the graph.
 * No column matrix is built (the generic graph's im2col for a 7³ first layer at 64³ is 360 MB).
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
 * (any strides) or a stride-1 input gradient, dilations 1, input channels (of the convolution
 * computed) fewer than 8 or a multiple of the block, and at least one block of channels out.
 */
export function nchwc3dApplies(op: ConvOp, g: ConvGeometry, block: number): boolean {
  if (g.dims !== 3 || g.dilations.some((d) => d !== 1)) return false;
  const c = directConv(op, g);
  if (block < 4 || c === undefined) return false;
  return (c.inChannels < NCHW_INPUT_BELOW || c.inChannels % block === 0) && c.outChannels >= block;
}

export function buildNchwc3dConvGraph(op: ConvOp, g: ConvGeometry, block: number): Uint8Array {
  const c = directConv(op, g);
  if (c === undefined || !nchwc3dApplies(op, g, block)) throw new Error(`nchwc 3-D graph: ${op} of this geometry is not supported`);
  const shapes = graphShapes(op, g);
  const [kd, kh, kw] = g.kernel;
  const [inD, inH, inW] = c.inSize;
  const outD = c.outSize[0];
  const ci = c.inChannels;
  const co = c.outChannels;
  const n = g.batch;
  const outPadded = Math.ceil(co / block) * block;
  const outBlocks = outPadded / block;
  const blockedIn = ci >= NCHW_INPUT_BELOW;
  const sd = c.strides[0];
  // Slabs read: t + sd·d for t < kd, d < Do, after padBegin zero slabs.
  const depthPadded = inD + c.padBegin[0] + Math.max(0, sd * (outD - 1) + kd - inD - c.padBegin[0]);
  const nodes: Node[] = [];
  const inits: Tensor[] = [];
  const node = (opType: string, input: string[], output: string, attribute: InstanceType<typeof onnx.AttributeProto>[] = [], domain = ''): void => {
    nodes.push(onnx.NodeProto.create({ opType, input, output: [output], attribute, domain }));
  };

  const depthPads = [c.padBegin[0], depthPadded - inD - c.padBegin[0]];
  if (blockedIn) {
    // x [N, D, H, W, Ci], depth zero-padded → [N·Dp, H, W, Ci] → blocked slabs.
    inits.push(int64('x_pads', [0, depthPads[0], 0, 0, 0, 0, depthPads[1], 0, 0, 0]), int64('slabs_nhwc', [n * depthPadded, inH, inW, ci]));
    node('Pad', ['a', 'x_pads'], 'x_dpad');
    node('Reshape', ['x_dpad', 'slabs_nhwc'], 'x_nhwc');
    node('ReorderInput', ['x_nhwc'], 'x_slabs', [int('channels_last', 1)], NCHWC);
  } else {
    // x [N, D, H, W, Ci] → [N, D, Ci, H, W], depth zero-padded → slabs [N·Dp, Ci, H, W].
    node('Transpose', ['a'], 'x_ndchw', [ints('perm', [0, 1, 4, 2, 3])]);
    inits.push(int64('x_pads', [0, depthPads[0], 0, 0, 0, 0, depthPads[1], 0, 0, 0]));
    node('Pad', ['x_ndchw', 'x_pads'], 'x_slabs');
  }
  inits.push(int64('x_5d', [n, depthPadded, ci, inH, inW]), int64('x_4d', [n * outD, ci, inH, inW]));
  node('Reshape', ['x_slabs', 'x_5d'], 'x_depth');

  // W [kd, kh, kw, Ci, Co] → per tap OIHWBo [outBlocks, Ci, kh, kw, Bo] from [kd, kh·kw, Ci, outBlocks, Bo],
  // or OIHWBiBo [outBlocks, inBlocks, kh, kw, Bi, Bo] from [kd, kh·kw, inBlocks, Bi, outBlocks, Bo].
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
  if (blockedIn) {
    inits.push(int64('w_split_shape', [kd, kh * kw, ci / block, block, outBlocks, block]));
    node('Reshape', [w, 'w_split_shape'], 'w_split');
    node('Transpose', ['w_split'], 'w_blocked', [ints('perm', [0, 4, 2, 1, 3, 5])]);
  } else {
    inits.push(int64('w_split_shape', [kd, kh * kw, ci, outBlocks, block]));
    node('Reshape', [w, 'w_split_shape'], 'w_split');
    node('Transpose', ['w_split'], 'w_blocked', [ints('perm', [0, 3, 2, 1, 4])]);
  }
  inits.push(int64('w_taps', [kd, outPadded, ci, kh, kw]), int64('zero', [0]), int64('w_oihw', [outPadded, ci, kh, kw]));
  node('Reshape', ['w_blocked', 'w_taps'], 'w_all');

  const convAttrs = [
    ints('kernel_shape', [kh, kw]),
    ints('strides', [c.strides[1], c.strides[2]]),
    ints('dilations', [1, 1]),
    ints('pads', [c.padBegin[1], c.padBegin[2], c.padEnd[1], c.padEnd[2]]),
    int('group', 1),
  ];
  inits.push(int64('depth_axis', [1]), int64('depth_step', [sd]));
  const parts: string[] = [];
  for (let t = 0; t < kd; t++) {
    inits.push(int64(`w${t}_s`, [t]), int64(`w${t}_e`, [t + 1]));
    node('Slice', ['w_all', `w${t}_s`, `w${t}_e`, 'zero'], `w${t}_5d`);
    node('Reshape', [`w${t}_5d`, 'w_oihw'], `w${t}`);
    inits.push(int64(`d${t}_s`, [t]), int64(`d${t}_e`, [t + sd * (outD - 1) + 1]));
    node('Slice', ['x_depth', `d${t}_s`, `d${t}_e`, 'depth_axis', 'depth_step'], `x${t}_5d`);
    node('Reshape', [`x${t}_5d`, 'x_4d'], `x${t}`);
    node('Conv', [`x${t}`, `w${t}`], `part${t}`, convAttrs, NCHWC);
    parts.push(`part${t}`);
  }
  node(parts.length === 1 ? 'Identity' : 'Sum', parts, 'y_blocked');
  inits.push(int64('y_shape', shapes.y));
  node('ReorderOutput', ['y_blocked'], 'y_nhwc', [int('channels', co), int('channels_last', 1)], NCHWC);
  node('Reshape', ['y_nhwc', 'y_shape'], 'y');

  return encodeConvModel(`voxshift-nchwc3d-${op}`, nodes, inits, shapes, [NCHWC]);
}
