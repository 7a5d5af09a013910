/**
 * Exports a network to an ONNX model (protobuf bytes), built from the same layer description
 * (NetworkSpec) the tfjs network is built from, with the weights copied: no tfjs and no Python in the path.
 *
 * ONNX is channels first: the graph's input is `input` [batch, channels, ...spatial] (batch and spatial
 * sizes dynamic) and its main output `output` likewise; weights are transposed from the spec's
 * channels-last layouts (conv [...kernel, in, out] and convTranspose [...kernel, out, in] both become
 * ONNX's [out|in, in|out, ...kernel]). Each node maps to one ONNX operator (opset ONNX_OPSET):
 * reflectPad → Pad(mode=reflect), conv → Conv, convTranspose → one Conv per output phase interleaved
 * by Concat/Reshape (faster on onnxruntime's CPU; or ConvTranspose with output_padding, see
 * OnnxExportOptions.transposedConv), instanceNorm → InstanceNormalization (scale 1, bias 0 unless affine), avgPool →
 * AveragePool(count_include_pad=0), dropout → nothing (identity at inference), concat → Concat(axis 1).
 * A spectrally normalised conv is exported with its inference weight W/σ (σ from the stored u, v).
 * A bias right before a non-affine instance norm is left out, as build-network.ts leaves it out: the
 * norm's mean subtraction cancels it exactly.
 */
import onnxProto from 'onnx-proto';
import { VERSION } from '../../cli/version.ts';
import { VoxshiftError } from '../../volumes/errors.ts';
import type { NetworkSpec, NodeSpec } from '../networks/spec.ts';

const { onnx } = onnxProto;

/** The operator set the exporter writes (every operator it uses is defined there as used). */
export const ONNX_OPSET = 13;
/** ONNX IR version matching opset 13. */
export const ONNX_IR_VERSION = 7;
/** Name of the graph input and of the main output. */
export const ONNX_INPUT = 'input';
export const ONNX_OUTPUT = 'output';

/** Parameter (and buffer) values by their spec name ('<node>.weight', '<node>.bias', '<node>.weight_u', ...), channels-last as in the spec. */
export type ParamValues = ReadonlyMap<string, Float32Array>;

export interface OnnxExportOptions {
  /**
   * How a transposed convolution is written: 'phases' (default) as stride^dims ordinary convolutions
   * on the input, one per output phase, interleaved (onnxruntime's CPU ConvTranspose is several times
   * slower per FLOP than its Conv, markedly in 3-D); 'native' as one ConvTranspose. Layers whose
   * geometry does not split evenly (output ≠ stride × input) are always native.
   */
  transposedConv?: 'phases' | 'native';
  /** Free text stored as the graph's doc string. */
  description?: string;
  /** Extra metadata_props (string → string), e.g. the checkpoint's role. */
  metadata?: Record<string, string>;
}

type Attribute = InstanceType<typeof onnx.AttributeProto>;
type Tensor = InstanceType<typeof onnx.TensorProto>;
type Node = InstanceType<typeof onnx.NodeProto>;

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;

export function ints(name: string, values: readonly number[]): Attribute {
  return onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INTS, ints: [...values] });
}
export function int(name: string, value: number): Attribute {
  return onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INT, i: value });
}
function float(name: string, value: number): Attribute {
  return onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.FLOAT, f: value });
}
function str(name: string, value: string): Attribute {
  return onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.STRING, s: new TextEncoder().encode(value) });
}

function floatTensor(name: string, dims: readonly number[], data: Float32Array): Tensor {
  return onnx.TensorProto.create({ name, dataType: FLOAT, dims: [...dims], rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
}
export function int64Tensor(name: string, values: readonly number[]): Tensor {
  const data = BigInt64Array.from(values, (v) => BigInt(v));
  return onnx.TensorProto.create({ name, dataType: INT64, dims: [values.length], rawData: new Uint8Array(data.buffer) });
}

/** `src` with shape `shape` transposed so that output axis i is input axis perm[i] (row-major). */
export function transposeArray(src: Float32Array, shape: readonly number[], perm: readonly number[]): Float32Array {
  const rank = shape.length;
  const outShape = perm.map((p) => shape[p]);
  const srcStrides = new Array<number>(rank);
  for (let a = rank - 1, s = 1; a >= 0; a--) {
    srcStrides[a] = s;
    s *= shape[a];
  }
  const stride = perm.map((p) => srcStrides[p]);
  const out = new Float32Array(src.length);
  const idx = new Array<number>(rank).fill(0);
  let from = 0;
  for (let o = 0; o < out.length; o++) {
    out[o] = src[from];
    for (let a = rank - 1; a >= 0; a--) {
      idx[a]++;
      from += stride[a];
      if (idx[a] < outShape[a]) break;
      from -= stride[a] * outShape[a];
      idx[a] = 0;
    }
  }
  return out;
}

/** σ = vᵀ M u with M the weight as a [kernel·in, out] matrix (layers.ts spectralNormalize). */
function spectralSigma(w: Float32Array, u: Float32Array, v: Float32Array): number {
  const out = u.length;
  let sigma = 0;
  for (let r = 0; r < v.length; r++) {
    let row = 0;
    for (let c = 0; c < out; c++) row += w[r * out + c] * u[c];
    sigma += v[r] * row;
  }
  return sigma;
}

/** One output phase r of a stride-s transposed convolution along one axis (see phasePlan). */
interface Phase {
  /** Kernel taps of the phase's ordinary convolution. */
  taps: number;
  /** Tap m of that convolution is tap first + stride·(taps − 1 − m) of the transposed one. */
  first: number;
  padBegin: number;
  padEnd: number;
}

/**
 * Splits a transposed convolution (kernel k, stride s, padding p, output padding op) along one axis
 * into s ordinary convolutions on the input: output o = s·q + r is
 * Σ_j x[q + c − j]·w[t + s·j] with t = (r + p) mod s and c = ⌊(r + p)/s⌋, a correlation with the taps
 * reversed. Every phase must have the input's length (k − 2p + op = s) and at least one tap, and
 * needs no negative padding; otherwise undefined (export a ConvTranspose).
 */
function phasePlan(k: number, s: number, p: number, op: number): Phase[] | undefined {
  if (s < 2 || k - 2 * p + op !== s) return undefined;
  const phases: Phase[] = [];
  for (let r = 0; r < s; r++) {
    const t = (r + p) % s;
    const c = Math.floor((r + p) / s);
    const taps = t < k ? Math.ceil((k - t) / s) : 0;
    if (taps < 1 || taps - 1 - c < 0) return undefined;
    phases.push({ taps, first: t, padBegin: taps - 1 - c, padEnd: c });
  }
  return phases;
}

/** Nodes whose bias build-network.ts skips: their only consumer is a non-affine instance norm. */
function cancelledBiases(spec: NetworkSpec): Set<string> {
  const outputs = new Set([spec.output, ...(spec.extraOutputs ?? [])]);
  const consumers = new Map<string, NodeSpec[]>();
  for (const node of spec.nodes) for (const i of node.inputs) consumers.set(i, [...(consumers.get(i) ?? []), node]);
  return new Set(
    spec.nodes
      .filter((n) => {
        const c = consumers.get(n.name) ?? [];
        return !outputs.has(n.name) && c.length === 1 && c[0].op === 'instanceNorm' && !c[0].affine;
      })
      .map((n) => n.name),
  );
}

/** Builds the ONNX model of `spec` with `params` and returns its protobuf encoding. */
export function exportOnnx(spec: NetworkSpec, params: ParamValues, options: OnnxExportOptions = {}): Uint8Array {
  const dims = spec.spatialDims;
  if (spec.format !== 'voxshift-network/1' || (dims !== 2 && dims !== 3)) {
    throw new VoxshiftError('INVALID_ARGUMENT', `not a voxshift network description (format ${JSON.stringify(spec.format)}, spatialDims ${JSON.stringify(dims)})`, {
      param: 'spec',
    });
  }
  const shapes = new Map(spec.params.map((p) => [p.name, p.shape]));
  const value = (name: string): Float32Array => {
    const v = params.get(name);
    if (!v) throw new VoxshiftError('INVALID_ARGUMENT', `${spec.kind}: no value for parameter ${name}`, { param: 'params', details: { missing: name } });
    const shape = shapes.get(name);
    const size = shape ? shape.reduce((a, b) => a * b, 1) : v.length;
    if (v.length !== size) {
      throw new VoxshiftError('INVALID_ARGUMENT', `${spec.kind}: parameter ${name} has ${v.length} values, its shape [${shape?.join(', ')}] needs ${size}`, {
        param: 'params',
      });
    }
    return v;
  };
  const weightPerm = [dims + 1, dims, ...Array.from({ length: dims }, (_, i) => i)];
  const cancelled = cancelledBiases(spec);
  const nodes: Node[] = [];
  const initializers: Tensor[] = [];
  // Spec value name → ONNX value name (dropout and zero padding are aliases of their input).
  const alias = new Map<string, string>([['input', ONNX_INPUT]]);
  const ref = (name: string): string => {
    const r = alias.get(name);
    if (r === undefined) throw new VoxshiftError('INVALID_ARGUMENT', `${spec.kind}: node input ${name} is not an earlier node`, { param: 'spec.nodes' });
    return r;
  };
  const emit = (opType: string, name: string, inputs: string[], attribute: Attribute[] = []): void => {
    nodes.push(onnx.NodeProto.create({ opType, name, input: inputs, output: [name], attribute }));
    alias.set(name, name);
  };
  const spatialPads = (p: number): number[] => Array<number>(2 * dims).fill(p);
  const kernelShape = (k: number): number[] => Array<number>(dims).fill(k);

  /**
   * A transposed convolution as one Conv per output phase (phasePlan on every axis), each phase
   * unsqueezed to [N, C, L0, 1, L1, 1, ...], concatenated phase axis by phase axis into
   * [N, C, L0, s, L1, s, ...] and reshaped to [N, C, s·L0, s·L1, ...].
   */
  const emitPhases = (
    node: Extract<NodeSpec, { op: 'convTranspose' }>,
    x: string,
    w: Float32Array,
    wShape: readonly number[],
    phases: Phase[],
    bias: string | undefined,
  ): void => {
    const s = node.stride;
    const [k, cOut, cIn] = [node.kernel, node.outChannels, node.inChannels];
    const axes = Array.from({ length: dims }, (_, a) => 3 + 2 * a);
    if (wShape.length !== dims + 2 || wShape[dims] !== cOut || wShape[dims + 1] !== cIn) {
      throw new VoxshiftError('INVALID_ARGUMENT', `${spec.kind}: ${node.name}.weight has shape [${wShape.join(', ')}]`, { param: 'params' });
    }
    initializers.push(int64Tensor(`${node.name}.unsqueeze_axes`, axes));
    const phaseValue = (rs: number[]): string => {
      const ph = rs.map((r) => phases[r]);
      const taps = ph.map((q) => q.taps);
      const size = taps.reduce((a, b) => a * b, 1);
      const data = new Float32Array(cOut * cIn * size);
      const m = new Array<number>(dims).fill(0);
      for (let f = 0; f < size; f++) {
        // m: the phase kernel's multi-index (last axis fastest) → the transposed kernel's taps.
        for (let a = dims - 1, rest = f; a >= 0; a--) {
          m[a] = rest % taps[a];
          rest = Math.floor(rest / taps[a]);
        }
        let tap = 0;
        for (let a = 0; a < dims; a++) tap = tap * k + ph[a].first + s * (ph[a].taps - 1 - m[a]);
        const src = tap * cOut * cIn;
        for (let o = 0; o < cOut; o++) for (let i = 0; i < cIn; i++) data[(o * cIn + i) * size + f] = w[src + o * cIn + i];
      }
      const name = `${node.name}.phase${rs.join('')}`;
      initializers.push(floatTensor(`${name}.weight`, [cOut, cIn, ...taps], data));
      const attrs = [ints('kernel_shape', taps), ints('pads', [...ph.map((q) => q.padBegin), ...ph.map((q) => q.padEnd)])];
      nodes.push(onnx.NodeProto.create({ opType: 'Conv', name, input: bias ? [x, `${name}.weight`, bias] : [x, `${name}.weight`], output: [name], attribute: attrs }));
      nodes.push(onnx.NodeProto.create({ opType: 'Unsqueeze', name: `${name}.u`, input: [name, `${node.name}.unsqueeze_axes`], output: [`${name}.u`] }));
      return `${name}.u`;
    };
    const interleave = (rs: number[]): string => {
      if (rs.length === dims) return phaseValue(rs);
      const parts = Array.from({ length: s }, (_, r) => interleave([...rs, r]));
      const name = `${node.name}.interleave${rs.join('')}`;
      nodes.push(onnx.NodeProto.create({ opType: 'Concat', name, input: parts, output: [name], attribute: [int('axis', axes[rs.length])] }));
      return name;
    };
    const stacked = interleave([]);
    // Target shape [0, 0, s·L0, s·L1, ...] (0: keep N and C) from the input's runtime shape.
    const n = node.name;
    initializers.push(int64Tensor(`${n}.spatial_begin`, [2]), int64Tensor(`${n}.spatial_end`, [2 + dims]), int64Tensor(`${n}.stride`, [s]), int64Tensor(`${n}.keep_nc`, [0, 0]));
    nodes.push(
      onnx.NodeProto.create({ opType: 'Shape', name: `${n}.in_shape`, input: [x], output: [`${n}.in_shape`] }),
      onnx.NodeProto.create({ opType: 'Slice', name: `${n}.in_spatial`, input: [`${n}.in_shape`, `${n}.spatial_begin`, `${n}.spatial_end`], output: [`${n}.in_spatial`] }),
      onnx.NodeProto.create({ opType: 'Mul', name: `${n}.out_spatial`, input: [`${n}.in_spatial`, `${n}.stride`], output: [`${n}.out_spatial`] }),
      onnx.NodeProto.create({ opType: 'Concat', name: `${n}.out_shape`, input: [`${n}.keep_nc`, `${n}.out_spatial`], output: [`${n}.out_shape`], attribute: [int('axis', 0)] }),
    );
    emit('Reshape', n, [stacked, `${n}.out_shape`]);
  };

  for (const node of spec.nodes) {
    const x = ref(node.inputs[0]);
    switch (node.op) {
      case 'conv':
      case 'convTranspose': {
        const wName = `${node.name}.weight`;
        const wShape = shapes.get(wName) ?? [...kernelShape(node.kernel), node.op === 'conv' ? node.inChannels : node.outChannels, node.op === 'conv' ? node.outChannels : node.inChannels];
        let w = value(wName);
        if (node.op === 'conv' && node.spectralNorm) {
          const sigma = spectralSigma(w, value(`${node.name}.weight_u`), value(`${node.name}.weight_v`));
          w = w.map((e) => e / sigma);
        }
        const bias = node.bias && !cancelled.has(node.name) ? `${node.name}.bias` : undefined;
        if (bias) initializers.push(floatTensor(bias, [node.outChannels], value(bias)));
        const phases = node.op === 'convTranspose' && options.transposedConv !== 'native' ? phasePlan(node.kernel, node.stride, node.padding, node.outputPadding) : undefined;
        if (node.op === 'convTranspose' && phases) {
          emitPhases(node, x, w, wShape, phases, bias);
          break;
        }
        initializers.push(floatTensor(wName, weightPerm.map((p) => wShape[p]), transposeArray(w, wShape, weightPerm)));
        const inputs = bias ? [x, wName, bias] : [x, wName];
        const attrs = [ints('kernel_shape', kernelShape(node.kernel)), ints('strides', kernelShape(node.stride)), ints('pads', spatialPads(node.padding))];
        if (node.op === 'convTranspose') attrs.push(ints('output_padding', kernelShape(node.outputPadding)));
        emit(node.op === 'conv' ? 'Conv' : 'ConvTranspose', node.name, inputs, attrs);
        break;
      }
      case 'reflectPad': {
        if (node.pad === 0) {
          alias.set(node.name, x);
          break;
        }
        const half = [0, 0, ...kernelShape(node.pad)];
        initializers.push(int64Tensor(`${node.name}.pads`, [...half, ...half]));
        emit('Pad', node.name, [x, `${node.name}.pads`], [str('mode', 'reflect')]);
        break;
      }
      case 'avgPool':
        emit('AveragePool', node.name, [x], [
          ints('kernel_shape', kernelShape(node.kernel)),
          ints('strides', kernelShape(node.stride)),
          ints('pads', spatialPads(node.padding)),
          int('count_include_pad', 0),
        ]);
        break;
      case 'instanceNorm': {
        const c = node.channels;
        const scale = node.affine ? value(`${node.name}.gamma`) : new Float32Array(c).fill(1);
        const bias = node.affine ? value(`${node.name}.beta`) : new Float32Array(c);
        initializers.push(floatTensor(`${node.name}.scale`, [c], scale), floatTensor(`${node.name}.B`, [c], bias));
        emit('InstanceNormalization', node.name, [x, `${node.name}.scale`, `${node.name}.B`], [float('epsilon', node.epsilon)]);
        break;
      }
      case 'relu':
        emit('Relu', node.name, [x]);
        break;
      case 'tanh':
        emit('Tanh', node.name, [x]);
        break;
      case 'leakyRelu':
        emit('LeakyRelu', node.name, [x], [float('alpha', node.alpha)]);
        break;
      case 'dropout':
        alias.set(node.name, x);
        break;
      case 'add':
        emit('Add', node.name, [x, ref(node.inputs[1])]);
        break;
      case 'concat':
        emit('Concat', node.name, node.inputs.map(ref), [int('axis', 1)]);
        break;
      default: {
        const unknown: { op: string } = node;
        throw new VoxshiftError('INVALID_ARGUMENT', `${spec.kind}: node ${JSON.stringify(node)} has op ${unknown.op}, which the ONNX exporter does not know`, {
          param: 'spec.nodes',
        });
      }
    }
  }

  // The main output is renamed `output`: the producing node writes it directly (or an Identity does,
  // when the output is an alias of another value).
  const outputs: { name: string; channels?: number }[] = [];
  const mainValue = ref(spec.output);
  const producer = nodes.find((n) => n.output[0] === mainValue);
  if (producer && mainValue === spec.output && !(spec.extraOutputs ?? []).includes(spec.output) && !nodes.some((n) => n.input.includes(mainValue))) {
    producer.output = [ONNX_OUTPUT];
  } else {
    nodes.push(onnx.NodeProto.create({ opType: 'Identity', name: `${spec.output}.output`, input: [mainValue], output: [ONNX_OUTPUT] }));
  }
  outputs.push({ name: ONNX_OUTPUT, channels: spec.outputChannels });
  for (const extra of spec.extraOutputs ?? []) {
    const v = ref(extra);
    if (v === extra) outputs.push({ name: extra });
    else {
      nodes.push(onnx.NodeProto.create({ opType: 'Identity', name: `${extra}.output`, input: [v], output: [`${extra}.output`] }));
      outputs.push({ name: `${extra}.output` });
    }
  }

  const axisNames = dims === 2 ? ['height', 'width'] : ['depth', 'height', 'width'];
  const valueInfo = (name: string, channels: number | undefined, spatial: (string | undefined)[]) =>
    onnx.ValueInfoProto.create({
      name,
      type: {
        tensorType: {
          elemType: FLOAT,
          shape: {
            dim: [{ dimParam: 'batch' }, channels === undefined ? {} : { dimValue: channels }, ...spatial.map((s) => (s === undefined ? {} : { dimParam: s }))],
          },
        },
      },
    });
  // Generators keep the spatial size; other outputs (discriminator maps) have their own.
  const keepsSize = spec.kind.endsWith('-generator');
  const graph = onnx.GraphProto.create({
    name: spec.kind,
    docString: options.description ?? `${spec.kind} exported by voxshift ${VERSION}`,
    node: nodes,
    initializer: initializers,
    input: [valueInfo(ONNX_INPUT, spec.inputChannels, axisNames)],
    output: outputs.map((o, i) => valueInfo(o.name, o.channels, i === 0 && keepsSize ? axisNames : axisNames.map(() => undefined))),
  });
  const metadata: Record<string, string> = {
    'voxshift.format': spec.format,
    'voxshift.kind': spec.kind,
    'voxshift.spatialDims': String(dims),
    'voxshift.sizeMultiple': String(spec.sizeMultiple),
    'voxshift.layout': dims === 2 ? 'NCHW' : 'NCDHW',
    'voxshift.config': JSON.stringify(spec.config),
    ...options.metadata,
  };
  const model = onnx.ModelProto.create({
    irVersion: ONNX_IR_VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: 'voxshift',
    producerVersion: VERSION,
    graph,
    metadataProps: Object.entries(metadata).map(([key, v]) => ({ key, value: v })),
  });
  return onnx.ModelProto.encode(model).finish();
}
