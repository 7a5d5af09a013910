/**
 * voxshift's WebAssembly SIMD kernels (kernels.wat), instantiated on the tfjs wasm heap: the module
 * imports that memory, so the kernels read and write tensors in place, on the calling thread.
 *
 * Single-threaded on purpose: splitting instance norm over a worker thread that shares the heap (a
 * slice each, Atomics.notify / Atomics.wait) made a 128² CycleGAN step slower — waking the worker
 * between onnxruntime's convolutions cost more than the half it took over (instance norm 166 ms of a
 * step with the worker, 45 ms without, in one same-machine run).
 *
 * The text is assembled with wabt when the wasm backend starts (tens of milliseconds); until then, and
 * on an engine without SIMD, `simdRuntime()` is undefined and callers use their JavaScript loops.
 */
import { readFileSync } from 'node:fs';
import { getBackend, getKernel } from '@tensorflow/tfjs-core';

/** The module's exports; pointers are byte addresses on the wasm heap. */
export interface SimdExports {
  moments(u: number, v: number, su: number, sv: number, c: number, n: number, acc: number, sum1: number, sum2: number): void;
  normalize(x: number, y: number, s: number, d: number, r: number, c: number, n: number): void;
  combine(u: number, v: number, out: number, a: number, b: number, d: number, c: number, n: number): void;
  adam(
    p: number, m: number, v: number, g: number, po: number, mo: number, vo: number, n: number,
    beta1: number, beta2: number, stepSize: number, invSqrtBc2: number, eps: number,
  ): void;
  leaky(x: number, y: number, n: number, alpha: number): void;
  leaky_grad(x: number, dy: number, dx: number, n: number, alpha: number, nanOut: number): void;
  add(a: number, b: number, out: number, n: number): void;
  mirror_fold(dy: number, dx: number, c: number, h: number, w: number, d: number, dp: number, hp: number, wp: number, mapD: number, mapH: number, mapW: number): void;
}

export interface SimdRuntime {
  readonly exports: SimdExports;
  /** `bytes` of zeroed scratch on the wasm heap (64-byte aligned; kept and reused, grown on demand). */
  scratch(bytes: number): number;
  close(): void;
}

let current: SimdRuntime | undefined;

export function simdRuntime(): SimdRuntime | undefined {
  return current;
}

/** Whether an op may run `kernelName` now: wasm is the current backend, the runtime runs, the kernel is registered. */
export function simdKernelUsable(kernelName: string): boolean {
  return current !== undefined && getBackend() === 'wasm' && getKernel(kernelName, 'wasm') !== undefined;
}

// The tsconfig's libs have no WebAssembly JS API types: the part used here.
interface WasmMemory {
  readonly buffer: ArrayBufferLike;
}
type WasmModule = object;
const WebAssemblyApi = (
  globalThis as unknown as {
    WebAssembly: {
      Module: new (bytes: Uint8Array) => WasmModule;
      Instance: new (module: WasmModule, imports: object) => { exports: object };
    };
  }
).WebAssembly;

interface EmscriptenHeap {
  _malloc(bytes: number): number;
  _free(ptr: number): void;
  /** The threaded build's (shared) memory. */
  wasmMemory?: WasmMemory;
  /** The plain build exports its memory instead. */
  asm?: { memory?: WasmMemory };
}

function watText(shared: boolean): string {
  const text = readFileSync(new URL('./kernels.wat', import.meta.url), 'utf8');
  return shared ? text : text.replace('(memory 1 65536 shared)', '(memory 1 65536)');
}

async function assemble(shared: boolean): Promise<WasmModule> {
  const { default: initWabt } = await import('wabt');
  const wabt = await initWabt();
  const parsed = wabt.parseWat('kernels.wat', watText(shared), { simd: true, threads: true, bulk_memory: true });
  try {
    // Validated by the engine when compiled (wabt's own validate() ignores the parse features).
    return new WebAssemblyApi.Module(parsed.toBinary({}).buffer);
  } finally {
    parsed.destroy();
  }
}

/**
 * Instantiates the kernels on the wasm backend's heap. Returns undefined (and leaves the JavaScript
 * kernels in charge) when the heap is not reachable or this engine has no SIMD.
 */
export async function startSimdRuntime(backend: { wasm: unknown }): Promise<SimdRuntime | undefined> {
  closeSimdRuntime();
  const heap = backend.wasm as EmscriptenHeap;
  const memory = heap.wasmMemory ?? heap.asm?.memory;
  if (memory === undefined || typeof heap._malloc !== 'function') return undefined;
  let module: WasmModule;
  try {
    module = await assemble(memory.buffer instanceof SharedArrayBuffer);
  } catch {
    return undefined; // no SIMD in this engine: the JavaScript loops stay
  }
  const exports = new WebAssemblyApi.Instance(module, { env: { memory } }).exports as unknown as SimdExports;
  let scratchBytes = 0;
  let scratchPtr = 0;
  const runtime: SimdRuntime = {
    exports,
    scratch(bytes) {
      if (bytes > scratchBytes) {
        if (scratchPtr !== 0) heap._free(scratchPtr);
        scratchBytes = Math.ceil(bytes / 64) * 64;
        scratchPtr = heap._malloc(scratchBytes + 64) >>> 0;
        if (scratchPtr === 0) throw new Error(`simd runtime: could not allocate ${scratchBytes} bytes of scratch on the wasm heap`);
      }
      const base = Math.ceil(scratchPtr / 64) * 64;
      new Uint8Array(memory.buffer, base, bytes).fill(0);
      return base;
    },
    close() {
      if (scratchPtr !== 0) heap._free(scratchPtr);
      scratchPtr = 0;
      scratchBytes = 0;
      if (current === runtime) current = undefined;
    },
  };
  current = runtime;
  return runtime;
}

export function closeSimdRuntime(): void {
  current?.close();
}
