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
import type onnxProto from 'onnx-proto';
import { int, int64Tensor as int64, ints } from '../../export/onnx-export.ts';
import { concatNode, encodeConvModel, graphShapes, viewPadAfter, type ConvGeometry, type ConvOp } from './conv-graphs.ts';
import { directConv, flippedSwappedFilter, graphBuilder, interleavePhases, NCHW_INPUT_BELOW, phaseTaps, stridePhases, type AddNode } from './nchwc-graphs.ts';

type Tensor = InstanceType<typeof onnxProto.onnx.TensorProto>;
const NCHWC = 'com.microsoft.nchwc';

/**
 * Whether the 3-D `op` on `g` runs as blocked 2-D convolutions per depth tap: a forward convolution
 * (any strides) or a stride-1 input gradient, dilations 1, input channels (of the convolution
 * computed) fewer than 8 or a multiple of the block, and at least one block of channels out.
 */
export function nchwc3dApplies(op: ConvOp, g: ConvGeometry, block: number): boolean {
  if (g.dims !== 3 || g.dilations.some((d) => d !== 1) || block < 4) return false;
  if (op === 'backprop-filter') return depthChannelsApplies(g, block);
  const c = directConv(op, g);
  if (c !== undefined) return (c.inChannels < NCHW_INPUT_BELOW || c.inChannels % block === 0) && c.outChannels >= block;
  // stride-2 input gradients by phases (dy's channels in blocks, dx's at least one block)
  return stridePhases(op, g) !== undefined && g.outChannels % block === 0 && g.inChannels >= block;
}

/**
 * x [N, D, H, W, C] (graph input `a`), zero-padded in depth by `pads`, as slabs [N, Dp, C, H, W]
 * named `x_depth`: blocked from 8 channels up, plain NCHW below.
 */
function depthSlabs(node: AddNode, inits: Tensor[], size: number[], c: number, n: number, pads: number[]): number {
  const [d, h, w] = size;
  const depthPadded = d + pads[0] + pads[1];
  inits.push(int64('x_pads', [0, pads[0], 0, 0, 0, 0, pads[1], 0, 0, 0]), int64('x_5d', [n, depthPadded, c, h, w]));
  if (c >= NCHW_INPUT_BELOW) {
    inits.push(int64('slabs_nhwc', [n * depthPadded, h, w, c]));
    node('Pad', ['a', 'x_pads'], 'x_dpad');
    node('Reshape', ['x_dpad', 'slabs_nhwc'], 'x_nhwc');
    node('ReorderInput', ['x_nhwc'], 'x_slabs', [int('channels_last', 1)], NCHWC);
  } else {
    node('Transpose', ['a'], 'x_ndchw', [ints('perm', [0, 1, 4, 2, 3])]);
    node('Pad', ['x_ndchw', 'x_pads'], 'x_slabs');
  }
  node('Reshape', ['x_slabs', 'x_5d'], 'x_depth');
  return depthPadded;
}

/**
 * A filter in [kd, kh, kw, Ci, Co] (`w`) as per-depth-tap blocked weights [kd, Co', Ci, kh, kw]: OIHWBo
 * ([outBlocks, Ci, kh, kw, Bo] from [kd, kh·kw, Ci, outBlocks, Bo]) below 8 input channels, else
 * OIHWBiBo ([outBlocks, inBlocks, kh, kw, Bi, Bo] from [kd, kh·kw, inBlocks, Bi, outBlocks, Bo]).
 */
function blockedTapWeights(node: AddNode, inits: Tensor[], w: string, kernel: number[], ci: number, co: number, block: number, prefix: string): string {
  const [kd, kh, kw] = kernel;
  const outPadded = Math.ceil(co / block) * block;
  const outBlocks = outPadded / block;
  let src = w;
  if (outPadded !== co) {
    inits.push(int64(`${prefix}pads`, [0, 0, 0, 0, 0, 0, 0, 0, 0, outPadded - co]));
    node('Pad', [src, `${prefix}pads`], `${prefix}pad`);
    src = `${prefix}pad`;
  }
  if (ci >= NCHW_INPUT_BELOW) {
    inits.push(int64(`${prefix}split_shape`, [kd, kh * kw, ci / block, block, outBlocks, block]));
    node('Reshape', [src, `${prefix}split_shape`], `${prefix}split`);
    node('Transpose', [`${prefix}split`], `${prefix}blocked`, [ints('perm', [0, 4, 2, 1, 3, 5])]);
  } else {
    inits.push(int64(`${prefix}split_shape`, [kd, kh * kw, ci, outBlocks, block]));
    node('Reshape', [src, `${prefix}split_shape`], `${prefix}split`);
    node('Transpose', [`${prefix}split`], `${prefix}blocked`, [ints('perm', [0, 3, 2, 1, 4])]);
  }
  inits.push(int64(`${prefix}taps`, [kd, outPadded, ci, kh, kw]));
  node('Reshape', [`${prefix}blocked`, `${prefix}taps`], `${prefix}all`);
  return `${prefix}all`;
}

interface TapConvs {
  /** Blocked per-tap weights [kd, Co', Ci, kh, kw]. */
  weights: string;
  kernel: number[];
  /** First slab of x_depth tap 0 reads; tap t reads from first + t, every `depthStride`-th slab. */
  first: number;
  depthStride: number;
  outD: number;
  /** Batch·Do, Ci, H, W of the slabs each tap convolves. */
  slabShape: number[];
  planeStrides: number[];
  planePads: number[];
  prefix: string;
}

/** Σ over depth taps of the blocked 2-D convolution of the slabs each reads; returns [N·Do, Co', Ho, Wo] (blocked). */
function depthTapConvs(node: AddNode, inits: Tensor[], t: TapConvs): string {
  const [kd, kh, kw] = t.kernel;
  const p = t.prefix;
  inits.push(int64(`${p}zero`, [0]), int64(`${p}w_oihw`, [-1, t.slabShape[1], kh, kw]));
  inits.push(int64(`${p}depth_axis`, [1]), int64(`${p}depth_step`, [t.depthStride]), int64(`${p}x_4d`, t.slabShape));
  const convAttrs = [ints('kernel_shape', [kh, kw]), ints('strides', t.planeStrides), ints('dilations', [1, 1]), ints('pads', t.planePads), int('group', 1)];
  const parts: string[] = [];
  for (let u = 0; u < kd; u++) {
    const from = t.first + u;
    inits.push(int64(`${p}w${u}_s`, [u]), int64(`${p}w${u}_e`, [u + 1]));
    node('Slice', [t.weights, `${p}w${u}_s`, `${p}w${u}_e`, `${p}zero`], `${p}w${u}_5d`);
    node('Reshape', [`${p}w${u}_5d`, `${p}w_oihw`], `${p}w${u}`);
    inits.push(int64(`${p}d${u}_s`, [from]), int64(`${p}d${u}_e`, [from + t.depthStride * (t.outD - 1) + 1]));
    node('Slice', ['x_depth', `${p}d${u}_s`, `${p}d${u}_e`, `${p}depth_axis`, `${p}depth_step`], `${p}x${u}_5d`);
    node('Reshape', [`${p}x${u}_5d`, `${p}x_4d`], `${p}x${u}`);
    node('Conv', [`${p}x${u}`, `${p}w${u}`], `${p}part${u}`, convAttrs, NCHWC);
    parts.push(`${p}part${u}`);
  }
  node(parts.length === 1 ? 'Identity' : 'Sum', parts, `${p}y_blocked`);
  return `${p}y_blocked`;
}

export function buildNchwc3dConvGraph(op: ConvOp, g: ConvGeometry, block: number): Uint8Array {
  if (!nchwc3dApplies(op, g, block)) throw new Error(`nchwc 3-D graph: ${op} of this geometry is not supported`);
  if (op === 'backprop-filter') return buildDepthChannelsFilterGrad(g, block);
  const c = directConv(op, g);
  if (c === undefined) return buildPhaseGraph(g, block);
  const shapes = graphShapes(op, g);
  const [kd] = g.kernel;
  const [inD, inH, inW] = c.inSize;
  const outD = c.outSize[0];
  const sd = c.strides[0];
  const { nodes, inits, node } = graphBuilder();
  // Slabs read: t + sd·d for t < kd, d < Do, after padBegin zero slabs.
  const padAfter = Math.max(0, sd * (outD - 1) + kd - inD - c.padBegin[0]);
  depthSlabs(node, inits, c.inSize, c.inChannels, g.batch, [c.padBegin[0], padAfter]);
  const w = op === 'backprop-input' ? flippedSwappedFilter(node, inits, g.kernel) : 'b';
  const weights = blockedTapWeights(node, inits, w, g.kernel, c.inChannels, c.outChannels, block, 'w_');
  const y = depthTapConvs(node, inits, {
    weights,
    kernel: g.kernel,
    first: 0,
    depthStride: sd,
    outD,
    slabShape: [g.batch * outD, c.inChannels, inH, inW],
    planeStrides: [c.strides[1], c.strides[2]],
    planePads: [c.padBegin[1], c.padBegin[2], c.padEnd[1], c.padEnd[2]],
    prefix: '',
  });
  inits.push(int64('y_shape', shapes.y));
  node('ReorderOutput', [y], 'y_nhwc', [int('channels', c.outChannels), int('channels_last', 1)], NCHWC);
  node('Reshape', ['y_nhwc', 'y_shape'], 'y');
  return encodeConvModel(`voxshift-nchwc3d-${op}`, nodes, inits, shapes, [NCHWC]);
}

/**
 * A stride-2 3-D input gradient as eight stride-1 phase convolutions of dy (stridePhases), each as
 * blocked 2-D convolutions per depth tap over dy's slabs, interleaved into dx
 * ([N, Qd, 2, Qh, 2, Qw, 2, C] → [N, D, H, W, C]).
 */
function buildPhaseGraph(g: ConvGeometry, block: number): Uint8Array {
  const phases = stridePhases('backprop-input', g);
  if (phases === undefined) throw new Error('nchwc 3-D graph: no stride phases for this input gradient');
  const shapes = graphShapes('backprop-input', g);
  const { nodes, inits, node } = graphBuilder();
  const n = g.batch;
  const [co, ci] = [g.outChannels, g.inChannels]; // dy's and dx's channels
  const [, oh, ow] = g.outSize;
  const [qd, qh, qw] = phases[0].outSize;
  const padBefore = Math.max(...phases.map((p) => p.padBegin[0]));
  const padAfter = Math.max(...phases.map((p) => p.padEnd[0]));
  depthSlabs(node, inits, g.outSize, co, n, [padBefore, padAfter]);
  const w = flippedSwappedFilter(node, inits, g.kernel);
  inits.push(int64('ph_8d', [n, qd, 1, qh, 1, qw, 1, ci]));
  const rows: string[] = [];
  for (const p of phases) {
    const tag = `ph${p.phase.join('')}_`;
    const weights = blockedTapWeights(node, inits, phaseTaps(node, inits, w, p, tag), p.taps, co, ci, block, tag);
    const y = depthTapConvs(node, inits, {
      weights,
      kernel: p.taps,
      first: padBefore - p.padBegin[0],
      depthStride: 1,
      outD: qd,
      slabShape: [n * qd, co, oh, ow],
      planeStrides: [1, 1],
      planePads: [p.padBegin[1], p.padBegin[2], p.padEnd[1], p.padEnd[2]],
      prefix: tag,
    });
    node('ReorderOutput', [y], `${tag}y`, [int('channels', ci), int('channels_last', 1)], NCHWC);
    node('Reshape', [`${tag}y`, 'ph_8d'], `${tag}y8`);
    rows.push(`${tag}y8`);
  }
  interleavePhases(node, inits, rows, 3, shapes.y);
  return encodeConvModel('voxshift-nchwc3d-phases', nodes, inits, shapes, [NCHWC]);
}

/**
 * The filter gradient of a 3-D convolution with few input channels (a generator's or PatchGAN's first
 * layer; filterGradForm 'narrow-x') as one blocked 2-D convolution per depth tap: for tap t the input
 * slabs t + s·d and dy's slabs d pair up as the channels of a convolution — x as [Ci, N·Do, Hp, Wp]
 * (Ci samples), dy as an oh × ow filter [Co, N·Do, oh, ow] dilated by the plane strides — whose
 * kh × kw output is dW[t]. Needs N·Do and Co in whole blocks. Measured against the narrow-x graph
 * (shifted views + GEMM, 51 MB of columns per depth tap at 64³) in alternating runs: 2.8× for 7³ 1→16
 * at 64³, 2.3× at 32³.
 */
export function depthChannelsApplies(g: ConvGeometry, block: number): boolean {
  return g.dims === 3 && g.inChannels < NCHW_INPUT_BELOW && g.inChannels <= g.outChannels && (g.batch * g.outSize[0]) % block === 0 && g.outChannels % block === 0;
}

function buildDepthChannelsFilterGrad(g: ConvGeometry, block: number): Uint8Array {
  const shapes = graphShapes('backprop-filter', g);
  const { nodes, inits, node } = graphBuilder();
  const [kd, kh, kw] = g.kernel;
  const [oD, oh, ow] = g.outSize;
  const [n, ci, co] = [g.batch, g.inChannels, g.outChannels];
  const sd = g.strides[0];
  const padAfter = viewPadAfter(g);
  const [, hp, wp] = g.inSize.map((size, i) => size + g.padBegin[i] + padAfter[i]);
  // x [N, D, H, W, Ci] → [Ci, N, Dp, Hp, Wp], zero-padded
  node('Transpose', ['a'], 'x_cf', [ints('perm', [4, 0, 1, 2, 3])]);
  inits.push(int64('x_pads', [0, 0, ...g.padBegin, 0, 0, ...padAfter]));
  node('Pad', ['x_cf', 'x_pads'], 'x_pad');
  // dy [N, Do, oh, ow, Co] → OIHWBiBo [Co/B, N·Do/B, oh, ow, Bi, Bo] from [N·Do/B, Bi, oh·ow, Co/B, Bo]
  inits.push(int64('dy_split_shape', [(n * oD) / block, block, oh * ow, co / block, block]), int64('w_oihw', [co, n * oD, oh, ow]));
  node('Reshape', ['b', 'dy_split_shape'], 'dy_split');
  node('Transpose', ['dy_split'], 'dy_blocked', [ints('perm', [3, 0, 2, 1, 4])]);
  node('Reshape', ['dy_blocked', 'w_oihw'], 'w');
  inits.push(int64('depth_axis', [2]), int64('depth_step', [sd]), int64('slabs_4d', [ci, n * oD, hp, wp]));
  inits.push(int64('crop_s', [0, 0]), int64('crop_e', [kh, kw]), int64('crop_a', [1, 2]), int64('tap_shape', [1, kh, kw, ci, co]));
  const attrs = [ints('kernel_shape', [oh, ow]), ints('strides', [1, 1]), ints('dilations', [g.strides[1], g.strides[2]]), ints('pads', [0, 0, 0, 0]), int('group', 1)];
  const parts: string[] = [];
  for (let t = 0; t < kd; t++) {
    inits.push(int64(`d${t}_s`, [t]), int64(`d${t}_e`, [t + sd * (oD - 1) + 1]));
    node('Slice', ['x_pad', `d${t}_s`, `d${t}_e`, 'depth_axis', 'depth_step'], `x${t}_5d`);
    node('Reshape', [`x${t}_5d`, 'slabs_4d'], `x${t}`);
    node('ReorderInput', [`x${t}`], `x${t}_blocked`, [int('channels_last', 0)], NCHWC);
    node('Conv', [`x${t}_blocked`, 'w'], `dw${t}_blocked`, attrs, NCHWC);
    // [Ci, Ho, Wo, Co] (the padded input may reach past the last tap) → [1, kh, kw, Ci, Co]
    node('ReorderOutput', [`dw${t}_blocked`], `dw${t}_nhwc`, [int('channels', co), int('channels_last', 1)], NCHWC);
    node('Slice', [`dw${t}_nhwc`, 'crop_s', 'crop_e', 'crop_a'], `dw${t}_crop`);
    node('Transpose', [`dw${t}_crop`], `dw${t}_hwio`, [ints('perm', [1, 2, 0, 3])]);
    node('Reshape', [`dw${t}_hwio`, 'tap_shape'], `dw${t}`);
    parts.push(`dw${t}`);
  }
  nodes.push(concatNode(parts, 'y', 0));
  return encodeConvModel('voxshift-nchwc3d-depth-channels-filter-grad', nodes, inits, shapes, [NCHWC]);
}
