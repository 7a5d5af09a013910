/**
 * Conv3D throughput on the wasm backend: voxshift's kernels (sums of XNNPACK Conv2D over depth taps)
 * against the stock tfjs-backend-wasm kernels, on 3-D CycleGAN-like layers.
 *
 *   npx tsx bench/engine-conv3d.ts [--threads N] [--reps N]
 *
 * Prints GFLOP/s (2·MACs / time, median of the repetitions) for the forward pass and both gradients,
 * and the largest difference between the two implementations (the stock Conv3DBackpropInputV2 is
 * wrong, so a large difference there is expected).
 */
import * as tf from '@tensorflow/tfjs-core';
import { getKernel, registerKernel, unregisterKernel, type KernelConfig, type NamedAttrMap } from '@tensorflow/tfjs-core';
import { initBackend } from '../models3d/engine/backend.ts';
import { stockWasmKernel } from '../models3d/engine/kernels/index.ts';
import { conv3dKernelConfigs } from '../models3d/engine/kernels/conv3d-kernels.ts';

type S5 = [number, number, number, number, number];
interface Layer {
  name: string;
  x: S5;
  w: S5;
  stride: number;
  pad: 'same' | 'valid';
}

const layers: Layer[] = [
  { name: '32³ 16→32 3×3×3 s1 same', x: [1, 32, 32, 32, 16], w: [3, 3, 3, 16, 32], stride: 1, pad: 'same' },
  { name: '32³ 16→32 3×3×3 s2 same', x: [1, 32, 32, 32, 16], w: [3, 3, 3, 16, 32], stride: 2, pad: 'same' },
  { name: '32³ 1→16 7×7×7 s1 same', x: [1, 32, 32, 32, 1], w: [7, 7, 7, 1, 16], stride: 1, pad: 'same' },
  { name: '16³ 32→64 4×4×4 s2 same', x: [1, 16, 16, 16, 32], w: [4, 4, 4, 32, 64], stride: 2, pad: 'same' },
  { name: '10³ 64→64 3×3×3 s1 valid', x: [1, 10, 10, 10, 64], w: [3, 3, 3, 64, 64], stride: 1, pad: 'valid' },
  { name: '6³ 256→512 4×4×4 s1 valid', x: [1, 6, 6, 6, 256], w: [4, 4, 4, 256, 512], stride: 1, pad: 'valid' },
];

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const threads = arg('threads', 1);
const reps = arg('reps', 3);

const info = await initBackend('wasm', { threads }); // registers voxshift's kernels, 2-D ones included
const stockConfigs = conv3dKernelConfigs.map((c) => stockWasmKernel(c.kernelName) as KernelConfig);

function use(configs: KernelConfig[]): void {
  for (const c of configs) {
    if (getKernel(c.kernelName, 'wasm') !== undefined) unregisterKernel(c.kernelName, 'wasm');
    registerKernel(c);
  }
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function time(f: () => tf.Tensor, n: number): { ms: number; out: Float32Array } {
  const warm = f();
  const out = warm.dataSync() as Float32Array;
  warm.dispose();
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const y = f();
    y.dataSync();
    ms.push(performance.now() - t0);
    y.dispose();
  }
  return { ms: median(ms), out };
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

console.log(`backend ${info.backend}, ${info.threads} thread(s); ours: median of ${reps} runs after a warm-up (same filter: cached taps), stock: 1 run after a warm-up; GFLOP/s = 2·MACs / time`);
console.log('layer                          | op            | stock ms | stock GF/s | ours ms | ours GF/s | speed-up | max |stock − ours|');
for (const layer of layers) {
  const x = tf.randomNormal(layer.x) as tf.Tensor5D;
  const w = tf.randomNormal(layer.w, 0, 0.1) as tf.Tensor5D;
  const outShape = tf.backend_util.computeConv3DInfo(layer.x, layer.w, layer.stride, 1, layer.pad).outShape;
  const dy = tf.randomNormal(outShape) as tf.Tensor5D;
  const macs = tf.util.sizeFromShape(outShape) * layer.w[0] * layer.w[1] * layer.w[2] * layer.w[3];
  const gflop = (2 * macs) / 1e9;
  const ops: [string, () => tf.Tensor][] = [
    ['forward', () => tf.conv3d(x, w, layer.stride, layer.pad)],
    [
      'input grad',
      () =>
        tf.engine().runKernel('Conv3DBackpropInputV2', { dy, filter: w }, {
          strides: layer.stride,
          pad: layer.pad,
          inputShape: layer.x,
        } as unknown as NamedAttrMap) as tf.Tensor,
    ],
    [
      'filter grad',
      () =>
        tf.engine().runKernel('Conv3DBackpropFilterV2', { x, dy }, {
          strides: layer.stride,
          pad: layer.pad,
          filterShape: layer.w,
        } as unknown as NamedAttrMap) as tf.Tensor,
    ],
  ];
  for (const [name, f] of ops) {
    use(stockConfigs);
    const stock = time(f, 1);
    use(conv3dKernelConfigs);
    const ours = time(f, reps);
    const gfs = (ms: number): string => (gflop / (ms / 1000)).toFixed(2).padStart(10);
    console.log(
      `${layer.name.padEnd(30)} | ${name.padEnd(13)} | ${stock.ms.toFixed(0).padStart(8)} | ${gfs(stock.ms)} | ${ours.ms.toFixed(0).padStart(7)} | ${gfs(ours.ms).padStart(9)} | ${(stock.ms / ours.ms).toFixed(1).padStart(7)}× | ${maxDiff(stock.out, ours.out).toExponential(2)}`,
    );
  }
  tf.dispose([x, w, dy]);
}
use(conv3dKernelConfigs);
process.exit(0);
