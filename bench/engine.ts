/**
 * The engine's benchmark: seconds per CycleGAN iteration (2 G + 2 D, Adam, batch 1, 1 channel) for
 * 2-D 64² ngf 32 6 blocks, 128² ngf 32 9 blocks, 128² ngf 64 9 blocks and 3-D ("CubeGAN") 32³ and 64³
 * ngf 16 6 blocks (the reference's resnet_6blocks, which it uses below 256²), PatchGAN ndf 64 3 layers;
 * ours (wasm + voxshift kernels, threads = cores) against the same networks in PyTorch on the CPU with
 * the same thread count (bench/engine_torch.py, Debian python3-torch: bench/ensure-torch.sh). Then the
 * forward-only throughput of the 2-D ResNet generator at 256², the GFLOP/s of the main conv kernels
 * against this CPU's peak, and each kernel's share of one 64² step.
 *
 * Ours runs twice by default: convolutions on onnxruntime's CPU kernels (the default engine when
 * onnxruntime-node loads) and on XNNPACK in WebAssembly (the fallback); the ratio column is the first.
 *
 *   npx tsx bench/engine.ts [--quick] [--threads N] [--iters K] [--warmup K] [--no-torch] [--check-only] [--only 64²,32³]
 *                           [--conv-engine both|onnxruntime|xnnpack] [--shares 64²,32³]
 */
import { register } from 'node:module';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import os from 'node:os';
import { parseArgs } from 'node:util';
import type * as TF from '@tensorflow/tfjs-core';

// tfjs-core registers its gradients only from its ES-module sources, whose relative imports have no
// file extension (written for bundlers). This resolve hook completes them so Node can load them.
register(
  'data:text/javascript,' +
    encodeURIComponent(`
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
export async function resolve(specifier, context, next) {
  const parent = context.parentURL ?? '';
  if (parent.includes('/@tensorflow/tfjs-core/dist/') && specifier.startsWith('.') && !specifier.endsWith('.js')) {
    for (const suffix of ['.js', '/index.js']) {
      const url = new URL(specifier + suffix, parent);
      if (existsSync(fileURLToPath(url))) return { url: url.href, format: 'module', shortCircuit: true };
    }
  }
  return next(specifier, context);
}`),
);

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    threads: { type: 'string' },
    iters: { type: 'string' },
    warmup: { type: 'string' },
    'no-torch': { type: 'boolean', default: false },
    'check-only': { type: 'boolean', default: false },
    only: { type: 'string' },
    'conv-engine': { type: 'string', default: 'both' },
    shares: { type: 'string', default: '64²,32³' },
  },
});
const quick = Boolean(args.quick);
const threads = Number(args.threads ?? os.availableParallelism());
// Two warm-up iterations: the wasm heap still grows (and is first touched) during the second one,
// which ran 1.4× slower than the rest at 128² ngf64. Three timed: the median is then a middle one.
const iters = Number(args.iters ?? (quick ? 1 : 3));
const warmup = Number(args.warmup ?? (quick ? 1 : 2));

const tf: typeof TF = await import('@tensorflow/tfjs-core');
await import('@tensorflow/tfjs-core/dist/register_all_gradients.js');
const { initBackend } = await import('../models3d/engine/backend.ts');
const { configureConvEngine } = await import('../models3d/engine/native-conv/native-conv.ts');
type Engine = 'onnxruntime' | 'xnnpack';
const engines: Engine[] = args['conv-engine'] === 'both' ? ['onnxruntime', 'xnnpack'] : [args['conv-engine'] as Engine];
if (!engines.every((e) => e === 'onnxruntime' || e === 'xnnpack')) throw new Error(`--conv-engine must be both, onnxruntime or xnnpack, got ${args['conv-engine']}`);
const useEngine = (e: Engine): void => void configureConvEngine(e, threads);
const { buildNetwork } = await import('../models3d/networks/build-network.ts');
const { describeResnetGenerator } = await import('../models3d/networks/resnet-generator.ts');
const { describePatchDiscriminator } = await import('../models3d/networks/patch-discriminator.ts');
const { createRng } = await import('../models3d/networks/rng.ts');
const { forwardFlops } = await import('../models3d/networks/shapes.ts');
const { createCycleGanTrainer } = await import('../models3d/training/step.ts');

interface CycleConfig {
  name: string;
  dims: 2 | 3;
  size: number;
  ngf: number;
  blocks: number;
  ndf: number;
}

const ALL: CycleConfig[] = [
  { name: '2-D 64² ngf32 6 blocks', dims: 2, size: 64, ngf: 32, blocks: 6, ndf: 64 },
  { name: '3-D 32³ ngf16 6 blocks', dims: 3, size: 32, ngf: 16, blocks: 6, ndf: 64 },
  { name: '2-D 128² ngf32 9 blocks', dims: 2, size: 128, ngf: 32, blocks: 9, ndf: 64 },
  { name: '2-D 128² ngf64 9 blocks', dims: 2, size: 128, ngf: 64, blocks: 9, ndf: 64 },
  { name: '3-D 64³ ngf16 6 blocks', dims: 3, size: 64, ngf: 16, blocks: 6, ndf: 64 },
];
// --only 64²,32³ keeps the configurations whose name contains one of the words ('none': skips them all).
const only = args.only === undefined ? undefined : String(args.only).split(',');
const CONFIGS = (quick ? ALL.slice(0, 2) : ALL).filter((c) => only === undefined || only.some((w) => c.name.includes(w)));
const FORWARD = quick ? [{ size: 256, ngf: 32, blocks: 9 }] : [{ size: 256, ngf: 32, blocks: 9 }, { size: 256, ngf: 64, blocks: 9 }];
const PEAK_GFLOPS = 330; // this CPU, fp32, 2 cores, AVX-512 (docs/engine-notes)

const median = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const fmt = (v: number | undefined, d = 2): string => (v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(d));

function randomImage(dims: 2 | 3, size: number, seed: number): TF.Tensor {
  const rng = createRng(seed);
  const shape = [1, ...Array<number>(dims).fill(size), 1];
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: n }, () => rng.next() * 2 - 1), shape);
}

function makeTrainer(c: CycleConfig) {
  const rng = createRng(1);
  const g = describeResnetGenerator({ spatialDims: c.dims, ngf: c.ngf, blocks: c.blocks });
  const d = describePatchDiscriminator({ spatialDims: c.dims, ndf: c.ndf, layers: 3 });
  const nets = {
    genAB: buildNetwork(g, rng, { name: 'genAB' }),
    genBA: buildNetwork(g, rng, { name: 'genBA' }),
    discA: buildNetwork(d, rng, { name: 'discA' }),
    discB: buildNetwork(d, rng, { name: 'discB' }),
  };
  const trainer = createCycleGanTrainer(nets);
  return {
    trainer,
    dispose() {
      trainer.dispose();
      for (const n of Object.values(nets)) n.dispose();
    },
  };
}

interface OursResult {
  seconds?: number;
  plan?: string;
  error?: string;
}

function benchOurs(c: CycleConfig): OursResult {
  const { trainer, dispose } = makeTrainer(c);
  const a = randomImage(c.dims, c.size, 1);
  const b = randomImage(c.dims, c.size, 2);
  try {
    const p = trainer.plan(a);
    const plan = `${p.splitGenerators ? 'split G' : 'joint G'}${p.recompute ? ' + recompute' : ''}, est. ${(p.estimatedBytes / 1024 ** 3).toFixed(2)} GiB`;
    for (let i = 0; i < warmup; i++) trainer.step(a, b, -1 - i); // kernel set-up, filter caches, Adam slots
    const times: number[] = [];
    for (let i = 0; i < iters; i++) {
      const t0 = performance.now();
      trainer.step(a, b, i + 1);
      times.push((performance.now() - t0) / 1000);
    }
    return { seconds: median(times), plan };
  } catch (e) {
    return { error: e instanceof Error ? e.message.split('\n')[0] : String(e) };
  } finally {
    tf.dispose([a, b]);
    dispose();
  }
}

interface TorchOut {
  torch: string;
  threads: number;
  cyclegan: { size: number; dims: number; ngf: number; seconds: number }[];
  forward: { size: number; ngf: number; slicesPerSecond: number }[];
  check?: { dims: number; kind: string; maxAbsDiff: number; maxAbs: number }[];
}

function torchPython(): string | undefined {
  for (const py of ['/usr/bin/python3', 'python3']) {
    try {
      execFileSync(py, ['-c', 'import torch'], { stdio: 'ignore', timeout: 120_000 });
      return py;
    } catch {
      // try the next one
    }
  }
  return undefined;
}

/**
 * Small versions of the benchmarked networks (2-D and 3-D generator and discriminator) with our
 * weights, an input and our output, for engine_torch.py --check: proves both sides run the same nets.
 */
function exportForCheck(): string {
  const cases: unknown[] = [];
  tf.tidy(() => {
    for (const dims of [2, 3] as const) {
      const gConfig = { spatialDims: dims, ngf: 4, blocks: 2 };
      const dConfig = { spatialDims: dims, ndf: 4, layers: 3 };
      for (const [kind, spec, n] of [
        ['generator', describeResnetGenerator(gConfig), dims === 2 ? 16 : 8],
        ['discriminator', describePatchDiscriminator(dConfig), dims === 2 ? 32 : 24],
      ] as const) {
        const net = buildNetwork(spec, createRng(dims));
        // Weights N(0, 0.2) and non-zero biases, so that an architectural difference cannot hide under
        // the N(0, 0.02) initialisation and zero biases.
        for (const v of net.variables()) v.assign(tf.randomNormal(v.shape, 0, 0.2, 'float32', v.size));
        const x = randomImage(dims, n, 7);
        const y = net.apply(x);
        cases.push({
          dims,
          kind,
          config: kind === 'generator' ? gConfig : dConfig,
          params: net.variables().map((v) => ({ shape: v.shape, data: Array.from(v.dataSync()) })),
          x: { shape: x.shape, data: Array.from(x.dataSync()) },
          y: { shape: y.shape, data: Array.from(y.dataSync()) },
        });
        net.dispose();
      }
    }
  });
  const file = join(mkdtempSync(join(os.tmpdir(), 'voxshift-bench-')), 'nets.json');
  writeFileSync(file, JSON.stringify(cases));
  return file;
}

function benchTorch(configs: CycleConfig[], forward: typeof FORWARD, check?: string): TorchOut | string {
  if (args['no-torch']) return 'skipped (--no-torch)';
  const py = torchPython();
  if (py === undefined) return 'PyTorch is not installed (bash bench/ensure-torch.sh installs Debian python3-torch)';
  const res = spawnSync(
    py,
    [
      new URL('./engine_torch.py', import.meta.url).pathname,
      '--threads',
      String(threads),
      '--iters',
      String(iters),
      '--warmup',
      String(warmup),
      '--configs',
      JSON.stringify(configs.map((c) => ({ dims: c.dims, size: c.size, ngf: c.ngf, blocks: c.blocks, ndf: c.ndf }))),
      '--forward-configs',
      JSON.stringify(forward.map((f) => ({ ...f, seconds: quick ? 2 : 5 }))),
      ...(check === undefined ? [] : ['--check', check]),
    ],
    { encoding: 'utf8', maxBuffer: 1 << 24, timeout: 3_600_000 },
  );
  if (res.status !== 0) return `engine_torch.py failed (${res.status}): ${(res.stderr || '').trim().split('\n').slice(-3).join(' | ')}`;
  return JSON.parse(res.stdout.trim().split('\n').pop() as string) as TorchOut;
}

function benchForward(size: number, ngf: number, blocks: number): number {
  const net = buildNetwork(describeResnetGenerator({ spatialDims: 2, ngf, blocks }), createRng(1));
  const x = randomImage(2, size, 3);
  tf.dispose(net.apply(x));
  let n = 0;
  const t0 = performance.now();
  while (n < 2 || performance.now() - t0 < (quick ? 2000 : 5000)) {
    const y = net.apply(x);
    y.dataSync();
    y.dispose();
    n++;
  }
  const rate = n / ((performance.now() - t0) / 1000);
  x.dispose();
  net.dispose();
  return rate;
}

interface KernelCase {
  name: string;
  flops: number;
  run: () => TF.Tensor;
}

function kernelCases(): KernelCase[] {
  const rnd = (shape: number[]): TF.Tensor => tf.randomNormal(shape, 0, 1, 'float32', 1);
  // Shapes from the 128² ngf 32 generator (residual blocks at 32², 128 channels) and the 3-D 32³ one.
  const x2 = rnd([1, 34, 34, 128]) as TF.Tensor4D;
  const w2 = rnd([3, 3, 128, 128]) as TF.Tensor4D;
  const dy2 = rnd([1, 32, 32, 128]) as TF.Tensor4D;
  const xs = rnd([1, 128, 128, 32]) as TF.Tensor4D;
  const ws = rnd([3, 3, 32, 64]) as TF.Tensor4D;
  const dys = rnd([1, 64, 64, 64]) as TF.Tensor4D;
  const x3 = rnd([1, 10, 10, 10, 64]) as TF.Tensor5D;
  const w3 = rnd([3, 3, 3, 64, 64]) as TF.Tensor5D;
  const dy3 = rnd([1, 8, 8, 8, 64]) as TF.Tensor5D;
  const f2 = 2 * 32 * 32 * 128 * 9 * 128;
  const fs = 2 * 64 * 64 * 64 * 9 * 32;
  const f3 = 2 * 8 * 8 * 8 * 64 * 27 * 64;
  const run = (name: string, inputs: TF.NamedTensorMap, attrs: Record<string, unknown>) => () =>
    tf.engine().runKernel(name, inputs, attrs as unknown as TF.NamedAttrMap) as TF.Tensor;
  return [
    { name: 'Conv2D 3×3 128→128 @32²', flops: f2, run: () => tf.conv2d(x2, w2, 1, 'valid') },
    { name: 'Conv2DBackpropInput 3×3 128→128 @32²', flops: f2, run: () => tf.conv2dTranspose(dy2, w2, [1, 34, 34, 128], 1, 'valid') },
    { name: 'Conv2DBackpropFilter 3×3 128→128 @32²', flops: f2, run: run('Conv2DBackpropFilter', { x: x2, dy: dy2 }, { strides: 1, pad: 'valid', dataFormat: 'NHWC', dimRoundingMode: undefined, filterShape: [3, 3, 128, 128] }) },
    { name: 'Conv2D 3×3 32→64 s2 @128²', flops: fs, run: () => tf.conv2d(xs, ws, 2, [[0, 0], [1, 1], [1, 1], [0, 0]]) },
    { name: 'Conv2DBackpropInput 3×3 32→64 s2 @128²', flops: fs, run: () => tf.conv2dTranspose(dys, ws, [1, 128, 128, 32], 2, [[0, 0], [1, 1], [1, 1], [0, 0]]) },
    { name: 'Conv2DBackpropFilter 3×3 32→64 s2 @128²', flops: fs, run: run('Conv2DBackpropFilter', { x: xs, dy: dys }, { strides: 2, pad: [[0, 0], [1, 1], [1, 1], [0, 0]], dataFormat: 'NHWC', dimRoundingMode: undefined, filterShape: [3, 3, 32, 64] }) },
    { name: 'Conv3D 3³ 64→64 @8³', flops: f3, run: () => tf.conv3d(x3, w3, 1, 'valid') },
    { name: 'Conv3DBackpropInputV2 3³ 64→64 @8³', flops: f3, run: run('Conv3DBackpropInputV2', { dy: dy3, filter: w3 }, { strides: [1, 1, 1], pad: 'valid', inputShape: [1, 10, 10, 10, 64] }) },
    { name: 'Conv3DBackpropFilterV2 3³ 64→64 @8³', flops: f3, run: run('Conv3DBackpropFilterV2', { x: x3, dy: dy3 }, { strides: [1, 1, 1], pad: 'valid', filterShape: [3, 3, 3, 64, 64] }) },
  ];
}

function benchKernel(k: KernelCase): number {
  tf.dispose(k.run());
  let n = 0;
  const t0 = performance.now();
  while (n < 3 || performance.now() - t0 < (quick ? 300 : 800)) {
    const y = k.run();
    y.dataSync();
    y.dispose();
    n++;
  }
  const s = (performance.now() - t0) / 1000 / n;
  return k.flops / s / 1e9;
}

/**
 * Wall time per top-level kernel over one iteration. The wasm backend runs kernels synchronously, so
 * the time around engine.runKernelFunc is the kernel's time. A kernel that calls other kernels (ours
 * compose XNNPACK ones) is charged with all of them; custom-gradient wrappers (instance norm, reflection
 * pad) are transparent, so the kernels they run are listed under their own names.
 */
function kernelShares(c: CycleConfig): { shares: [string, number][]; stepMs: number } {
  const { trainer, dispose } = makeTrainer(c);
  const a = randomImage(c.dims, c.size, 1);
  const b = randomImage(c.dims, c.size, 2);
  for (let i = 0; i < 2; i++) trainer.step(a, b, i); // past the heap's growth, as the timed runs
  type Params = { kernelName?: string };
  const engine = tf.engine() as unknown as { runKernelFunc: (p: Params) => unknown };
  const original = engine.runKernelFunc;
  const totals = new Map<string, number>();
  let depth = 0;
  engine.runKernelFunc = function (this: unknown, p: Params) {
    if (depth > 0 || p.kernelName === undefined) return original.call(this, p);
    depth++;
    const t0 = performance.now();
    try {
      return original.call(this, p);
    } finally {
      depth--;
      totals.set(p.kernelName, (totals.get(p.kernelName) ?? 0) + performance.now() - t0);
    }
  };
  const t0 = performance.now();
  try {
    trainer.step(a, b, 2);
  } finally {
    engine.runKernelFunc = original;
  }
  const stepMs = performance.now() - t0;
  tf.dispose([a, b]);
  dispose();
  return { shares: [...totals].sort((x, y) => y[1] - x[1]), stepMs };
}

// ---------------------------------------------------------------------------------------------
const info = await initBackend('wasm', { threads, convEngine: engines[0] });
console.log(`voxshift engine bench — ${info.description}; ${os.cpus()[0]?.model ?? 'CPU'} ×${os.availableParallelism()}; load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
console.log(`timed iterations per configuration: ${iters} after ${warmup} warm-up (median)${quick ? ' — quick run' : ''}\n`);

// First: the PyTorch networks must compute what ours compute, given the same weights.
let torchNote = '';
{
  const t = benchTorch([], [], exportForCheck());
  if (typeof t === 'string') torchNote = t;
  else {
    for (const r of t.check ?? []) {
      console.log(`same nets: ${r.dims}-D ${r.kind} — PyTorch output vs ours, max |diff| ${r.maxAbsDiff.toExponential(1)} (max |y| ${fmt(r.maxAbs)})`);
      if (!(r.maxAbsDiff <= 1e-3 * Math.max(1, r.maxAbs))) torchNote = `PyTorch ${r.dims}-D ${r.kind} differs from ours: not compared`;
    }
    console.log('');
  }
}
if (args['check-only']) process.exit(torchNote ? 1 : 0);
// Ours and PyTorch one configuration after the other, so that a partial run still gives ratios.
const ours = new Map<string, OursResult>();
const oursFallback = new Map<string, OursResult>();
const torchSeconds = new Map<string, number>();
for (const c of CONFIGS) {
  for (const e of engines) {
    useEngine(e);
    process.stdout.write(`ours    ${c.name} (convolutions on ${e}) … `);
    const r = benchOurs(c);
    (e === engines[0] ? ours : oursFallback).set(c.name, r);
    console.log(r.error ? `failed: ${r.error}` : `${fmt(r.seconds)} s/iter (${r.plan})`);
  }
  useEngine(engines[0]);
  if (torchNote) continue;
  process.stdout.write(`PyTorch ${c.name} … `);
  const t = benchTorch([c], []);
  if (typeof t === 'string') {
    torchNote = t;
    console.log(t);
  } else {
    torchSeconds.set(c.name, t.cyclegan[0].seconds);
    console.log(`${fmt(t.cyclegan[0].seconds)} s/iter (torch ${t.torch}, ${t.threads} threads)`);
  }
}
const forwardOurs = FORWARD.map((f) => {
  const rate = benchForward(f.size, f.ngf, f.blocks);
  console.log(`ours    forward ResNet G ${f.size}² ngf${f.ngf} ${f.blocks} blocks … ${fmt(rate)} slices/s`);
  return rate;
});
const torchForward = torchNote ? torchNote : benchTorch([], FORWARD);
const forwardTorch = typeof torchForward === 'string' ? [] : torchForward.forward.map((f) => f.slicesPerSecond);

console.log('\nCycleGAN iteration (2 G + 2 D, Adam, batch 1, 1 channel), seconds:');
const second = engines[1];
console.log(
  `${'configuration'.padEnd(26)}${`ours/${engines[0]}`.padStart(18)}${second ? `ours/${second}`.padStart(14) : ''}${'PyTorch'.padStart(10)}${'ratio'.padStart(8)}  bar ≤ 1.5 (ratio: ${engines[0]} / PyTorch)`,
);
CONFIGS.forEach((c) => {
  const o = ours.get(c.name);
  const t = torchSeconds.get(c.name);
  const ratio = o?.seconds !== undefined && t !== undefined ? o.seconds / t : undefined;
  const verdict = ratio === undefined ? '' : ratio <= 1.5 ? 'met' : 'NOT met';
  const fb = second ? fmt(oursFallback.get(c.name)?.seconds).padStart(14) : '';
  console.log(`${c.name.padEnd(26)}${fmt(o?.seconds).padStart(18)}${fb}${fmt(t).padStart(10)}${fmt(ratio).padStart(8)}  ${verdict}`);
});

console.log('\nForward-only 2-D ResNet generator, batch 1, slices/s:');
FORWARD.forEach((f, i) => {
  const t = forwardTorch[i] as number | undefined;
  const gflop = forwardFlops(describeResnetGenerator({ spatialDims: 2, ngf: f.ngf, blocks: f.blocks }), [f.size, f.size]) / 1e9;
  console.log(
    `${`${f.size}² ngf${f.ngf} ${f.blocks} blocks`.padEnd(26)} ours ${fmt(forwardOurs[i])} (${fmt(forwardOurs[i] * gflop, 1)} GFLOP/s)  PyTorch ${fmt(t)}  ours/PyTorch ${fmt(t === undefined ? undefined : forwardOurs[i] / t)}`,
  );
});

console.log(`\nConv kernels on wasm (GFLOP/s; this CPU's fp32 peak ≈ ${PEAK_GFLOPS} on 2 cores with AVX-512, 128-bit wasm SIMD ≈ ¼ of it):`);
console.log(`${''.padEnd(42)}${engines.map((e) => e.padStart(18)).join('')}`);
for (const k of kernelCases()) {
  const cells = engines.map((e) => {
    useEngine(e);
    const g = benchKernel(k);
    return `${fmt(g, 1)} (${fmt((100 * g) / PEAK_GFLOPS, 0)}%)`.padStart(18);
  });
  console.log(`${k.name.padEnd(42)}${cells.join('')}`);
}
useEngine(engines[0]);

// --shares 128² ngf32: the configurations whose name contains one of the words get a kernel table.
for (const c of ALL.filter((x) => String(args.shares).split(',').some((w) => x.name.includes(w)))) {
  const { shares, stepMs } = kernelShares(c);
  const inKernels = shares.reduce((s, [, ms]) => s + ms, 0);
  console.log(`\nKernel shares of one ${c.name} iteration (${fmt(stepMs / 1000)} s; ${fmt((100 * inKernels) / stepMs, 0)}% of it inside kernels):`);
  for (const [name, ms] of shares.slice(0, 16)) console.log(`  ${name.padEnd(28)}${fmt(ms, 0).padStart(8)} ms ${fmt((100 * ms) / stepMs, 1).padStart(6)}%`);
}
process.exit(0);
