/**
 * The one module that starts TensorFlow.js. Entry points call `initBackend()` once; everything else
 * imports tf from `@tensorflow/tfjs-core` and never sets a backend itself.
 *
 * auto: @tensorflow/tfjs-node-gpu → @tensorflow/tfjs-node → WebAssembly (XNNPACK + voxshift kernels).
 * The native packages are optional: they are loaded with a dynamic import when present.
 */
import { createRequire, register } from 'node:module';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { VoxshiftError } from '../../volumes/errors.ts';
import { registerWasmKernels, restoreStockWasmKernels } from './kernels/index.ts';
import { CONV_ENGINES, configureConvEngine, releaseConvSessions, type ConvEngine, type ConvEngineInfo } from './native-conv/native-conv.ts';
import { registerGradientFixes } from './kernels/op-gradient-fixes.ts';
import { closeSimdRuntime, startSimdRuntime } from './simd/simd-runtime.ts';

export type BackendKind = 'auto' | 'gpu' | 'cpu' | 'wasm';

export interface InitBackendOptions {
  /** WebAssembly threads (default: the cores this process may use, at most 8). Ignored by native backends. */
  threads?: number;
  /** Where to say which backend was chosen (default: silent). */
  log?: (msg: string) => void;
  /**
   * wasm only: where convolutions run. 'auto' (default): onnxruntime's CPU kernels when
   * onnxruntime-node loads (2–4× faster than XNNPACK in WebAssembly), else XNNPACK; 'xnnpack': always
   * in WebAssembly; 'onnxruntime': fail when it cannot load. Default: $VOXSHIFT_CONV_ENGINE or 'auto'.
   * See native-conv/native-conv.ts.
   */
  convEngine?: ConvEngine;
}

export interface BackendInfo {
  /** tfjs backend name: 'tensorflow' (native, CPU or CUDA), 'wasm' or 'cpu'. */
  backend: string;
  /** Compute threads (wasm: XNNPACK threads; native: 0 = managed by libtensorflow; cpu: 1). */
  threads: number;
  description: string;
  /** wasm: where its convolutions run. */
  convEngine?: ConvEngineInfo;
}

const NATIVE_PACKAGES = { gpu: '@tensorflow/tfjs-node-gpu', node: '@tensorflow/tfjs-node' } as const;
/** XNNPACK's thread pool in tfjs-backend-wasm is capped at 8 (PTHREAD_POOL_SIZE). */
const MAX_WASM_THREADS = 8;

interface WasmModuleInternals {
  PThread?: { runningWorkers: Array<{ unref(): void }>; terminateAllThreads(): void };
}
interface WasmBackendInternals {
  wasm: WasmModuleInternals;
}

type WasmPackage = typeof import('@tensorflow/tfjs-backend-wasm');

const state: {
  current?: BackendInfo;
  kind?: BackendKind;
  wasm?: { info: BackendInfo; requestedThreads: number };
  wasmFactory?: () => tf.KernelBackend | Promise<tf.KernelBackend>;
  wasmPathsSet: boolean;
  cpuRegistered: boolean;
  resolveHookRegistered: boolean;
} = { wasmPathsSet: false, cpuRegistered: false, resolveHookRegistered: false };

/** The tfjs-core namespace every voxshift module uses (the same instance the backends registered in). */
export function getTf(): typeof tf {
  return tf;
}

/** What `initBackend` chose last, or undefined before it ran. */
export function backendInfo(): BackendInfo | undefined {
  return state.current;
}

/**
 * Starts (or re-selects) a compute backend and makes it tf's active backend. Idempotent: calling it
 * again with the same kind returns the same answer without re-initialising. Switching kinds in one
 * process is allowed (tests compare wasm with cpu); the wasm thread count is fixed for the life of the
 * wasm backend unless `shutdownBackend()` is called first.
 */
export async function initBackend(
  kind: BackendKind = 'auto',
  options: InitBackendOptions = {},
): Promise<BackendInfo> {
  const log = options.log ?? (() => {});
  if (!['auto', 'gpu', 'cpu', 'wasm'].includes(kind)) {
    throw new VoxshiftError('INVALID_ARGUMENT', `backend must be 'auto', 'gpu', 'cpu' or 'wasm'; received ${JSON.stringify(kind)}`, {
      param: 'backend',
    });
  }
  if (options.threads !== undefined && (!Number.isInteger(options.threads) || options.threads < 1)) {
    throw new VoxshiftError('INVALID_ARGUMENT', `threads must be a positive integer; received ${String(options.threads)}`, {
      param: 'threads',
    });
  }
  await registerGradients();
  // Fixes to tfjs-core gradients (e.g. MirrorPad) hold on every backend, not only on wasm.
  registerGradientFixes();
  if (state.current !== undefined && state.kind === kind && tf.getBackend() === state.current.backend) {
    if (state.current.backend === 'wasm' && options.convEngine !== undefined) state.current = withConvEngine(state.current, options.convEngine);
    return state.current;
  }
  let info: BackendInfo;
  if (kind === 'cpu') {
    info = await startCpu();
  } else if (kind === 'wasm') {
    info = await startWasm(options.threads, log);
  } else if (kind === 'gpu') {
    const native = await tryNative('gpu', log);
    if (native.info === undefined) {
      throw new VoxshiftError(
        'BACKEND_UNAVAILABLE',
        `the CUDA backend was requested but ${NATIVE_PACKAGES.gpu} could not be loaded (${native.reason}). ` +
          `Install it next to voxshift with \`npm install ${NATIVE_PACKAGES.gpu}@${tf.version_core}\` ` +
          `(needs an NVIDIA GPU with CUDA and cuDNN, and network access to download libtensorflow), ` +
          `or use --backend auto / wasm.`,
        { param: 'backend', details: { package: NATIVE_PACKAGES.gpu, reason: native.reason }, cause: native.cause },
      );
    }
    info = native.info;
  } else {
    info = (await tryNative('gpu', log)).info ?? (await tryNative('node', log)).info ?? (await startWasm(options.threads, log));
  }
  if (info.backend === 'wasm') info = withConvEngine(info, options.convEngine ?? defaultConvEngine());
  state.current = info;
  state.kind = kind;
  log(`voxshift: compute backend ${info.backend} — ${info.description}`);
  return info;
}

/** VOXSHIFT_CONV_ENGINE (auto | onnxruntime | xnnpack) sets the default for every entry point. */
function defaultConvEngine(): ConvEngine {
  const v = process.env.VOXSHIFT_CONV_ENGINE;
  if (v === undefined || v === '') return 'auto';
  if (!(CONV_ENGINES as readonly string[]).includes(v)) {
    throw new VoxshiftError('INVALID_ARGUMENT', `VOXSHIFT_CONV_ENGINE must be one of ${CONV_ENGINES.join(', ')}, got ${JSON.stringify(v)}`, { param: 'VOXSHIFT_CONV_ENGINE' });
  }
  return v as ConvEngine;
}

function withConvEngine(info: BackendInfo, engine: ConvEngine): BackendInfo {
  const convEngine = configureConvEngine(engine, info.threads);
  const base = info.description.replace(/; convolutions on .*$/, '');
  return { ...info, convEngine, description: `${base}; convolutions on ${convEngine.description}` };
}

/**
 * Stops the wasm worker threads and removes the wasm backend so the process can exit and a later
 * `initBackend('wasm', { threads })` starts afresh. Tensors on the wasm backend become invalid.
 * (The worker threads are unref'ed after start-up, so a CLI exits on its own without this call.)
 */
export function shutdownBackend(): void {
  releaseConvSessions();
  closeSimdRuntime();
  const backend = wasmBackendIfStarted();
  if (backend !== undefined) {
    // Stock kernels bind to the wasm module in their setup; the next backend must set them up again.
    restoreStockWasmKernels();
    backend.wasm.PThread?.terminateAllThreads();
    tf.removeBackend('wasm');
    if (state.wasmFactory !== undefined) tf.registerBackend('wasm', state.wasmFactory, 2);
  }
  state.wasm = undefined;
  state.current = undefined;
  state.kind = undefined;
}

/**
 * tfjs-core's gradients ship only as ES modules with extension-less relative imports, which plain
 * Node cannot resolve (the CJS bundle `main` has none). Load them once, through a resolve hook scoped to
 * tfjs-core's dist folder.
 */
export async function registerGradients(): Promise<void> {
  if (tf.getGradient('Conv2D') !== undefined) return;
  // The hook must be in place before the first attempt: Node caches a failed module graph.
  if (!state.resolveHookRegistered) {
    register(`data:text/javascript,${encodeURIComponent(TFJS_CORE_RESOLVE_HOOK)}`);
    state.resolveHookRegistered = true;
  }
  try {
    await import('@tensorflow/tfjs-core/dist/register_all_gradients.js');
  } catch (cause) {
    throw new VoxshiftError('BACKEND_UNAVAILABLE', `could not load tfjs-core's gradient functions: ${errorMessage(cause)}`, { cause });
  }
  if (tf.getGradient('Conv2D') === undefined) {
    throw new VoxshiftError('BACKEND_UNAVAILABLE', "tfjs-core's gradients loaded but registered in another tfjs-core instance");
  }
}

/** Node resolve hook: inside tfjs-core/dist, './x' means './x.js' (or './x/index.js'). */
const TFJS_CORE_RESOLVE_HOOK = `
export async function resolve(specifier, context, nextResolve) {
  try {
    return await nextResolve(specifier, context);
  } catch (error) {
    const parent = context.parentURL ?? '';
    if (!specifier.startsWith('.') || !parent.includes('/@tensorflow/tfjs-core/dist/')) throw error;
    for (const suffix of ['.js', '/index.js']) {
      try {
        return await nextResolve(specifier + suffix, context);
      } catch {}
    }
    throw error;
  }
}
`;

async function startCpu(): Promise<BackendInfo> {
  if (!state.cpuRegistered) {
    await import('@tensorflow/tfjs-backend-cpu');
    state.cpuRegistered = true;
  }
  await setBackendOrThrow('cpu');
  // The cpu backend's first write prints an advert for tfjs-node; the choice was deliberate here.
  (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false;
  return { backend: 'cpu', threads: 1, description: 'pure JavaScript (reference kernels; slow, for testing only)' };
}

async function startWasm(requested: number | undefined, log: (msg: string) => void): Promise<BackendInfo> {
  const wanted = Math.min(requested ?? defaultThreads(), MAX_WASM_THREADS);
  if (state.wasm !== undefined && wasmBackendIfStarted() !== undefined) {
    if (requested !== undefined && wanted !== state.wasm.requestedThreads) {
      log(
        `voxshift: the wasm backend already runs with ${state.wasm.info.threads} thread(s); ` +
          `call shutdownBackend() first to change it to ${wanted}`,
      );
    }
    await setBackendOrThrow('wasm');
    return state.wasm.info;
  }
  const wasm: WasmPackage = await import('@tensorflow/tfjs-backend-wasm');
  const require = createRequire(import.meta.url);
  const distDir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
  if (!state.wasmPathsSet) {
    wasm.setWasmPaths(`${distDir}${path.sep}`);
    state.wasmPathsSet = true;
  }
  state.wasmFactory ??= tf.findBackendFactory('wasm') ?? undefined;
  let threads = wanted;
  if (threads > 1 && !threadPatchApplied(path.join(distDir, 'tf-backend-wasm.node.js'))) {
    log(
      'voxshift: @tensorflow/tfjs-backend-wasm is not patched for Node worker threads ' +
        '(run `npx patch-package` in the voxshift folder); using 1 thread',
    );
    threads = 1;
  }
  // With one thread the plain SIMD binary is used: no workers at all.
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', threads > 1);
  wasm.setThreadsCount(threads);
  const listenersBefore = {
    uncaughtException: process.listeners('uncaughtException'),
    unhandledRejection: process.listeners('unhandledRejection'),
  };
  try {
    await setBackendOrThrow('wasm');
  } finally {
    // The Emscripten glue installs process-wide handlers that re-throw every uncaught error (printing
    // a screen of minified glue code); Node's own handling is the same without them.
    for (const event of ['uncaughtException', 'unhandledRejection'] as const) {
      for (const listener of process.listeners(event)) {
        if (!(listenersBefore[event] as unknown[]).includes(listener)) process.removeListener(event, listener as never);
      }
    }
  }
  const backend = wasmBackendIfStarted();
  // XNNPACK's pool threads stay alive waiting for work; do not let them keep the process running.
  for (const worker of backend?.wasm.PThread?.runningWorkers ?? []) worker.unref();
  registerWasmKernels();
  const actual = wasm.getThreadsCount();
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  // VOXSHIFT_SIMD=0 keeps instance norm, Adam, the activations, Add and the mirror-pad gradient on
  // their JavaScript loops / stock kernels (for A/B benchmarks).
  const simdKernels = backend !== undefined && process.env.VOXSHIFT_SIMD !== '0' ? await startSimdRuntime(backend) : undefined;
  const info: BackendInfo = {
    backend: 'wasm',
    threads: actual,
    description:
      `WebAssembly (XNNPACK${simd ? ', SIMD' : ''}, ${actual} thread${actual === 1 ? '' : 's'}) with voxshift kernels` +
      (simdKernels !== undefined ? ' (instance norm and Adam as voxshift wasm SIMD kernels, with the activations, Add and the mirror-pad gradient)' : ''),
  };
  if (actual !== threads) log(`voxshift: asked the wasm backend for ${threads} threads, it runs ${actual}`);
  state.wasm = { info, requestedThreads: wanted };
  return info;
}

async function tryNative(
  which: 'gpu' | 'node',
  log: (msg: string) => void,
): Promise<{ info?: BackendInfo; reason: string; cause?: unknown }> {
  const name = NATIVE_PACKAGES[which];
  try {
    // A variable specifier: the package is optional and not a dependency.
    const specifier: string = name;
    await import(specifier);
  } catch (cause) {
    const missing = isModuleNotFound(cause, name);
    const reason = missing ? 'not installed' : `failed to load: ${errorMessage(cause)}`;
    log(`voxshift: ${name} ${reason}`);
    return { reason, cause };
  }
  if (tf.findBackendFactory('tensorflow') === null) {
    const reason =
      `it is installed but registered its backend with another copy of @tensorflow/tfjs-core; ` +
      `install ${name}@${tf.version_core} so that npm shares tfjs-core ${tf.version_core}`;
    log(`voxshift: ${name}: ${reason}`);
    return { reason };
  }
  try {
    await setBackendOrThrow('tensorflow');
  } catch (cause) {
    const reason = `failed to start: ${errorMessage(cause)}`;
    log(`voxshift: ${name} ${reason}`);
    return { reason, cause };
  }
  const description = which === 'gpu' ? 'native TensorFlow with CUDA (tfjs-node-gpu)' : 'native TensorFlow on CPU (tfjs-node)';
  return { info: { backend: 'tensorflow', threads: 0, description }, reason: 'ok' };
}

async function setBackendOrThrow(name: string): Promise<void> {
  let ok: boolean;
  try {
    ok = await tf.setBackend(name);
  } catch (cause) {
    throw new VoxshiftError('BACKEND_UNAVAILABLE', `the ${name} backend failed to start: ${errorMessage(cause)}`, {
      param: 'backend',
      cause,
    });
  }
  if (!ok) {
    throw new VoxshiftError('BACKEND_UNAVAILABLE', `the ${name} backend failed to start`, { param: 'backend' });
  }
  await tf.ready();
}

function wasmBackendIfStarted(): WasmBackendInternals | undefined {
  if (tf.findBackendFactory('wasm') === null) return undefined;
  // findBackend only returns a backend that has already been initialised.
  const backend = tf.engine().registry['wasm'] as unknown;
  return backend === undefined ? undefined : (backend as WasmBackendInternals);
}

/** Cores this process may use: CPU affinity, and a cgroup v2 CPU quota when one is set (containers). */
export function defaultThreads(): number {
  let cores = os.availableParallelism();
  try {
    const [quota, period] = readFileSync('/sys/fs/cgroup/cpu.max', 'utf8').trim().split(/\s+/);
    if (quota !== 'max' && Number(period) > 0) cores = Math.min(cores, Math.max(1, Math.ceil(Number(quota) / Number(period))));
  } catch {
    // No cgroup v2 quota (or not Linux): affinity is all there is.
  }
  return cores;
}

function threadPatchApplied(bundle: string): boolean {
  try {
    return readFileSync(bundle, 'utf8').includes('writeNodeWorkerScript');
  } catch {
    return false;
  }
}

function isModuleNotFound(error: unknown, name: string): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && errorMessage(error).includes(name);
}

function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'object' && error !== null && 'message' in error) return String((error as { message: unknown }).message);
  return String(error);
}
