/**
 * The native convolution engine: the wasm backend's convolution kernels hand their work to
 * onnxruntime's CPU kernels (one cached single-op session per geometry, see conv-graphs.ts and
 * nchwc-graphs.ts) when
 * onnxruntime-node loads, and keep their WebAssembly path otherwise. The wasm heap is shared memory,
 * which onnxruntime does not accept, so operands are copied into per-session staging arrays and the
 * result is copied back (a few percent of a convolution's time).
 *
 * While onnxruntime runs, the tfjs thread waits and the XNNPACK workers idle; onnxruntime's own pool
 * gets as many threads as the wasm backend and does not spin after a call, so the two never compete.
 */
import { backend_util, util, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { VoxshiftError } from '../../../volumes/errors.ts';
import { allocF32, f32Offset, heapF32 } from '../kernels/conv2d-util.ts';
import { buildConvGraph, filterGradForm, NARROW_CHANNELS, geometryKey, graphShapes, outputPadding, type ConvGeometry, type ConvOp } from './conv-graphs.ts';
import { blockSizeProbeGraph, buildNchwcConvGraph, nchwcApplies } from './nchwc-graphs.ts';
import { buildNchwc3dConvGraph, nchwc3dApplies } from './nchwc3d-graphs.ts';
import { loadOrtSync, type OrtNativeSession, type OrtSessionOptions, type OrtTensor } from './ort-binding.ts';

export type ConvEngine = 'auto' | 'onnxruntime' | 'xnnpack';
export const CONV_ENGINES: readonly ConvEngine[] = ['auto', 'onnxruntime', 'xnnpack'];

/** Below this many output channels the gradients stay on the wasm kernels (see nativeConv). */
const FEW_OUTPUT_CHANNELS = 8;

/**
 * Convolutions whose im2col scratch would exceed this stay on the wasm kernels: onnxruntime keeps a
 * session's peak scratch in its arena, and without the arena a large call spends its time in page faults.
 */
const MAX_SCRATCH_BYTES = 64 * 2 ** 20;

/**
 * The same for filter gradients whose columns are the narrow side's shifted views (first and last
 * layers, conv-graphs.ts filterGradForm): plain row copies into one arena block per session, where
 * the wasm kernels run 3–10× slower (a 7³ 1→16 or 16→1 layer at 64³ needs 102–134 MiB).
 */
const MAX_NARROW_SCRATCH_BYTES = 256 * 2 ** 20;

/** Sessions kept; the least recently used one is released beyond this. */
const MAX_SESSIONS = 256;

interface CachedSession {
  session: OrtNativeSession;
  feeds: Record<'a' | 'b', OrtTensor>;
  fetches: Record<'y', OrtTensor>;
}

const state: { engine: ConvEngine; threads: number; active: boolean; reason: string; nchwcBlock: number } = {
  engine: 'xnnpack',
  threads: 1,
  active: false,
  reason: 'not configured',
  nchwcBlock: 0,
};
const sessions = new Map<string, CachedSession>();

export interface ConvEngineInfo {
  engine: 'onnxruntime' | 'xnnpack';
  /** e.g. "onnxruntime-node 1.30.0 CPU kernels, 2 threads", or why XNNPACK is used. */
  description: string;
  /** MLAS's channel block when convolutions use its blocked kernels, else 0. */
  nchwcBlock: number;
}

/**
 * Chooses where the wasm backend's convolutions run. 'auto' and 'onnxruntime' use onnxruntime when it
 * loads ('onnxruntime' throws BACKEND_UNAVAILABLE when it does not); 'xnnpack' keeps every convolution
 * in WebAssembly.
 */
export function configureConvEngine(engine: ConvEngine, threads: number): ConvEngineInfo {
  if (!CONV_ENGINES.includes(engine)) {
    throw new VoxshiftError('INVALID_ARGUMENT', `convEngine must be one of ${CONV_ENGINES.join(', ')}, got ${JSON.stringify(engine)}`, { param: 'convEngine' });
  }
  releaseConvSessions();
  state.engine = engine;
  state.threads = threads;
  if (engine === 'xnnpack') {
    state.active = false;
    state.reason = 'convolutions on XNNPACK (asked for)';
    return convEngineInfo();
  }
  const { ort, reason } = loadOrtSync();
  state.active = ort !== undefined;
  state.nchwcBlock = ort !== undefined ? nchwcBlockSize() : 0;
  const kernels = state.nchwcBlock > 0 ? ` (2-D on its blocked-channel kernels, block ${state.nchwcBlock})` : '';
  state.reason =
    ort !== undefined ? `onnxruntime-node ${ort.version} CPU kernels${kernels}, ${threads} thread${threads === 1 ? '' : 's'}` : `onnxruntime-node unavailable (${reason})`;
  if (engine === 'onnxruntime' && ort === undefined) {
    throw new VoxshiftError('BACKEND_UNAVAILABLE', `convEngine 'onnxruntime' was asked for but ${state.reason}; reinstall with \`npm ci\` or use convEngine 'xnnpack'`, {
      param: 'convEngine',
    });
  }
  return convEngineInfo();
}

export function convEngineInfo(): ConvEngineInfo {
  return { engine: state.active ? 'onnxruntime' : 'xnnpack', description: state.reason, nchwcBlock: state.active ? state.nchwcBlock : 0 };
}

function sessionOptions(): OrtSessionOptions {
  return {
    intraOpNumThreads: state.threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    enableCpuMemArena: true,
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  };
}

/**
 * MLAS's channel block on this CPU (8 with AVX2, 16 with AVX-512), read off the shape its ReorderInput
 * gives a 4-channel tensor; 0 when the blocked kernels are missing (other architectures) or fail.
 * VOXSHIFT_NCHWC=0 turns them off (benchmarks compare the two).
 */
function nchwcBlockSize(): number {
  if (process.env.VOXSHIFT_NCHWC === '0') return 0;
  // A property of the CPU and the onnxruntime build: probed once per process.
  probedBlock ??= probeBlockSize();
  return probedBlock;
}

let probedBlock: number | undefined;

function probeBlockSize(): number {
  const { ort } = loadOrtSync();
  if (ort === undefined) return 0;
  const native = ort.newSession();
  try {
    const bytes = blockSizeProbeGraph();
    native.loadModel(bytes.buffer, bytes.byteOffset, bytes.byteLength, sessionOptions());
    const out = native.run({ a: ort.tensor(new Float32Array(4), [1, 4, 1, 1]) }, { y: null }, {});
    const block = out.y.dims[1];
    return block >= 4 && block <= 64 && out.y.dims.length === 4 ? block : 0;
  } catch {
    return 0;
  } finally {
    native.dispose();
  }
}

export function releaseConvSessions(): void {
  for (const s of sessions.values()) s.session.dispose();
  sessions.clear();
}

/** Sessions currently cached (tests). */
export function convSessionCount(): number {
  return sessions.size;
}

/**
 * Runs `op` on onnxruntime and returns a new tensor on the wasm heap, or undefined when the engine is
 * off or the geometry is one it leaves to the wasm kernels (convRoute): convolutions whose channels
 * suit MLAS's blocked kernels run on those (nchwc-graphs.ts, nchwc3d-graphs.ts); the rest on the
 * generic graphs except (genericRoute) dilated gradients, 3-D input gradients, gradients of
 * convolutions with few output channels, column matrices over 64 MiB and input gradients whose input
 * has rows the convolution never read.
 */
export function nativeConv(backend: BackendWasm, op: ConvOp, g: ConvGeometry, a: TensorInfo, b: TensorInfo): TensorInfo | undefined {
  if (a.dtype !== 'float32' || b.dtype !== 'float32') return undefined;
  const route = convRoute(op, g);
  if (route === 'wasm') return undefined;
  const blocked = route === 'onnxruntime-blocked';
  const shapes = graphShapes(op, g);
  if (!sameShape(a.shape, shapes.a) || !sameShape(b.shape, shapes.b)) return undefined;
  let s: CachedSession;
  try {
    s = session(op, g, shapes, blocked);
    const heap = heapF32(backend);
    s.feeds.a.data.set(heap.subarray(f32Offset(backend, a.dataId), f32Offset(backend, a.dataId) + util.sizeFromShape(a.shape)));
    s.feeds.b.data.set(heap.subarray(f32Offset(backend, b.dataId), f32Offset(backend, b.dataId) + util.sizeFromShape(b.shape)));
    s.session.run(s.feeds, s.fetches, {});
  } catch (e) {
    // The binding is onnxruntime-node's internal API: if a version changes it, say so and carry on
    // with the wasm kernels (or fail, when onnxruntime was asked for by name).
    const message = e instanceof Error ? e.message : String(e);
    if (state.engine === 'onnxruntime') throw new VoxshiftError('BACKEND_UNAVAILABLE', `onnxruntime convolution failed: ${message}`, { param: 'convEngine', cause: e });
    state.active = false;
    state.reason = `XNNPACK (onnxruntime failed on a ${op} convolution: ${message})`;
    process.emitWarning(`voxshift: convolutions moved to XNNPACK — onnxruntime failed: ${message}`);
    return undefined;
  }
  const out = allocF32(backend, shapes.y);
  // allocF32 may grow (and move) the heap: view it afresh.
  heapF32(backend).set(s.fetches.y.data, f32Offset(backend, out.dataId));
  return out;
}

export type ConvRoute = 'onnxruntime-blocked' | 'onnxruntime' | 'wasm';

/** Where `op` on `g` runs with the engine as configured (a static rule: results never depend on timing). */
export function convRoute(op: ConvOp, g: ConvGeometry): ConvRoute {
  if (!state.active) return 'wasm';
  // The blocked kernels need no column matrix and are fast with any channel count they accept.
  if (state.nchwcBlock > 0 && nchwcApplies(op, g, state.nchwcBlock)) return 'onnxruntime-blocked';
  // 3-D: blocked 2-D convolutions per depth tap.
  if (state.nchwcBlock > 0 && nchwc3dApplies(op, g, state.nchwcBlock)) return 'onnxruntime-blocked';
  return genericRoute(op, g) ? 'onnxruntime' : 'wasm';
}

/** Whether onnxruntime's generic (im2col/GEMM) graphs take `op` on `g` (see nativeConv). */
function genericRoute(op: ConvOp, g: ConvGeometry): boolean {
  if (narrowInput(op, g)) return narrowInputScratchBytes(op, g) <= MAX_NARROW_SCRATCH_BYTES;
  if (op !== 'forward' && g.dilations.some((d) => d !== 1)) return false;
  // onnxruntime's 3-D ConvTranspose scatters through a generic N-d col2im, 5–10× slower than the wasm
  // kernel, whose per-depth-tap 2-D convolutions come back here as forward convolutions anyway.
  if (op === 'backprop-input' && g.dims === 3) return false;
  // With a few output channels (a generator's or a PatchGAN's output layer) onnxruntime's input
  // gradient and im2col filter gradient are GEMMs one column wide; the wasm kernels' blocked/swapped
  // forms are 3–10× faster there. The narrow filter-gradient forms have no such column.
  const narrow = op === 'backprop-filter' && (filterGradForm(g) === 'narrow-x' || filterGradForm(g) === 'narrow-dy');
  if (op !== 'forward' && g.outChannels < FEW_OUTPUT_CHANNELS && !narrow) return false;
  if (op === 'backprop-input' && outputPadding(g) === undefined) return false;
  // onnxruntime builds the whole column matrix at once (5.8 GB for a 7³ 16→1 convolution at 64³);
  // XNNPACK's indirect convolution needs none.
  return scratchBytes(op, g) <= (narrow ? MAX_NARROW_SCRATCH_BYTES : MAX_SCRATCH_BYTES);
}

/**
 * 3-D convolutions whose narrow operand's shifted views replace the im2col (conv-graphs.ts
 * narrowInputConv): a forward one with few input channels whose im2col is over the limit (a
 * generator's 7³ first layer at 64³, 360 MB of columns), and a stride-1 input gradient with few output
 * channels (its output layer), which the wasm kernel computed with a slab-by-slab scatter.
 */
function narrowInput(op: ConvOp, g: ConvGeometry): boolean {
  if (g.dims !== 3 || g.dilations.some((d) => d !== 1)) return false;
  if (op === 'forward') return g.inChannels < NARROW_CHANNELS && scratchBytes(op, g) > MAX_SCRATCH_BYTES;
  return op === 'backprop-input' && g.outChannels < NARROW_CHANNELS && g.strides.every((s) => s === 1);
}

function narrowInputScratchBytes(op: ConvOp, g: ConvGeometry): number {
  const planeTaps = g.kernel.slice(1).reduce((a, b) => a * b, 1);
  const positions = g.batch * (op === 'forward' ? g.outSize : g.inSize).reduce((a, b) => a * b, 1);
  return 2 * 4 * planeTaps * positions * (op === 'forward' ? g.inChannels : g.outChannels);
}

/** The largest column matrix a graph of this geometry builds, in bytes (onnxruntime's im2col / ours). */
function scratchBytes(op: ConvOp, g: ConvGeometry): number {
  const taps = g.kernel.reduce((a, b) => a * b, 1);
  const outVoxels = g.batch * g.outSize.reduce((a, b) => a * b, 1);
  const inVoxels = g.batch * g.inSize.reduce((a, b) => a * b, 1);
  if (op === 'forward') return 4 * outVoxels * taps * g.inChannels;
  if (op === 'backprop-input') return 4 * outVoxels * taps * g.inChannels + 4 * inVoxels * g.inChannels;
  const planeTaps = g.dims === 3 ? taps / g.kernel[0] : taps;
  // Per depth tap: the views and their concatenation.
  if (filterGradForm(g) === 'narrow-dy') return 2 * 4 * inVoxels * planeTaps * g.outChannels;
  if (filterGradForm(g) === 'outer-shifted') {
    // Per stride parity: views over o0 + J − 1 outer slices, and J shifted copies of dy.
    const innerTaps = taps / g.kernel[0];
    const rows = (outVoxels / g.outSize[0]) * (g.outSize[0] + g.kernel[0]);
    return 2 * 4 * rows * (innerTaps * g.inChannels + g.kernel[0] * g.outChannels);
  }
  return 2 * 4 * outVoxels * planeTaps * g.inChannels;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((n, i) => n === b[i]);
}

function session(op: ConvOp, g: ConvGeometry, shapes: ReturnType<typeof graphShapes>, blocked: boolean): CachedSession {
  const key = `${geometryKey(op, g)}|${blocked ? `nchwc${state.nchwcBlock}` : 'generic'}`;
  const hit = sessions.get(key);
  if (hit !== undefined) {
    sessions.delete(key);
    sessions.set(key, hit);
    return hit;
  }
  const { ort } = loadOrtSync();
  if (ort === undefined) throw new VoxshiftError('BACKEND_UNAVAILABLE', 'onnxruntime-node is not loaded');
  const blockedGraph = g.dims === 3 ? buildNchwc3dConvGraph : buildNchwcConvGraph;
  const bytes = blocked ? blockedGraph(op, g, state.nchwcBlock) : buildConvGraph(op, g, narrowInput(op, g));
  const native = ort.newSession();
  native.loadModel(bytes.buffer, bytes.byteOffset, bytes.byteLength, sessionOptions());
  const make = (shape: number[]): OrtTensor => ort.tensor(new Float32Array(util.sizeFromShape(shape)), shape);
  const entry: CachedSession = { session: native, feeds: { a: make(shapes.a), b: make(shapes.b) }, fetches: { y: make(shapes.y) } };
  sessions.set(key, entry);
  if (sessions.size > MAX_SESSIONS) {
    const [oldest, evicted] = sessions.entries().next().value as [string, CachedSession];
    evicted.session.dispose();
    sessions.delete(oldest);
  }
  return entry;
}

/** The geometry of a tfjs 2-D convolution (channels-last). */
export function geometry2d(info: backend_util.Conv2DInfo): ConvGeometry {
  const p = info.padInfo;
  return {
    dims: 2,
    batch: info.batchSize,
    inSize: [info.inHeight, info.inWidth],
    outSize: [info.outHeight, info.outWidth],
    kernel: [info.filterHeight, info.filterWidth],
    strides: [info.strideHeight, info.strideWidth],
    dilations: [info.dilationHeight, info.dilationWidth],
    padBegin: [p.top, p.left],
    padEnd: [p.bottom, p.right],
    inChannels: info.inChannels,
    outChannels: info.outChannels,
  };
}

/** The geometry of a tfjs 3-D convolution (channels-last). */
export function geometry3d(info: backend_util.Conv3DInfo): ConvGeometry {
  const p = info.padInfo;
  return {
    dims: 3,
    batch: info.batchSize,
    inSize: [info.inDepth, info.inHeight, info.inWidth],
    outSize: [info.outDepth, info.outHeight, info.outWidth],
    kernel: [info.filterDepth, info.filterHeight, info.filterWidth],
    strides: [info.strideDepth, info.strideHeight, info.strideWidth],
    dilations: [info.dilationDepth, info.dilationHeight, info.dilationWidth],
    padBegin: [p.front, p.top, p.left],
    padEnd: [p.back, p.bottom, p.right],
    inChannels: info.inChannels,
    outChannels: info.outChannels,
  };
}
