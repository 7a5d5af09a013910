/**
 * The native convolution engine: the wasm backend's convolution kernels hand their work to
 * onnxruntime's CPU kernels (one cached single-op session per geometry, see conv-graphs.ts) when
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
import { buildConvGraph, geometryKey, graphShapes, outputPadding, type ConvGeometry, type ConvOp } from './conv-graphs.ts';
import { loadOrtSync, type OrtNativeSession, type OrtTensor } from './ort-binding.ts';

export type ConvEngine = 'auto' | 'onnxruntime' | 'xnnpack';
export const CONV_ENGINES: readonly ConvEngine[] = ['auto', 'onnxruntime', 'xnnpack'];

/** Below this many output channels the gradients stay on the wasm kernels (see nativeConv). */
const FEW_OUTPUT_CHANNELS = 8;

/**
 * Convolutions whose im2col scratch would exceed this stay on the wasm kernels: onnxruntime keeps a
 * session's peak scratch in its arena, and without the arena a large call spends its time in page faults.
 */
const MAX_SCRATCH_BYTES = 64 * 2 ** 20;

/** Sessions kept; the least recently used one is released beyond this. */
const MAX_SESSIONS = 256;

interface CachedSession {
  session: OrtNativeSession;
  feeds: Record<'a' | 'b', OrtTensor>;
  fetches: Record<'y', OrtTensor>;
}

const state: { engine: ConvEngine; threads: number; active: boolean; reason: string } = {
  engine: 'xnnpack',
  threads: 1,
  active: false,
  reason: 'not configured',
};
const sessions = new Map<string, CachedSession>();

export interface ConvEngineInfo {
  engine: 'onnxruntime' | 'xnnpack';
  /** e.g. "onnxruntime-node 1.30.0 CPU kernels, 2 threads", or why XNNPACK is used. */
  description: string;
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
  state.reason = ort !== undefined ? `onnxruntime-node ${ort.version} CPU kernels, ${threads} thread${threads === 1 ? '' : 's'}` : `onnxruntime-node unavailable (${reason})`;
  if (engine === 'onnxruntime' && ort === undefined) {
    throw new VoxshiftError('BACKEND_UNAVAILABLE', `convEngine 'onnxruntime' was asked for but ${state.reason}; reinstall with \`npm ci\` or use convEngine 'xnnpack'`, {
      param: 'convEngine',
    });
  }
  return convEngineInfo();
}

export function convEngineInfo(): ConvEngineInfo {
  return { engine: state.active ? 'onnxruntime' : 'xnnpack', description: state.reason };
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
 * off or the geometry is one it leaves to the wasm kernels (dilated gradients; 3-D input gradients;
 * gradients of convolutions with few output channels; column matrices over 64 MiB; an input gradient whose input has rows the convolution never read).
 */
export function nativeConv(backend: BackendWasm, op: ConvOp, g: ConvGeometry, a: TensorInfo, b: TensorInfo): TensorInfo | undefined {
  if (!state.active || a.dtype !== 'float32' || b.dtype !== 'float32') return undefined;
  if (op !== 'forward' && g.dilations.some((d) => d !== 1)) return undefined;
  // onnxruntime's 3-D ConvTranspose scatters through a generic N-d col2im, 5–10× slower than the wasm
  // kernel, whose per-depth-tap 2-D convolutions come back here as forward convolutions anyway.
  if (op === 'backprop-input' && g.dims === 3) return undefined;
  // With a few output channels (a generator's or a PatchGAN's output layer) onnxruntime's gradients
  // are GEMMs one column wide; the wasm kernels' blocked/swapped forms are 3–10× faster there.
  if (op !== 'forward' && g.outChannels < FEW_OUTPUT_CHANNELS) return undefined;
  if (op === 'backprop-input' && outputPadding(g) === undefined) return undefined;
  // onnxruntime builds the whole column matrix at once (5.8 GB for a 7³ 16→1 convolution at 64³);
  // XNNPACK's indirect convolution needs none.
  if (scratchBytes(op, g) > MAX_SCRATCH_BYTES) return undefined;
  const shapes = graphShapes(op, g);
  if (!sameShape(a.shape, shapes.a) || !sameShape(b.shape, shapes.b)) return undefined;
  let s: CachedSession;
  try {
    s = session(op, g, shapes);
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

/** The largest column matrix a graph of this geometry builds, in bytes (onnxruntime's im2col / ours). */
function scratchBytes(op: ConvOp, g: ConvGeometry): number {
  const taps = g.kernel.reduce((a, b) => a * b, 1);
  const outVoxels = g.batch * g.outSize.reduce((a, b) => a * b, 1);
  const inVoxels = g.batch * g.inSize.reduce((a, b) => a * b, 1);
  if (op === 'forward') return 4 * outVoxels * taps * g.inChannels;
  if (op === 'backprop-input') return 4 * outVoxels * taps * g.inChannels + 4 * inVoxels * g.inChannels;
  const planeTaps = g.dims === 3 ? taps / g.kernel[0] : taps;
  return 2 * 4 * outVoxels * planeTaps * g.inChannels;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((n, i) => n === b[i]);
}

function session(op: ConvOp, g: ConvGeometry, shapes: ReturnType<typeof graphShapes>): CachedSession {
  const key = geometryKey(op, g);
  const hit = sessions.get(key);
  if (hit !== undefined) {
    sessions.delete(key);
    sessions.set(key, hit);
    return hit;
  }
  const { ort } = loadOrtSync();
  if (ort === undefined) throw new VoxshiftError('BACKEND_UNAVAILABLE', 'onnxruntime-node is not loaded');
  const bytes = buildConvGraph(op, g);
  const native = ort.newSession();
  native.loadModel(bytes.buffer, bytes.byteOffset, bytes.byteLength, {
    intraOpNumThreads: state.threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    enableCpuMemArena: true,
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  });
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
