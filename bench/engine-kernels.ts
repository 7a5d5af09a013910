/**
 * Micro-benchmark of the 2-D convolution kernels on the wasm backend: GFLOP/s of the forward Conv2D
 * (voxshift — XNNPACK's own except for 1–2 output channels — vs stock), Conv2DBackpropInput (voxshift vs stock) and Conv2DBackpropFilter (voxshift's three ways
 * — 'conv-swapped' falls back to im2col where it does not apply — and the cost rule's pick; the stock
 * wasm backend has none) for CycleGAN layer shapes (64², ngf 32).
 *
 *   npx tsx bench/engine-kernels.ts [--threads 1,2] [--min-time 0.4]
 *
 * FLOPs are those of the forward convolution (2·N·OH·OW·CO·FH·FW·CI) for all three kernels.
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { backend_util, type KernelConfig, type NamedAttrMap } from '@tensorflow/tfjs-core';
import { initBackend, shutdownBackend } from '../models3d/engine/backend.ts';
import { stockWasmKernel } from '../models3d/engine/kernels/index.ts';
import { chooseFilterGradMethod, setFilterGradMethod, type FilterGradMethod } from '../models3d/engine/kernels/conv2d-backprop-filter.ts';

interface Layer {
  name: string;
  x: [number, number, number, number];
  f: [number, number, number, number];
  stride: number;
  pad: 'same' | 'valid';
}

const LAYERS: Layer[] = [
  { name: 'c7s1-32  7×7 1→32 @64² (reflect-padded, valid)', x: [1, 70, 70, 1], f: [7, 7, 1, 32], stride: 1, pad: 'valid' },
  { name: 'd64      3×3 32→64 s2 @64²', x: [1, 64, 64, 32], f: [3, 3, 32, 64], stride: 2, pad: 'same' },
  { name: 'd128     3×3 64→128 s2 @32²', x: [1, 32, 32, 64], f: [3, 3, 64, 128], stride: 2, pad: 'same' },
  { name: 'R128     3×3 128→128 @16² (valid)', x: [1, 18, 18, 128], f: [3, 3, 128, 128], stride: 1, pad: 'valid' },
  { name: 'u64      convT 128→64 s2 16²→32²', x: [1, 32, 32, 64], f: [3, 3, 64, 128], stride: 2, pad: 'same' },
  { name: 'u32      convT 64→32 s2 32²→64²', x: [1, 64, 64, 32], f: [3, 3, 32, 64], stride: 2, pad: 'same' },
  { name: 'c7s1-1   7×7 32→1 @64² (output layer)', x: [1, 70, 70, 32], f: [7, 7, 32, 1], stride: 1, pad: 'valid' },
  { name: 'D C64    4×4 1→64 s2 @64²', x: [1, 64, 64, 1], f: [4, 4, 1, 64], stride: 2, pad: 'same' },
  { name: 'D C128   4×4 64→128 s2 @32²', x: [1, 32, 32, 64], f: [4, 4, 64, 128], stride: 2, pad: 'same' },
];

const { values: args } = parseArgs({
  options: { threads: { type: 'string', default: '1,2' }, 'min-time': { type: 'string', default: '0.4' } },
});
const threadCounts = String(args.threads).split(',').map(Number);
const minTime = Number(args['min-time']);

/** Best seconds per call over repeats filling minTime (after one warm-up call). */
function time(fn: () => tf.Tensor): number {
  fn().dispose();
  let best = Infinity;
  let total = 0;
  let reps = 0;
  while (reps < 3 || total < minTime) {
    const t0 = performance.now();
    const out = fn();
    out.dataSync();
    const dt = (performance.now() - t0) / 1000;
    out.dispose();
    best = Math.min(best, dt);
    total += dt;
    reps++;
    if (reps >= 50) break;
  }
  return best;
}

function withKernel<T>(name: string, config: KernelConfig | undefined, fn: () => T): T {
  const ours = tf.getKernel(name, 'wasm');
  if (config === undefined || config === ours) return fn();
  tf.unregisterKernel(name, 'wasm');
  tf.registerKernel(config);
  try {
    return fn();
  } finally {
    tf.unregisterKernel(name, 'wasm');
    if (ours !== undefined) tf.registerKernel(ours);
  }
}

function run(kernel: string, inputs: Record<string, tf.Tensor>, attrs: NamedAttrMap): tf.Tensor {
  return tf.engine().runKernel(kernel, inputs, attrs) as tf.Tensor;
}

function gflops(flops: number, seconds: number): string {
  return (flops / seconds / 1e9).toFixed(1).padStart(6);
}

async function main(): Promise<void> {
  for (const threads of threadCounts) {
    shutdownBackend();
    const info = await initBackend('wasm', { threads });
    console.log(`\n${info.description}`);
    console.log(
      'layer'.padEnd(48) +
        'fwd ours'.padStart(9) +
        'fwd stock'.padStart(10) +
        'dx ours'.padStart(9) +
        'dx stock'.padStart(9) +
        'dW conv'.padStart(9) +
        'dW im2col'.padStart(10) +
        'dW swap'.padStart(9) +
        '  dW rule',
    );
    for (const layer of LAYERS) {
      const convInfo = backend_util.computeConv2DInfo(layer.x, layer.f, layer.stride, 1, layer.pad);
      const flops = 2 * convInfo.batchSize * convInfo.outHeight * convInfo.outWidth * convInfo.outChannels * convInfo.filterHeight * convInfo.filterWidth * convInfo.inChannels;
      const x = tf.randomNormal(layer.x);
      const f = tf.randomNormal(layer.f);
      const dy = tf.randomNormal(convInfo.outShape);
      const base = { strides: layer.stride, pad: layer.pad, dataFormat: 'NHWC' } as NamedAttrMap;
      const fwdAttrs = { ...base, dilations: 1 } as NamedAttrMap;
      const fwd = time(() => run('Conv2D', { x, filter: f }, fwdAttrs));
      const fwdStock = withKernel('Conv2D', stockWasmKernel('Conv2D'), () => time(() => run('Conv2D', { x, filter: f }, fwdAttrs)));
      const dxAttrs = { ...base, inputShape: layer.x } as NamedAttrMap;
      const dxOurs = time(() => run('Conv2DBackpropInput', { dy, filter: f }, dxAttrs));
      const dxStock = withKernel('Conv2DBackpropInput', stockWasmKernel('Conv2DBackpropInput'), () =>
        time(() => run('Conv2DBackpropInput', { dy, filter: f }, dxAttrs)),
      );
      const dwAttrs = { ...base, filterShape: layer.f } as NamedAttrMap;
      const dw: Record<FilterGradMethod, number> = { conv: 0, im2col: 0, 'conv-swapped': 0 };
      for (const method of ['conv', 'im2col', 'conv-swapped'] as FilterGradMethod[]) {
        setFilterGradMethod(method);
        dw[method] = time(() => run('Conv2DBackpropFilter', { x, dy }, dwAttrs));
      }
      setFilterGradMethod(undefined);
      console.log(
        layer.name.padEnd(48) +
          gflops(flops, fwd).padStart(9) +
          gflops(flops, fwdStock).padStart(10) +
          gflops(flops, dxOurs).padStart(9) +
          gflops(flops, dxStock).padStart(9) +
          gflops(flops, dw.conv).padStart(9) +
          gflops(flops, dw.im2col).padStart(10) +
          gflops(flops, dw['conv-swapped']).padStart(9) +
          `  ${chooseFilterGradMethod(convInfo)}`,
      );
      tf.dispose([x, f, dy]);
    }
  }
  console.log('\nGFLOP/s = forward-convolution FLOPs / best time per call; the machine load makes these indicative.');
}

await main();
