/**
 * Generators on onnxruntime-node: one InferenceSession per model, created once and reused for every
 * call (intra-op threads = cores, full graph optimisation). The CUDA execution provider is used when
 * its libraries are installed beside onnxruntime-node (ONNXRUNTIME_NODE_INSTALL=cuda12 at install
 * time), else the CPU one that ships inside the package. Calls take and return channels-last float32
 * buffers like the tfjs generators ([batch, ...spatial, channels]); with one channel that is the same
 * memory as ONNX's channels-first layout, so nothing is copied on the way in.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join } from 'node:path';
import type * as Ort from 'onnxruntime-node';
import { VoxshiftError } from '../../volumes/errors.ts';
import { ONNX_INPUT, ONNX_OUTPUT, transposeArray } from '../export/onnx-export.ts';
import type { BufferGenerator } from './options.ts';

type OrtModule = typeof Ort;
export type ExecutionProvider = 'auto' | 'cpu' | 'cuda';

export interface OnnxGeneratorOptions {
  /** Intra-op threads (default: the machine's cores). */
  threads?: number;
  /** 'auto' (default): CUDA when its provider library is installed, else CPU. */
  provider?: ExecutionProvider;
  /** Told which provider was chosen, and why a CUDA attempt fell back to the CPU. */
  log?: (message: string) => void;
  /**
   * Write every output of one shape into the same buffer (onnxruntime fills a pre-allocated output):
   * the array a call returns is then overwritten by the next call of that shape. For callers that
   * consume each output before the next call, as translateVolume does.
   */
  reuseOutput?: boolean;
}

export interface OnnxGenerator extends BufferGenerator {
  readonly provider: 'cpu' | 'cuda';
  readonly threads: number;
  /** e.g. "onnxruntime-node 1.30.0, CPU execution provider, 2 threads". */
  readonly description: string;
  readonly spatialDims: 2 | 3;
  readonly inputChannels: number;
  readonly outputChannels: number;
  /** Frees the session; later calls reject. */
  release(): Promise<void>;
}

let ortModule: Promise<OrtModule> | undefined;

/** onnxruntime-node, loaded on first use (tfjs-only runs never load the native library). */
export function loadOnnxRuntime(): Promise<OrtModule> {
  ortModule ??= import('onnxruntime-node')
    .then((ns) => (ns as unknown as { default?: OrtModule }).default ?? (ns as unknown as OrtModule))
    .catch((e: unknown) => {
      ortModule = undefined;
      throw new VoxshiftError('BACKEND_UNAVAILABLE', `onnxruntime-node cannot be loaded (${(e as Error).message}); reinstall with \`npm ci\` or use --runtime tfjs`, {
        param: 'runtime',
        cause: e,
      });
    });
  return ortModule;
}

/** Whether onnxruntime-node's CUDA provider library is installed (it is not bundled in the npm package). */
export function cudaProviderInstalled(): boolean {
  try {
    const pkg = dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
    return existsSync(join(pkg, 'bin', 'napi-v6', process.platform, process.arch, 'libonnxruntime_providers_cuda.so'));
  } catch {
    return false;
  }
}

function modelShape(session: Ort.InferenceSession): { dims: 2 | 3; inC: number; outC: number } {
  const meta = session.inputMetadata.find((m) => m.name === ONNX_INPUT);
  const out = session.outputMetadata.find((m) => m.name === ONNX_OUTPUT);
  if (!meta || !meta.isTensor || !out || !out.isTensor) {
    throw new VoxshiftError('INCOMPATIBLE_CHECKPOINT', `the ONNX model has no tensor input "${ONNX_INPUT}" and output "${ONNX_OUTPUT}" (not a voxshift export)`, {
      param: 'model',
      details: { inputs: session.inputNames, outputs: session.outputNames },
    });
  }
  const rank = meta.shape.length;
  if ((rank !== 4 && rank !== 5) || typeof meta.shape[1] !== 'number' || typeof out.shape[1] !== 'number') {
    throw new VoxshiftError('INCOMPATIBLE_CHECKPOINT', `the ONNX model's input has shape [${meta.shape.join(', ')}], expected [batch, channels, ...2 or 3 spatial axes]`, {
      param: 'model',
    });
  }
  return { dims: rank === 4 ? 2 : 3, inC: meta.shape[1], outC: out.shape[1] };
}

/** Creates the session for an ONNX model (a file path or its bytes). */
export async function createOnnxGenerator(model: string | Uint8Array, options: OnnxGeneratorOptions = {}): Promise<OnnxGenerator> {
  const ort = await loadOnnxRuntime();
  const threads = options.threads ?? os.availableParallelism();
  if (!Number.isInteger(threads) || threads < 1) {
    throw new VoxshiftError('INVALID_ARGUMENT', `threads must be a positive integer, got ${JSON.stringify(options.threads)}`, { param: 'threads' });
  }
  const requested = options.provider ?? 'auto';
  if (requested !== 'auto' && requested !== 'cpu' && requested !== 'cuda') {
    throw new VoxshiftError('INVALID_ARGUMENT', `provider must be auto, cpu or cuda, got ${JSON.stringify(requested)}`, { param: 'provider' });
  }
  const base: Ort.InferenceSession.SessionOptions = {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  };
  // A failed CUDA attempt is reported by us (or falls back), not logged by onnxruntime as an error.
  const open = (providers: string[]): Promise<Ort.InferenceSession> => {
    const o = { ...base, executionProviders: providers, ...(providers[0] === 'cuda' ? { logSeverityLevel: 4 as const } : {}) };
    return typeof model === 'string' ? ort.InferenceSession.create(model, o) : ort.InferenceSession.create(model, o);
  };
  let session: Ort.InferenceSession | undefined;
  let provider: 'cpu' | 'cuda' = 'cpu';
  const tryCuda = requested === 'cuda' || (requested === 'auto' && cudaProviderInstalled());
  try {
    if (tryCuda) {
      try {
        session = await open(['cuda']);
        provider = 'cuda';
      } catch (e) {
        if (requested === 'cuda') {
          throw new VoxshiftError(
            'BACKEND_UNAVAILABLE',
            `the CUDA execution provider is not available (${(e as Error).message.split('\n')[0]}); install it with ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node, or use the CPU`,
            { param: 'provider', cause: e },
          );
        }
        options.log?.(`onnxruntime: CUDA provider failed (${(e as Error).message.split('\n')[0]}); using the CPU`);
      }
    }
    session ??= await open(['cpu']);
  } catch (e) {
    if (e instanceof VoxshiftError) throw e;
    throw new VoxshiftError('CORRUPT_CHECKPOINT', `onnxruntime cannot load the model (${(e as Error).message.split('\n')[0]})`, {
      ...(typeof model === 'string' ? { file: model } : {}),
      param: 'model',
      cause: e,
    });
  }
  const s = session;
  const { dims, inC, outC } = modelShape(s);
  const description = `onnxruntime-node ${ort.env.versions.node ?? ''}, ${provider === 'cuda' ? 'CUDA' : 'CPU'} execution provider, ${threads} thread${threads === 1 ? '' : 's'}`;
  options.log?.(`onnxruntime: ${description}`);
  let released = false;
  // The reused output (1 → 1 channel only: otherwise the result is a transposed copy anyway).
  let reused: { size: number; data: Float32Array } | undefined;

  const run = async (input: Float32Array, shape: readonly number[]): Promise<Float32Array> => {
    if (released) throw new VoxshiftError('INVALID_ARGUMENT', 'the ONNX session was released', { param: 'generator' });
    const rank = dims + 2;
    if (shape.length !== rank || shape[rank - 1] !== inC || !shape.every((n) => Number.isInteger(n) && n > 0)) {
      throw new VoxshiftError('INVALID_ARGUMENT', `the ONNX generator expects [batch, ${dims === 2 ? 'H, W' : 'D, H, W'}, ${inC}], got [${shape.join(', ')}]`, {
        param: 'input',
        details: { received: shape },
      });
    }
    const size = shape.reduce((a, b) => a * b, 1);
    if (input.length !== size) {
      throw new VoxshiftError('INVALID_ARGUMENT', `input has ${input.length} values, shape [${shape.join(', ')}] needs ${size}`, { param: 'input' });
    }
    const toFirst = [0, rank - 1, ...Array.from({ length: dims }, (_, i) => i + 1)];
    const nchw = [shape[0], inC, ...shape.slice(1, -1)];
    const data = inC === 1 ? input : transposeArray(input, shape, toFirst);
    const x = new ort.Tensor('float32', data, nchw);
    if (options.reuseOutput && inC === 1 && outC === 1) {
      // A generator keeps the spatial size: the output is [batch, 1, ...spatial].
      if (reused?.size !== size) reused = { size, data: new Float32Array(size) };
      await s.run({ [ONNX_INPUT]: x }, { [ONNX_OUTPUT]: new ort.Tensor('float32', reused.data, [shape[0], 1, ...shape.slice(1, -1)]) });
      return reused.data;
    }
    const result = await s.run({ [ONNX_INPUT]: x });
    const y = result[ONNX_OUTPUT] as Ort.Tensor;
    const ys = y.dims as readonly number[];
    const yData = y.data as Float32Array;
    if (outC === 1) return yData;
    const toLast = [0, ...Array.from({ length: dims }, (_, i) => i + 2), 1];
    return transposeArray(yData, ys, toLast);
  };

  return {
    provider,
    threads,
    description,
    spatialDims: dims,
    inputChannels: inC,
    outputChannels: outC,
    run,
    release: async () => {
      if (released) return;
      released = true;
      await s.release();
    },
  };
}
