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
 * and pads k − 1 − p, so it runs on these kernels too, and a stride-2 one as four such convolutions
 * (stridePhases) — which is also a generator's up-sampling (tfjs's conv2dTranspose is this kernel).
 */
import onnxProto from 'onnx-proto';
import { int, int64Tensor as int64, ints } from '../../export/onnx-export.ts';
import { encodeConvModel, graphShapes, viewPadAfter, type ConvGeometry, type ConvOp } from './conv-graphs.ts';

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
 * Whether `op` on `g` runs on the blocked kernels with block size `block`: 2-D, forward, stride-1
 * input gradient or stride-2 input gradient by phases (stridePhases), input channels a multiple of the
 * block (or fewer than 8), and output channels at least a block (padding 1 output channel to 16 would
 * multiply the work by 16).
 */
export function nchwcApplies(op: ConvOp, g: ConvGeometry, block: number): boolean {
  if (block < 4 || g.dims !== 2) return false;
  if (op === 'backprop-filter') return swappedFilterGradApplies(g, block);
  if (directConv(op, g) === undefined && stridePhases(op, g) === undefined) return false;
  const [inC, outC] = op === 'forward' ? [g.inChannels, g.outChannels] : [g.outChannels, g.inChannels];
  const inOk = inC < NCHW_INPUT_BELOW || inC % block === 0;
  return inOk && outC >= block;
}

/**
 * A stride-2 input gradient as 2^dims stride-1 convolutions of dy, one per output phase (the parity
 * of dx's index along each axis): phase a of an axis gathers the taps t ≡ (a + pb) mod 2, J = ⌈(k − r)/2⌉
 * of them, so with k = 3 a 2-D gradient's phases hold 2×2, 2×1, 1×2 and 1×1 taps, the flipped
 * filter's every other tap. Their outputs interleave into dx (reshape, concat, reshape). For even
 * input sizes only, and when no phase would need a negative pad; undefined otherwise.
 */
export interface StridePhase {
  /** dx's parity per axis. */
  phase: number[];
  /** First tap of the flipped filter (step 2) and the number of taps, per axis. */
  tapStart: number[];
  taps: number[];
  padBegin: number[];
  padEnd: number[];
  /** dx rows per axis in this phase (half the input size). */
  outSize: number[];
}

export function stridePhases(op: ConvOp, g: ConvGeometry): StridePhase[] | undefined {
  if (op !== 'backprop-input') return undefined;
  if (!g.strides.every((s) => s === 2) || !g.dilations.every((d) => d === 1)) return undefined;
  if (g.inSize.some((n) => n % 2 !== 0) || g.kernel.some((k) => k < 2)) return undefined;
  const axis = (i: number, a: number): { tapStart: number; taps: number; padBegin: number; padEnd: number; outSize: number } => {
    const [k, pb, q] = [g.kernel[i], g.padBegin[i], g.inSize[i] / 2];
    const r = (a + pb) % 2;
    const taps = Math.ceil((k - r) / 2);
    const padBegin = taps - 1 - Math.floor((a + pb) / 2);
    return { tapStart: (k - 1 - r) % 2, taps, padBegin, padEnd: q - (g.outSize[i] + padBegin - taps + 1), outSize: q };
  };
  const phases: StridePhase[] = [];
  // Every parity combination, the last axis fastest: [0,0], [0,1], [1,0], [1,1] (and [0,0,0] … in 3-D).
  for (let code = 0; code < 2 ** g.dims; code++) {
    const phase = g.kernel.map((_, i) => (code >> (g.dims - 1 - i)) & 1);
    const axes = phase.map((a, i) => axis(i, a));
    if (axes.some((x) => x.padBegin < 0 || x.padEnd < 0)) return undefined;
    phases.push({
      phase,
      tapStart: axes.map((x) => x.tapStart),
      taps: axes.map((x) => x.taps),
      padBegin: axes.map((x) => x.padBegin),
      padEnd: axes.map((x) => x.padEnd),
      outSize: axes.map((x) => x.outSize),
    });
  }
  return phases;
}

export type AddNode = (opType: string, input: string[], output: string, attribute?: InstanceType<typeof onnx.AttributeProto>[], domain?: string) => void;

/** The nodes and initializers of a graph being built, and the function that adds a node. */
export function graphBuilder(): { nodes: Node[]; inits: Tensor[]; node: AddNode } {
  const nodes: Node[] = [];
  const inits: Tensor[] = [];
  const node: AddNode = (opType, input, output, attribute = [], domain = '') => {
    nodes.push(onnx.NodeProto.create({ opType, input, output: [output], attribute, domain }));
  };
  return { nodes, inits, node };
}

/**
 * The filter input `b` ([...kernel, in, out]) flipped along every spatial axis with in and out
 * swapped — the direct convolution of an input gradient; returns its name (`w_swap`).
 */
export function flippedSwappedFilter(add: AddNode, inits: Tensor[], kernel: readonly number[]): string {
  const d = kernel.length;
  const axes = kernel.map((_, i) => i);
  inits.push(int64('flip_s', axes.map(() => -1)), int64('flip_e', kernel.map((k) => -(k + 1))), int64('flip_a', axes), int64('flip_st', axes.map(() => -1)));
  add('Slice', ['b', 'flip_s', 'flip_e', 'flip_a', 'flip_st'], 'w_flip');
  add('Transpose', ['w_flip'], 'w_swap', [ints('perm', [...axes, d + 1, d])]);
  return 'w_swap';
}

/** Phase p's taps of a flipped filter (`filter`, spatial axes first): every other tap from tapStart; returns the name. */
export function phaseTaps(add: AddNode, inits: Tensor[], filter: string, p: StridePhase, tag: string): string {
  const axes = p.taps.map((_, i) => i);
  inits.push(int64(`${tag}s`, p.tapStart), int64(`${tag}e`, p.tapStart.map((t, i) => t + 2 * (p.taps[i] - 1) + 1)));
  inits.push(int64(`${tag}axes`, axes), int64(`${tag}steps`, axes.map(() => 2)));
  add('Slice', [filter, `${tag}s`, `${tag}e`, `${tag}axes`, `${tag}steps`], `${tag}subfilter`);
  return `${tag}subfilter`;
}

/**
 * dx from its phases' outputs, each reshaped to [N, q1, 1, q2, 1, …, C] and listed with the last
 * axis's parity fastest (stridePhases' order): concatenated pairwise along the last parity axis, then
 * the one before, … → [N, q1, 2, q2, 2, …, C], reshaped to `shape`; returns the name.
 */
export function interleavePhases(add: AddNode, inits: Tensor[], rows: string[], dims: number, shape: readonly number[]): string {
  let level = rows;
  for (let axis = 2 * dims; axis >= 2; axis -= 2) {
    const next: string[] = [];
    for (let i = 0; i < level.length; i += 2) {
      next.push(`il${axis}_${i / 2}`);
      add('Concat', [level[i], level[i + 1]], `il${axis}_${i / 2}`, [int('axis', axis)]);
    }
    level = next;
  }
  inits.push(int64('dx_shape', shape));
  add('Reshape', [level[0], 'dx_shape'], 'y');
  return 'y';
}

/**
 * The blocked weight (OIHWBiBo, or OIHWBo for NCHW input) of a direct convolution from its filter in
 * HWIO (`hwio`, [kh, kw, in, out]), output channels padded to the block; returns its name.
 */
function blockedWeight(add: AddNode, inits: Tensor[], hwio: string, kernel: number[], inChannels: number, outChannels: number, block: number, prefix: string): string {
  const [kh, kw] = kernel;
  const outPadded = roundUp(outChannels, block);
  let w = hwio;
  if (outPadded !== outChannels) {
    inits.push(int64(`${prefix}pads`, [0, 0, 0, 0, 0, 0, 0, outPadded - outChannels]));
    add('Pad', [w, `${prefix}pads`], `${prefix}pad`);
    w = `${prefix}pad`;
  }
  const outBlocks = outPadded / block;
  if (inChannels < NCHW_INPUT_BELOW) {
    // OIHWBo: [outBlocks, in, kh, kw, Bo] from [kh·kw, in, outBlocks, Bo].
    inits.push(int64(`${prefix}5d`, [kh * kw, inChannels, outBlocks, block]));
    add('Reshape', [w, `${prefix}5d`], `${prefix}split`);
    add('Transpose', [`${prefix}split`], `${prefix}blocked`, [ints('perm', [2, 1, 0, 3])]);
  } else {
    // OIHWBiBo: [outBlocks, inBlocks, kh, kw, Bi, Bo] from [kh·kw, inBlocks, Bi, outBlocks, Bo].
    inits.push(int64(`${prefix}5d`, [kh * kw, inChannels / block, block, outBlocks, block]));
    add('Reshape', [w, `${prefix}5d`], `${prefix}split`);
    add('Transpose', [`${prefix}split`], `${prefix}blocked`, [ints('perm', [3, 1, 0, 2, 4])]);
  }
  inits.push(int64(`${prefix}oihw`, [outPadded, inChannels, kh, kw]));
  add('Reshape', [`${prefix}blocked`, `${prefix}oihw`], `${prefix}w`);
  return `${prefix}w`;
}

export function buildNchwcConvGraph(op: ConvOp, g: ConvGeometry, block: number): Uint8Array {
  if (!nchwcApplies(op, g, block)) throw new Error(`nchwc graph: ${op} of this geometry is not supported`);
  if (op === 'backprop-filter') return buildSwappedFilterGradGraph(g, block);
  const c = directConv(op, g);
  const phases = c === undefined ? stridePhases(op, g) : undefined;
  const shapes = graphShapes(op, g);
  // The direct convolution(s) read dy for an input gradient: in/out channels swapped.
  const [inC, outC] = op === 'forward' ? [g.inChannels, g.outChannels] : [g.outChannels, g.inChannels];
  const nchwInput = inC < NCHW_INPUT_BELOW;
  const { nodes, inits, node: add } = graphBuilder();

  // Filter in HWIO of the direct convolution: tfjs's [kh, kw, in, out], or for the input gradient
  // flipped in both spatial axes with in and out swapped.
  const hwio = op === 'backprop-input' ? flippedSwappedFilter(add, inits, g.kernel) : 'b';
  const x = nchwInput ? 'x_nchw' : 'x_blocked';
  if (nchwInput) add('Transpose', ['a'], x, [ints('perm', [0, 3, 1, 2])]);
  else add('ReorderInput', ['a'], x, [int('channels_last', 1)], NCHWC);
  const conv = (w: string, kernel: number[], pads: number[], out: string, strides = [1, 1], dilations = [1, 1]): void => {
    const attrs = [ints('kernel_shape', kernel), ints('strides', strides), ints('dilations', dilations), ints('pads', pads), int('group', 1)];
    add('Conv', [x, w], `${out}_blocked`, attrs, NCHWC);
    add('ReorderOutput', [`${out}_blocked`], out, [int('channels', outC), int('channels_last', 1)], NCHWC);
  };

  if (c !== undefined) {
    conv(blockedWeight(add, inits, hwio, g.kernel, inC, outC, block, 'w_'), g.kernel, [...c.padBegin, ...c.padEnd], 'y', c.strides, c.dilations);
  } else if (phases !== undefined) {
    // Each phase's taps, its direct convolution, and dx[2q + a] = phase_a[q] by interleaving.
    const [qh, qw] = phases[0].outSize;
    inits.push(int64('ph_6d', [g.batch, qh, 1, qw, 1, outC]));
    const rows: string[] = [];
    for (const p of phases) {
      const tag = `ph${p.phase.join('')}_`;
      const w = blockedWeight(add, inits, phaseTaps(add, inits, hwio, p, tag), p.taps, inC, outC, block, tag);
      conv(w, p.taps, [...p.padBegin, ...p.padEnd], `${tag}y`);
      add('Reshape', [`${tag}y`, 'ph_6d'], `${tag}y6`);
      rows.push(`${tag}y6`);
    }
    interleavePhases(add, inits, rows, 2, shapes.y);
  }
  return encodeConvModel(`voxshift-nchwc-${op}`, nodes, inits, shapes, [NCHWC]);
}

/** Output positions from which, and channel products up to which, the swapped filter gradient pays. */
const SWAPPED_MIN_POSITIONS = 1024;
const SWAPPED_MAX_CHANNEL_PRODUCT = 64 * 64;

/**
 * Whether a 2-D filter gradient runs as one blocked convolution with batch and channels swapped
 * (buildSwappedFilterGradGraph): output channels in blocks, at least 8 input channels (fewer keep the
 * narrow-x graph), a batch below 8 (it becomes the channel count of an NCHW input), dilation 1, and
 * large maps with few channels — measured per layer against im2col in alternating same-process runs
 * (this machine is noisy: several runs each): 1.15–1.6× at 3×3 32→64 stride 2 at 128², 1.4–1.6× at
 * 3×3 64→64 at 64², 1.3–1.4× at 32→32 at 32² batch 2; but 0.8–1.2× (noise) at 1024 positions with
 * 8192–16384 channel pairs and 0.6–0.7× at 256 positions, which keep im2col.
 */
export function swappedFilterGradApplies(g: ConvGeometry, block: number): boolean {
  if (block < 4 || g.dims !== 2 || g.batch >= NCHW_INPUT_BELOW || g.dilations.some((d) => d !== 1)) return false;
  if (g.outChannels % block !== 0 || g.inChannels < NCHW_INPUT_BELOW) return false;
  return g.outSize[0] * g.outSize[1] >= SWAPPED_MIN_POSITIONS && g.inChannels * g.outChannels <= SWAPPED_MAX_CHANNEL_PRODUCT;
}

/**
 * dW[th, tw, ci, co] = Σ_{n,h,w} x_pad[n, s·h + th, s·w + tw, ci] · dy[n, h, w, co] is a convolution of
 * x_pad with channels and batch swapped ([Ci, N, Hp, Wp]: N input channels, Ci samples) by dy as an
 * oh × ow filter ([Co, N, oh, ow], dilation s), whose kh × kw output is dW: MLAS's blocked kernel with
 * NCHW input computes it without an im2col.
 */
function buildSwappedFilterGradGraph(g: ConvGeometry, block: number): Uint8Array {
  const shapes = graphShapes('backprop-filter', g);
  const [kh, kw] = g.kernel;
  const [oh, ow] = g.outSize;
  const n = g.batch;
  const co = g.outChannels;
  const { nodes, inits, node: add } = graphBuilder();
  const padAfter = viewPadAfter(g);
  inits.push(int64('x_pads', [0, g.padBegin[0], g.padBegin[1], 0, 0, padAfter[0], padAfter[1], 0]));
  add('Pad', ['a', 'x_pads'], 'x_pad');
  add('Transpose', ['x_pad'], 'x_swapped', [ints('perm', [3, 0, 1, 2])]);
  // dy [N, oh, ow, Co] → OIHWBo [Co/B, N, oh, ow, B] from [N, oh·ow, Co/B, B]
  inits.push(int64('dy_4d', [n, oh * ow, co / block, block]), int64('w_oihw', [co, n, oh, ow]));
  add('Reshape', ['b', 'dy_4d'], 'dy_split');
  add('Transpose', ['dy_split'], 'dy_blocked', [ints('perm', [2, 0, 1, 3])]);
  add('Reshape', ['dy_blocked', 'w_oihw'], 'w');
  const attrs = [ints('kernel_shape', [oh, ow]), ints('strides', [1, 1]), ints('dilations', g.strides), ints('pads', [0, 0, 0, 0]), int('group', 1)];
  add('Conv', ['x_swapped', 'w'], 'dw_blocked', attrs, NCHWC);
  add('ReorderOutput', ['dw_blocked'], 'dw_nchw', [int('channels', co), int('channels_last', 0)], NCHWC);
  // [Ci, Co, ≥kh, ≥kw] (the padded input may reach past the last tap) → [kh, kw, Ci, Co]
  inits.push(int64('crop_s', [0, 0]), int64('crop_e', [kh, kw]), int64('crop_a', [2, 3]));
  add('Slice', ['dw_nchw', 'crop_s', 'crop_e', 'crop_a'], 'dw_cico');
  add('Transpose', ['dw_cico'], 'y', [ints('perm', [2, 3, 0, 1])]);
  return encodeConvModel('voxshift-nchwc-swapped-filter-grad', nodes, inits, shapes, [NCHWC]);
}

/**
 * A graph that reorders a 4-channel NCHW tensor (its smallest) into blocks: its output has `block` channels, which
 * is how the engine learns MLAS's block size on this CPU (8 with AVX2, 16 with AVX-512).
 */
export function blockSizeProbeGraph(): Uint8Array {
  const reorder = onnx.NodeProto.create({ opType: 'ReorderInput', input: ['a'], output: ['y'], attribute: [int('channels_last', 0)], domain: NCHWC });
  return encodeConvModel('voxshift-nchwc-probe', [reorder], [], { a: [1, 4, 1, 1] }, [NCHWC]);
}
