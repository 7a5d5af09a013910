/**
 * Single-operation ONNX graphs for the convolutions of a training step, channels-last in and out (as
 * tfjs keeps its tensors), run by onnxruntime's CPU kernels (MLAS: AVX2/AVX-512 GEMMs, which the wasm
 * backend's 128-bit SIMD cannot match):
 * - forward: Conv between two Transposes;
 * - input gradient: ConvTranspose with the forward convolution's pads and an output padding that
 *   restores the input's exact size;
 * - filter gradient: the padded input's stride-s views for every kernel tap, concatenated along channels
 *   (an im2col) and multiplied with dy by one Gemm per depth tap: dW[taps·Ci, Co] = colsᵀ · dy; on
 *   larger 3-D maps the views of the plane taps only, once per depth-stride parity, times dy shifted
 *   by each depth tap (filterGradientOuterShifted);
 *   where one side has few channels (a network's first or last layer) the shifted views are taken of
 *   that narrow side only, channels-first, so the columns hold taps·C_narrow rows instead of
 *   taps·Ci columns per position and need no interleaving (see filterGradForm).
 * Filters stay in tfjs's [...kernel, in, out] layout; graph inputs are named `a`, `b`, the output `y`.
 */
import onnxProto from 'onnx-proto';
import { int, int64Tensor as int64, ints } from '../../export/onnx-export.ts';

const { onnx } = onnxProto;
type Node = InstanceType<typeof onnx.NodeProto>;
type Tensor = InstanceType<typeof onnx.TensorProto>;
const FLOAT = onnx.TensorProto.DataType.FLOAT;

/** One convolution's geometry (dilation 1 for the gradients), channels-last. */
export interface ConvGeometry {
  dims: 2 | 3;
  batch: number;
  /** Input spatial size, [H, W] or [D, H, W]. */
  inSize: number[];
  outSize: number[];
  kernel: number[];
  strides: number[];
  dilations: number[];
  padBegin: number[];
  padEnd: number[];
  inChannels: number;
  outChannels: number;
}

export type ConvOp = 'forward' | 'backprop-input' | 'backprop-filter';

export function geometryKey(op: ConvOp, g: ConvGeometry): string {
  return [op, g.batch, g.inSize, g.outSize, g.kernel, g.strides, g.dilations, g.padBegin, g.padEnd, g.inChannels, g.outChannels].join('|');
}

const prod = (v: readonly number[]): number => v.reduce((a, b) => a * b, 1);

/** Shapes of the graph's inputs and output (channels-last; filters [...kernel, in, out]). */
export function graphShapes(op: ConvOp, g: ConvGeometry): { a: number[]; b: number[]; y: number[] } {
  const x = [g.batch, ...g.inSize, g.inChannels];
  const dy = [g.batch, ...g.outSize, g.outChannels];
  const w = [...g.kernel, g.inChannels, g.outChannels];
  if (op === 'forward') return { a: x, b: w, y: dy };
  if (op === 'backprop-input') return { a: dy, b: w, y: x };
  return { a: x, b: dy, y: w };
}

/**
 * The output padding that makes ConvTranspose return the input's size, per axis, or undefined when
 * none in [0, stride) does (input rows the forward convolution never read — left to the wasm kernels).
 */
export function outputPadding(g: ConvGeometry): number[] | undefined {
  const op = g.inSize.map((n, i) => n - ((g.outSize[i] - 1) * g.strides[i] + (g.kernel[i] - 1) * g.dilations[i] + 1 - g.padBegin[i] - g.padEnd[i]));
  return op.every((p, i) => p >= 0 && p < Math.max(g.strides[i], g.dilations[i])) ? op : undefined;
}

/**
 * Padding after the input along each spatial axis so that every kernel tap's strided view over the
 * output positions fits: (out − 1)·s + k rows after the begin padding (0 where the input already has them).
 */
export function viewPadAfter(g: ConvGeometry): number[] {
  return g.inSize.map((n, i) => Math.max(0, (g.outSize[i] - 1) * g.strides[i] + g.kernel[i] - n - g.padBegin[i]));
}

/** Below this many channels on one side, the filter gradient shifts that side only (see filterGradForm). */
export const NARROW_CHANNELS = 8;

/**
 * How the filter gradient graph builds its columns, a function of the geometry only:
 * - 'narrow-x' (few input channels, any stride): rows (tap, ci) of x's stride-s views over the output
 *   positions, times dy [positions, Co];
 * - 'narrow-dy' (few output channels, stride 1): rows (tap, co) of dy's views shifted back by each tap
 *   over the input positions, times x [positions, Ci] — dW[t, ci, co] = Σ_q x[q, ci]·dy[q + pb − t, co];
 * - 'im2col' otherwise.
 */
export function filterGradForm(g: ConvGeometry): FilterGradForm {
  if (g.inChannels < NARROW_CHANNELS && g.inChannels <= g.outChannels) return 'narrow-x';
  if (g.outChannels < NARROW_CHANNELS && g.strides.every((s) => s === 1)) return 'narrow-dy';
  const [k0, s0, o0] = [g.kernel[0], g.strides[0], g.outSize[0]];
  // The outer-shifted GEMMs run over o0 + J − 1 outer slices: worth it with little of that extra and
  // enough positions that the extra nodes do not dominate. Measured per layer in alternating runs
  // (three each): 3-D 3³ 64→64 at 16³ 1.18–1.30×, 4³ 64→128 stride 2 at 32³ 1.07–1.13×; 4³ 256→512
  // at 8³ (512 positions) 0.8–0.9×; 2-D layers within the noise (0.92–1.21×), so 2-D keeps im2col.
  const taps = Math.ceil(k0 / s0);
  if (g.dims === 3 && prod(g.outSize) >= OUTER_SHIFT_MIN_POSITIONS && (o0 + taps - 1) / o0 <= OUTER_SHIFT_MAX_EXTRA) return 'outer-shifted';
  return 'im2col';
}

export type FilterGradForm = 'im2col' | 'outer-shifted' | 'narrow-x' | 'narrow-dy';
const OUTER_SHIFT_MIN_POSITIONS = 1024;
const OUTER_SHIFT_MAX_EXTRA = 1.2;

/**
 * `narrowInput`: a forward convolution with few input channels, or a stride-1 input gradient with few
 * output channels, as shifted views of that narrow operand (x, or dy) and one Gemm per depth tap that
 * adds into the previous one — no im2col of the wide side (see narrowInputConv).
 */
export function buildConvGraph(op: ConvOp, g: ConvGeometry, narrowInput = false): Uint8Array {
  const shapes = graphShapes(op, g);
  const nodes: Node[] = [];
  const inits: Tensor[] = [];
  const toFirst = [0, g.dims + 1, ...range(1, g.dims + 1)];
  const toLast = [0, ...range(2, g.dims + 2), 1];
  const filterToOi = [g.dims + 1, g.dims, ...range(0, g.dims)];
  const transpose = (input: string, output: string, perm: number[]): void => {
    nodes.push(onnx.NodeProto.create({ opType: 'Transpose', input: [input], output: [output], attribute: [ints('perm', perm)] }));
  };
  const convAttrs = [
    ints('kernel_shape', g.kernel),
    ints('strides', g.strides),
    ints('dilations', g.dilations),
    ints('pads', [...g.padBegin, ...g.padEnd]),
  ];
  if (narrowInput && op !== 'backprop-filter') {
    narrowInputConv(g, op === 'forward', nodes, inits);
  } else if (op === 'forward' || op === 'backprop-input') {
    transpose('a', 'a_cf', toFirst);
    transpose('b', 'w_oi', filterToOi);
    const attrs = op === 'forward' ? convAttrs : [...convAttrs, ints('output_padding', outputPadding(g) ?? g.inSize.map(() => 0))];
    nodes.push(onnx.NodeProto.create({ opType: op === 'forward' ? 'Conv' : 'ConvTranspose', input: ['a_cf', 'w_oi'], output: ['y_cf'], attribute: attrs }));
    transpose('y_cf', 'y', toLast);
  } else if (filterGradForm(g) === 'im2col') {
    filterGradientIm2col(g, nodes, inits);
  } else if (filterGradForm(g) === 'outer-shifted') {
    filterGradientOuterShifted(g, nodes, inits);
  } else {
    narrowFilterGradient(g, filterGradForm(g) === 'narrow-x', nodes, inits);
  }
  return encodeConvModel(`voxshift-${op}`, nodes, inits, shapes);
}

/** The encoded model of a convolution graph: inputs `a`, `b` and output `y` of the given shapes (y's unset when omitted). */
export function encodeConvModel(
  name: string,
  nodes: Node[],
  inits: Tensor[],
  shapes: { a: readonly number[]; b?: readonly number[]; y?: readonly number[] },
  domains: readonly string[] = [],
): Uint8Array {
  const graph = onnx.GraphProto.create({
    name,
    node: nodes,
    initializer: inits,
    input: [valueInfo('a', shapes.a), ...(shapes.b !== undefined ? [valueInfo('b', shapes.b)] : [])],
    output: [valueInfo('y', shapes.y)],
  });
  const opsetImport = [{ domain: '', version: 13 }, ...domains.map((domain) => ({ domain, version: 1 }))];
  return onnx.ModelProto.encode(onnx.ModelProto.create({ irVersion: 7, opsetImport, producerName: 'voxshift', graph })).finish();
}

/** dW = Σ over output positions of x_pad[tap view] ⊗ dy, as im2col + Gemm per depth tap. */
function filterGradientIm2col(g: ConvGeometry, nodes: Node[], inits: Tensor[]): void {
  const d = g.dims;
  const rows = g.batch * prod(g.outSize);
  const padAfter = viewPadAfter(g);
  inits.push(int64('pads', [0, ...g.padBegin, 0, 0, ...padAfter, 0]));
  nodes.push(onnx.NodeProto.create({ opType: 'Pad', input: ['a', 'pads'], output: ['x_pad'] }));
  inits.push(int64('rows_dy', [rows, g.outChannels]));
  nodes.push(onnx.NodeProto.create({ opType: 'Reshape', input: ['b', 'rows_dy'], output: ['dy_2d'] }));
  const spatialAxes = range(1, d + 1);
  inits.push(int64('axes', spatialAxes), int64('steps', g.strides));
  const planeTaps = d === 3 ? g.kernel[1] * g.kernel[2] : g.kernel[0] * g.kernel[1];
  inits.push(int64('rows_cols', [rows, planeTaps * g.inChannels]));
  const depthTaps = d === 3 ? g.kernel[0] : 1;
  const parts: string[] = [];
  for (let t = 0; t < depthTaps; t++) {
    const views: string[] = [];
    for (let p = 0; p < planeTaps; p++) {
      const tap = d === 3 ? [t, Math.floor(p / g.kernel[2]), p % g.kernel[2]] : [Math.floor(p / g.kernel[1]), p % g.kernel[1]];
      const name = `v${t}_${p}`;
      inits.push(int64(`${name}_s`, tap), int64(`${name}_e`, tap.map((k, i) => k + (g.outSize[i] - 1) * g.strides[i] + 1)));
      nodes.push(onnx.NodeProto.create({ opType: 'Slice', input: ['x_pad', `${name}_s`, `${name}_e`, 'axes', 'steps'], output: [name] }));
      views.push(name);
    }
    const cols = `cols${t}`;
    nodes.push(concatNode(views, `${cols}_nd`, d + 1));
    nodes.push(onnx.NodeProto.create({ opType: 'Reshape', input: [`${cols}_nd`, 'rows_cols'], output: [cols] }));
    nodes.push(onnx.NodeProto.create({ opType: 'Gemm', input: [cols, 'dy_2d'], output: [`dw${t}`], attribute: [int('transA', 1)] }));
    parts.push(`dw${t}`);
  }
  nodes.push(concatNode(parts, 'dw', 0));
  inits.push(int64('w_shape', [...g.kernel, g.inChannels, g.outChannels]));
  nodes.push(onnx.NodeProto.create({ opType: 'Reshape', input: ['dw', 'w_shape'], output: ['y'] }));
}

/**
 * dW = Σ over output positions of x_pad[tap view] ⊗ dy, with the columns built for the inner axes'
 * taps only. Along the outer axis (H in 2-D, D in 3-D) tap t = π + s·j of stride parity π reads
 * x_pad's outer slice π + s·(d + j) for output slice d: so the views of parity π span M = Do + J − 1
 * outer slices once, and dy is shifted instead — zero-padded by j before and J − 1 − j after, one copy
 * per tap j, side by side as the GEMM's columns:
 *   [inner taps·Ci, rows] · [rows, J·Co] = all J outer taps of parity π in one GEMM
 * (an im2col over every tap would copy x k_outer times over; this copies it once per parity, and dy,
 * the smaller operand in every layer taking this form, J times).
 */
function filterGradientOuterShifted(g: ConvGeometry, nodes: Node[], inits: Tensor[]): void {
  const d = g.dims;
  const add = (opType: string, input: string[], output: string, attribute: InstanceType<typeof onnx.AttributeProto>[] = []): void => {
    nodes.push(onnx.NodeProto.create({ opType, input, output: [output], attribute }));
  };
  const padAfter = viewPadAfter(g);
  inits.push(int64('pads', [0, ...g.padBegin, 0, 0, ...padAfter, 0]));
  add('Pad', ['a', 'pads'], 'x_pad');
  const [k0, s0, o0] = [g.kernel[0], g.strides[0], g.outSize[0]];
  const innerKernel = g.kernel.slice(1);
  const innerTaps = prod(innerKernel);
  const innerOut = g.outSize.slice(1);
  inits.push(int64('axes', range(1, d + 1)), int64('steps', g.strides));
  if (s0 > 1) inits.push(int64('zero', [0]));
  // dW of each outer tap, in tap order ([1 or J, innerTaps·Ci, Co] each)
  const byTap: string[] = [];
  for (let parity = 0; parity < Math.min(s0, k0); parity++) {
    const taps = Math.ceil((k0 - parity) / s0);
    const span = o0 + taps - 1;
    const rows = g.batch * span * prod(innerOut);
    const p = `p${parity}_`;
    const views: string[] = [];
    for (let q = 0; q < innerTaps; q++) {
      const inner = d === 3 ? [Math.floor(q / g.kernel[2]), q % g.kernel[2]] : [q];
      const start = [parity, ...inner];
      const end = [parity + s0 * (span - 1) + 1, ...inner.map((t, i) => t + (innerOut[i] - 1) * g.strides[i + 1] + 1)];
      inits.push(int64(`${p}v${q}_s`, start), int64(`${p}v${q}_e`, end));
      add('Slice', ['x_pad', `${p}v${q}_s`, `${p}v${q}_e`, 'axes', 'steps'], `${p}v${q}`);
      views.push(`${p}v${q}`);
    }
    nodes.push(concatNode(views, `${p}cols_nd`, d + 1));
    inits.push(int64(`${p}cols_2d`, [rows, innerTaps * g.inChannels]));
    add('Reshape', [`${p}cols_nd`, `${p}cols_2d`], `${p}cols`);
    // dy zero-padded by j outer slices before and J − 1 − j after, for each tap j of the parity
    const shifted = range(0, taps).map((j) => {
      if (taps === 1) return 'b';
      const pads = new Array<number>(2 * (d + 2)).fill(0);
      pads[1] = j;
      pads[d + 2 + 1] = taps - 1 - j;
      inits.push(int64(`${p}dy${j}_pads`, pads));
      add('Pad', ['b', `${p}dy${j}_pads`], `${p}dy${j}`);
      return `${p}dy${j}`;
    });
    nodes.push(concatNode(shifted, `${p}dys_nd`, d + 1));
    inits.push(int64(`${p}dys_2d`, [rows, taps * g.outChannels]));
    add('Reshape', [`${p}dys_nd`, `${p}dys_2d`], `${p}dys`);
    add('Gemm', [`${p}cols`, `${p}dys`], `${p}dw`, [int('transA', 1)]);
    // [innerTaps·Ci, J·Co] → [J, innerTaps·Ci, Co]
    inits.push(int64(`${p}dw_3d`, [innerTaps * g.inChannels, taps, g.outChannels]));
    add('Reshape', [`${p}dw`, `${p}dw_3d`], `${p}dw3`);
    add('Transpose', [`${p}dw3`], `${p}dw_taps`, [ints('perm', [1, 0, 2])]);
    if (s0 === 1) {
      byTap.push(`${p}dw_taps`); // the one parity holds every tap, in order
      continue;
    }
    for (let j = 0; j < taps; j++) {
      // tap parity + s0·j
      inits.push(int64(`${p}t${j}_s`, [j]), int64(`${p}t${j}_e`, [j + 1]));
      add('Slice', [`${p}dw_taps`, `${p}t${j}_s`, `${p}t${j}_e`, 'zero'], `${p}t${j}`);
      byTap[parity + s0 * j] = `${p}t${j}`;
    }
  }
  nodes.push(concatNode(byTap, 'dw', 0));
  inits.push(int64('w_shape', [...g.kernel, g.inChannels, g.outChannels]));
  add('Reshape', ['dw', 'w_shape'], 'y');
}

/**
 * Filter gradient with the shifted views taken of the narrow side only (see filterGradForm), one MatMul
 * per depth tap: [planeTaps·Cn, positions] · [positions, Cw].
 */
function narrowFilterGradient(g: ConvGeometry, narrowX: boolean, nodes: Node[], inits: Tensor[]): void {
  const d = g.dims;
  const cn = narrowX ? g.inChannels : g.outChannels;
  const cw = narrowX ? g.outChannels : g.inChannels;
  const { lo, span, positions } = padNarrowOperand(g, narrowX, narrowX ? 'a' : 'b', cn, nodes, inits);
  inits.push(int64('rows_wide', [positions, cw]));
  nodes.push(onnx.NodeProto.create({ opType: 'Reshape', input: [narrowX ? 'b' : 'a', 'rows_wide'], output: ['wide'] }));
  const depthTaps = d === 3 ? g.kernel[0] : 1;
  const parts: string[] = [];
  for (let t = 0; t < depthTaps; t++) {
    const cols = narrowTapColumns(g, t, narrowX, lo, span, nodes, inits);
    nodes.push(onnx.NodeProto.create({ opType: 'MatMul', input: [cols, 'wide'], output: [`dw${t}`] }));
    parts.push(`dw${t}`);
  }
  const all = narrowX ? 'dw' : 'dw_tco';
  nodes.push(concatNode(parts, all, 0));
  if (!narrowX) {
    // rows (tap, co) × ci → (tap, ci, co)
    inits.push(int64('tco_shape', [prod(g.kernel), g.outChannels, g.inChannels]));
    nodes.push(onnx.NodeProto.create({ opType: 'Reshape', input: [all, 'tco_shape'], output: ['dw_tco3'] }));
    nodes.push(onnx.NodeProto.create({ opType: 'Transpose', input: ['dw_tco3'], output: ['dw'], attribute: [ints('perm', [0, 2, 1])] }));
  }
  inits.push(int64('w_shape', [...g.kernel, g.inChannels, g.outChannels]));
  nodes.push(onnx.NodeProto.create({ opType: 'Reshape', input: ['dw', 'w_shape'], output: ['y'] }));
}

/**
 * y[p, co] = Σ_t Σ_ci x[p·s + t − pb, ci]·W[t, ci, co] (forward, x narrow) or
 * dx[q, ci] = Σ_t Σ_co dy[q + pb − t, co]·W[t, ci, co] (stride-1 input gradient, dy narrow): rows
 * (planeTap, c_narrow) of the narrow operand's shifted views, [rows, positions], then per depth tap
 * Gemm(viewsᵀ, W_t) + the previous depth tap's sum, channels-last out.
 */
function narrowInputConv(g: ConvGeometry, forward: boolean, nodes: Node[], inits: Tensor[]): void {
  const d = g.dims;
  const cn = forward ? g.inChannels : g.outChannels;
  const cw = forward ? g.outChannels : g.inChannels;
  const taps = prod(g.kernel);
  const planeTaps = d === 3 ? g.kernel[1] * g.kernel[2] : g.kernel[0] * g.kernel[1];
  const depthTaps = d === 3 ? g.kernel[0] : 1;
  // Same views as the filter gradient's narrow-x (x) and narrow-dy (dy) forms.
  const { lo, span } = padNarrowOperand(g, forward, 'a', cn, nodes, inits);
  // W as [depthTap, planeTap·c_narrow, c_wide]: the forward's own layout, or (t, co, ci) for dy.
  if (forward) {
    inits.push(int64('w_rows', [depthTaps, planeTaps * cn, cw]));
    nodes.push(onnx.NodeProto.create({ opType: 'Reshape', input: ['b', 'w_rows'], output: ['w_t'] }));
  } else {
    inits.push(int64('w_tio', [taps, g.inChannels, g.outChannels]), int64('w_rows', [depthTaps, planeTaps * cn, cw]));
    nodes.push(onnx.NodeProto.create({ opType: 'Reshape', input: ['b', 'w_tio'], output: ['w_tio3'] }));
    nodes.push(onnx.NodeProto.create({ opType: 'Transpose', input: ['w_tio3'], output: ['w_toi'], attribute: [ints('perm', [0, 2, 1])] }));
    nodes.push(onnx.NodeProto.create({ opType: 'Reshape', input: ['w_toi', 'w_rows'], output: ['w_t'] }));
  }
  inits.push(int64('zero', [0]), int64('w_2d', [planeTaps * cn, cw]));
  let sum = '';
  for (let t = 0; t < depthTaps; t++) {
    const cols = narrowTapColumns(g, t, forward, lo, span, nodes, inits);
    inits.push(int64(`wt${t}_s`, [t]), int64(`wt${t}_e`, [t + 1]));
    nodes.push(onnx.NodeProto.create({ opType: 'Slice', input: ['w_t', `wt${t}_s`, `wt${t}_e`, 'zero'], output: [`w${t}_3d`] }));
    nodes.push(onnx.NodeProto.create({ opType: 'Reshape', input: [`w${t}_3d`, 'w_2d'], output: [`w${t}`] }));
    const out = `acc${t}`;
    nodes.push(onnx.NodeProto.create({ opType: 'Gemm', input: t === 0 ? [cols, `w${t}`] : [cols, `w${t}`, sum], output: [out], attribute: [int('transA', 1)] }));
    sum = out;
  }
  inits.push(int64('y_shape', [g.batch, ...span, cw]));
  nodes.push(onnx.NodeProto.create({ opType: 'Reshape', input: [sum, 'y_shape'], output: ['y'] }));
}

/**
 * The narrow operand channels-first, [Cn, N, ...spatial], zero-padded as `n_pad` so that every tap's
 * view fits, plus the Slice axes/steps and the view's row shape. Views span the output positions
 * (`fromTap`: x, view(t) starts at index t of x padded by padBegin) or the input positions (dy, view(t)
 * starts at padBegin − t + lo, dy padded by lo = k − 1 − padBegin before: zeros where q + pb − t leaves dy).
 */
function padNarrowOperand(g: ConvGeometry, fromTap: boolean, input: string, cn: number, nodes: Node[], inits: Tensor[]): { lo: number[]; span: number[]; positions: number } {
  const d = g.dims;
  const span = fromTap ? g.outSize : g.inSize;
  const positions = g.batch * prod(span);
  nodes.push(onnx.NodeProto.create({ opType: 'Transpose', input: [input], output: ['n_cf'], attribute: [ints('perm', [d + 1, ...range(0, d + 1)])] }));
  const lo = fromTap ? g.padBegin : g.kernel.map((k, i) => Math.max(0, k - 1 - g.padBegin[i]));
  const hi = fromTap
    ? viewPadAfter(g)
    : g.inSize.map((n, i) => Math.max(0, g.padBegin[i] + n - g.outSize[i]));
  inits.push(int64('pads', [0, 0, ...lo, 0, 0, ...hi]));
  nodes.push(onnx.NodeProto.create({ opType: 'Pad', input: ['n_cf', 'pads'], output: ['n_pad'] }));
  inits.push(int64('axes', range(2, d + 2)), int64('steps', fromTap ? g.strides : span.map(() => 1)), int64('rows_view', [cn, positions]));
  return { lo, span, positions };
}

/**
 * Rows (planeTap, c_narrow) × positions of depth tap t: the padded narrow operand `n_pad` viewed at
 * every plane tap — strided from the tap (`fromTap`: x of a forward convolution or its filter
 * gradient) or shifted back by it (dy of an input gradient or filter gradient).
 */
function narrowTapColumns(g: ConvGeometry, t: number, fromTap: boolean, lo: number[], span: number[], nodes: Node[], inits: Tensor[]): string {
  const planeTaps = g.dims === 3 ? g.kernel[1] * g.kernel[2] : g.kernel[0] * g.kernel[1];
  const views: string[] = [];
  for (let p = 0; p < planeTaps; p++) {
    const tap = g.dims === 3 ? [t, Math.floor(p / g.kernel[2]), p % g.kernel[2]] : [Math.floor(p / g.kernel[1]), p % g.kernel[1]];
    const start = fromTap ? tap : tap.map((k, i) => g.padBegin[i] - k + lo[i]);
    const end = fromTap ? start.map((s0, i) => s0 + (g.outSize[i] - 1) * g.strides[i] + 1) : start.map((s0, i) => s0 + span[i]);
    const name = `v${t}_${p}`;
    inits.push(int64(`${name}_s`, start), int64(`${name}_e`, end));
    nodes.push(onnx.NodeProto.create({ opType: 'Slice', input: ['n_pad', `${name}_s`, `${name}_e`, 'axes', 'steps'], output: [`${name}_nd`] }));
    nodes.push(onnx.NodeProto.create({ opType: 'Reshape', input: [`${name}_nd`, 'rows_view'], output: [name] }));
    views.push(name);
  }
  const cols = `cols${t}`;
  nodes.push(concatNode(views, cols, 0));
  return cols;
}

/** `output` = the inputs concatenated along `axis` (an Identity when there is one). */
export function concatNode(inputs: string[], output: string, axis: number): Node {
  return inputs.length === 1
    ? onnx.NodeProto.create({ opType: 'Identity', input: inputs, output: [output] })
    : onnx.NodeProto.create({ opType: 'Concat', input: inputs, output: [output], attribute: [int('axis', axis)] });
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}

function valueInfo(name: string, shape: readonly number[] | undefined): InstanceType<typeof onnx.ValueInfoProto> {
  return onnx.ValueInfoProto.create({
    name,
    type: { tensorType: { elemType: FLOAT, ...(shape !== undefined ? { shape: { dim: shape.map((n) => ({ dimValue: n })) } } : {}) } },
  });
}
