/**
 * voxshift's WebAssembly SIMD kernels (kernels.wat) on the tfjs wasm heap, on the calling thread and on
 * `threads − 1` worker threads that share that heap. tfjs kernels must return synchronously, so a
 * parallel call hands each worker a slice through a shared control block (Atomics.notify), runs the
 * first slice itself and blocks in Atomics.wait until the workers are done. With one thread (the
 * plain, unshared SIMD heap) everything runs on the calling thread.
 *
 * The text is assembled with wabt when the wasm backend starts (tens of milliseconds); until then, and
 * on any wasm build without SIMD, `simdRuntime()` is undefined and callers use their JavaScript loops.
 */
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';

/** The module's exports; pointers are byte addresses on the wasm heap. */
export interface SimdExports {
  moments(u: number, v: number, su: number, sv: number, c: number, p0: number, p1: number, acc: number, sum1: number, sum2: number): void;
  normalize(x: number, y: number, s: number, d: number, r: number, c: number, p0: number, p1: number): void;
  combine(u: number, v: number, out: number, a: number, b: number, d: number, c: number, p0: number, p1: number): void;
  adam(
    p: number, m: number, v: number, g: number, po: number, mo: number, vo: number, i0: number, i1: number,
    beta1: number, beta2: number, stepSize: number, invSqrtBc2: number, eps: number,
  ): void;
}

export type SimdFunction = keyof SimdExports;
const FUNCTIONS: readonly SimdFunction[] = ['moments', 'normalize', 'combine', 'adam'];
const MAX_ARGS = 14;

/** One call of a SIMD function on one slice; the runtime runs slices[0] here, the rest on workers. */
export type SimdCall = { fn: SimdFunction; args: number[] };

// Control block per worker (Int32Array over a SharedArrayBuffer):
// [0] generation posted by the caller, [1] generation finished, [2] function index (−1: exit),
// [3] error flag, [4..4+MAX_ARGS) integer arguments; the float arguments travel in a Float32Array
// over the same buffer from FLOAT_BASE.
const HEADER = 4;
const FLOAT_BASE = HEADER + MAX_ARGS;
const CONTROL_INTS = FLOAT_BASE + MAX_ARGS;

const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { module, memory, control, names, floatArgs } = workerData;
const kernels = new WebAssembly.Instance(module, { env: { memory } }).exports;
const ints = new Int32Array(control);
const floats = new Float32Array(control);
let seen = 0;
for (;;) {
  Atomics.wait(ints, 0, seen);
  seen = Atomics.load(ints, 0);
  const index = ints[2];
  if (index < 0) break;
  try {
    const name = names[index];
    const args = [];
    for (let i = 0; i < ${MAX_ARGS}; i++) args.push(floatArgs[name].includes(i) ? floats[${FLOAT_BASE} + i] : ints[${HEADER} + i]);
    kernels[name](...args);
  } catch (error) {
    ints[3] = 1;
  }
  Atomics.store(ints, 1, seen);
  Atomics.notify(ints, 1);
}
`;

/** Which argument positions are float (the rest are i32 pointers/counts). */
const FLOAT_ARGS: Record<SimdFunction, number[]> = { moments: [], normalize: [], combine: [], adam: [9, 10, 11, 12, 13] };

interface WorkerSlot {
  worker: Worker;
  ints: Int32Array;
  floats: Float32Array;
  generation: number;
}

export interface SimdRuntime {
  readonly exports: SimdExports;
  /** Threads a parallel call uses (the caller's plus the workers). */
  readonly threads: number;
  /** Runs calls[i] on thread i (calls.length ≤ threads) and returns when all are done. */
  parallel(calls: SimdCall[]): void;
  /** Scratch on the wasm heap for `threads` slots of `bytesPerThread` each (16-byte aligned, zeroed when grown). */
  scratch(bytesPerThread: number): number[];
  close(): void;
}

let current: SimdRuntime | undefined;

export function simdRuntime(): SimdRuntime | undefined {
  return current;
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
  HEAPU8: Uint8Array;
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
  const parsed = wabt.parseWat('kernels.wat', watText(shared), { simd: true, threads: true });
  try {
    // Validated by the engine when compiled (wabt's own validate() ignores the parse features).
    return new WebAssemblyApi.Module(parsed.toBinary({}).buffer);
  } finally {
    parsed.destroy();
  }
}

/**
 * Starts the runtime on the wasm backend's heap with `threads` threads in all. Returns undefined (and
 * leaves the JavaScript kernels in charge) when the heap is not reachable or this Node has no SIMD.
 */
export async function startSimdRuntime(backend: { wasm: unknown }, threads: number): Promise<SimdRuntime | undefined> {
  closeSimdRuntime();
  const heap = backend.wasm as EmscriptenHeap;
  const memory = heap.wasmMemory ?? heap.asm?.memory;
  if (memory === undefined || typeof heap._malloc !== 'function') return undefined;
  const shared = memory.buffer instanceof SharedArrayBuffer;
  let module: WasmModule;
  try {
    module = await assemble(shared);
  } catch {
    return undefined; // no SIMD in this engine: the JavaScript loops stay
  }
  const exports = new WebAssemblyApi.Instance(module, { env: { memory } }).exports as unknown as SimdExports;
  const slots: WorkerSlot[] = [];
  const workerCount = shared ? Math.max(0, threads - 1) : 0;
  for (let i = 0; i < workerCount; i++) {
    const control = new SharedArrayBuffer(CONTROL_INTS * 4);
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { module, memory, control, names: FUNCTIONS, floatArgs: FLOAT_ARGS },
    });
    worker.unref();
    slots.push({ worker, ints: new Int32Array(control), floats: new Float32Array(control), generation: 0 });
  }
  let scratchBytes = 0;
  let scratchPtr = 0;
  const runtime: SimdRuntime = {
    exports,
    threads: 1 + slots.length,
    parallel(calls) {
      if (calls.length > 1 + slots.length) throw new Error(`simd runtime: ${calls.length} slices for ${1 + slots.length} threads`);
      for (let i = 1; i < calls.length; i++) post(slots[i - 1], calls[i]);
      let failure: unknown;
      try {
        invoke(exports, calls[0]);
      } catch (error) {
        failure = error;
      }
      for (let i = 1; i < calls.length; i++) {
        if (!join(slots[i - 1]) && failure === undefined) failure = new Error(`simd runtime: ${calls[i].fn} failed on worker ${i}`);
      }
      if (failure !== undefined) throw failure;
    },
    scratch(bytesPerThread) {
      const per = Math.ceil(bytesPerThread / 64) * 64;
      const total = per * (1 + slots.length);
      if (total > scratchBytes) {
        if (scratchPtr !== 0) heap._free(scratchPtr);
        scratchPtr = heap._malloc(total + 64) >>> 0;
        if (scratchPtr === 0) throw new Error(`simd runtime: could not allocate ${total} bytes of scratch on the wasm heap`);
        scratchBytes = total;
        const aligned = Math.ceil(scratchPtr / 64) * 64;
        new Uint8Array(memory.buffer, aligned, total).fill(0);
      }
      const base = Math.ceil(scratchPtr / 64) * 64;
      return Array.from({ length: 1 + slots.length }, (_, i) => base + i * per);
    },
    close() {
      for (const slot of slots) {
        slot.ints[2] = -1;
        Atomics.store(slot.ints, 0, ++slot.generation);
        Atomics.notify(slot.ints, 0);
        void slot.worker.terminate();
      }
      slots.length = 0;
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

function invoke(exports: SimdExports, call: SimdCall): void {
  (exports[call.fn] as (...a: number[]) => void)(...call.args);
}

function post(slot: WorkerSlot, call: SimdCall): void {
  const floats = FLOAT_ARGS[call.fn];
  slot.ints[2] = FUNCTIONS.indexOf(call.fn);
  slot.ints[3] = 0;
  call.args.forEach((a, i) => {
    if (floats.includes(i)) slot.floats[FLOAT_BASE + i] = a;
    else slot.ints[HEADER + i] = a | 0;
  });
  Atomics.store(slot.ints, 0, ++slot.generation);
  Atomics.notify(slot.ints, 0);
}

/** Waits for the slot's last call; false when it failed or the worker stopped answering (60 s). */
function join(slot: WorkerSlot): boolean {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const done = Atomics.load(slot.ints, 1);
    if (done === slot.generation) return slot.ints[3] === 0;
    if (Date.now() > deadline) return false;
    Atomics.wait(slot.ints, 1, done, 1000);
  }
}

/** Splits [0, n) into `parts` contiguous ranges (the first ones one longer when n does not divide). */
export function splitRange(n: number, parts: number): [number, number][] {
  const out: [number, number][] = [];
  let start = 0;
  for (let i = 0; i < parts; i++) {
    const end = start + Math.floor(n / parts) + (i < n % parts ? 1 : 0);
    out.push([start, end]);
    start = end;
  }
  return out;
}
