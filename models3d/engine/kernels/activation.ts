/**
 * ReLU, leaky ReLU, their gradient and same-shape Add as single SIMD passes on the wasm heap. tfjs-wasm's own
 * LeakyRelu runs at ~4.7 ns per value; its ReLU is fast alone (0.4 ns) but took ~0.5 ms per 32²×128
 * call inside a training step (XNNPACK's thread pool waking after onnxruntime's convolutions); and
 * tfjs-core's gradients compose three kernels each (ReLU: Step, Cast, Multiply; leaky ReLU: Greater,
 * Multiply, Select).
 * - `Relu`, `LeakyRelu` (replace the stock wasm kernels): y = x < 0 ? α·x : x (α = 0 for ReLU).
 * - `VoxshiftActivationGrad` {x, dy} (alpha, nanOut): dx = x > 0 ? dy : α·dy, and where x is NaN
 *   what tfjs-core's formulas give (ReLU: NaN, leaky ReLU: α·dy); the ReLU and LeakyRelu gradients
 *   (op-gradient-fixes.ts) use it on wasm when the SIMD runtime runs, tfjs-core's formulas elsewhere.
 */
import { Add, LeakyRelu, Relu, util, type KernelConfig, type KernelFunc, type LeakyReluAttrs, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { allocF32, f32Offset } from './conv2d-util.ts';
import { stockWasmKernel } from './util-stock-kernels.ts';
import { simdRuntime } from '../simd/simd-runtime.ts';

export const ACTIVATION_GRAD = 'VoxshiftActivationGrad';

function leakyKernel(kernelName: string, alphaOf: (attrs: unknown) => number): KernelFunc {
  return (args) => {
    const { inputs, backend, attrs } = args;
    const { x } = inputs as { x: TensorInfo };
    const rt = simdRuntime();
    if (rt === undefined || x.dtype !== 'float32') return runStock(kernelName, args);
    const wasm = backend as BackendWasm;
    const out = allocF32(wasm, x.shape);
    rt.exports.leaky(4 * f32Offset(wasm, x.dataId), 4 * f32Offset(wasm, out.dataId), util.sizeFromShape(x.shape), alphaOf(attrs));
    return out;
  };
}

function runStock(name: string, args: Parameters<KernelFunc>[0]): TensorInfo | TensorInfo[] {
  const stock = stockWasmKernel(name);
  if (stock === undefined) throw new Error(`voxshift engine: no stock wasm ${name} kernel to fall back to`);
  return stock.kernelFunc(args) as TensorInfo | TensorInfo[];
}

const activationGrad: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, dy } = inputs as Record<'x' | 'dy', TensorInfo>;
  const rt = simdRuntime();
  if (rt === undefined) throw new Error(`${ACTIVATION_GRAD}: the SIMD runtime is not running`);
  if (x.dtype !== 'float32' || dy.dtype !== 'float32' || !util.arraysEqual(x.shape, dy.shape)) {
    throw new Error(`${ACTIVATION_GRAD}: expected float32 x and dy of one shape, got ${x.dtype} [${x.shape.join(', ')}] and ${dy.dtype} [${dy.shape.join(', ')}]`);
  }
  const wasm = backend as BackendWasm;
  const out = allocF32(wasm, x.shape);
  const [ax, ady, adx] = [x, dy, out].map((t) => 4 * f32Offset(wasm, t.dataId));
  const { alpha, nanOut } = attrs as { alpha: number; nanOut: boolean };
  rt.exports.leaky_grad(ax, ady, adx, util.sizeFromShape(x.shape), alpha, nanOut ? 1 : 0);
  return out;
};

/**
 * Add of two float32 tensors of one shape (a residual connection) as one SIMD pass; broadcasting and
 * other dtypes go to the stock kernel. Inside a training step the stock (XNNPACK, threaded) Add took
 * ~0.5 ms per 32²×128 call, like ReLU: its pool wakes up after each onnxruntime convolution.
 */
const add: KernelFunc = (args) => {
  const { inputs, backend } = args;
  const { a, b } = inputs as Record<'a' | 'b', TensorInfo>;
  const rt = simdRuntime();
  if (rt === undefined || a.dtype !== 'float32' || b.dtype !== 'float32' || !util.arraysEqual(a.shape, b.shape)) return runStock(Add, args);
  const wasm = backend as BackendWasm;
  const out = allocF32(wasm, a.shape);
  const [aa, ab, ao] = [a, b, out].map((t) => 4 * f32Offset(wasm, t.dataId));
  rt.exports.add(aa, ab, ao, util.sizeFromShape(a.shape));
  return out;
};

export const activationConfigs: KernelConfig[] = [
  { kernelName: Add, backendName: 'wasm', kernelFunc: add },
  { kernelName: Relu, backendName: 'wasm', kernelFunc: leakyKernel(Relu, () => 0) },
  { kernelName: LeakyRelu, backendName: 'wasm', kernelFunc: leakyKernel(LeakyRelu, (attrs) => (attrs as LeakyReluAttrs).alpha) },
  { kernelName: ACTIVATION_GRAD, backendName: 'wasm', kernelFunc: activationGrad },
];
