/**
 * Whole-volume translation speed (models3d/inference/translate-volume.ts) on the three runtimes, same
 * ResNet generator weights, same thread count (cores), one run each after one untimed generator call:
 * - tfjs: the backend initBackend('auto') picks (wasm with voxshift's kernels here);
 * - onnxruntime: the generator exported to ONNX (models3d/export) on onnxruntime-node;
 * - PyTorch CPU: bench/translate_torch.py, the same slices/windows and blending in PyTorch (Debian
 *   python3-torch: bench/ensure-torch.sh installs it).
 * Cases: a T1 head phantom, 2-D 256² slices in batches of 4 through ngf 32 and ngf 64 generators with 9
 * residual blocks (slices/s), and a 128³ volume through a 3-D ngf 16, 6-block generator with 64³
 * windows, overlap 0.5, Gaussian blending (seconds per volume). Every runtime's output volume is
 * compared with onnxruntime's (max |Δ| in HU), so the three computed the same thing.
 * `--budget S` stops a runtime's volume after the generator call that passes S seconds and
 * extrapolates its time from the slices/windows done (marked "~"; no output comparison then).
 *
 *   npx tsx bench/translate.ts [--quick] [--slices N] [--threads N] [--budget S] [--skip tfjs,torch]
 *   (--quick: 128² slices, ngf 32 only, and a 64³ volume with 32³ windows)
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../models3d/engine/backend.ts';
import { exportOnnx } from '../models3d/export/onnx-export.ts';
import { createOnnxGenerator } from '../models3d/inference/onnx-runtime.ts';
import { networkGenerator, planWindows, translateVolume, type Generator, type TranslateVolumeOptions } from '../models3d/inference/translate-volume.ts';
import { linearMap } from '../models3d/inference/options.ts';
import { buildNetwork } from '../models3d/networks/build-network.ts';
import { describeResnetGenerator } from '../models3d/networks/resnet-generator.ts';
import { createRng } from '../models3d/networks/rng.ts';
import { forwardFlops } from '../models3d/networks/shapes.ts';
import { fitNormalization } from '../volumes/normalize.ts';
import { gaussianWeights } from '../volumes/patches.ts';
import { generatePhantom } from '../volumes/phantom/generate-phantom.ts';
import type { Volume } from '../volumes/volume.ts';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    slices: { type: 'string' },
    threads: { type: 'string' },
    skip: { type: 'string', default: '' },
    budget: { type: 'string' },
  },
});
const budget = args.budget === undefined ? Infinity : Number(args.budget);
const quick = Boolean(args.quick);
const threads = Number(args.threads ?? os.availableParallelism());
const skip = new Set(String(args.skip).split(',').filter(Boolean));
const slices = Number(args.slices ?? (quick ? 8 : 24));

interface Case {
  name: string;
  dims: 2 | 3;
  shape: [number, number, number];
  ngf: number;
  blocks: number;
  batch: number;
  patch: number;
}

const CASES: Case[] = quick
  ? [
      { name: `2-D 128² ngf32 9 blocks (×${slices} slices)`, dims: 2, shape: [128, 128, slices], ngf: 32, blocks: 9, batch: 4, patch: 0 },
      { name: '3-D 64³ ngf16 6 blocks, 32³ windows', dims: 3, shape: [64, 64, 64], ngf: 16, blocks: 6, batch: 1, patch: 32 },
    ]
  : [
      { name: `2-D 256² ngf32 9 blocks (×${slices} slices)`, dims: 2, shape: [256, 256, slices], ngf: 32, blocks: 9, batch: 4, patch: 0 },
      { name: `2-D 256² ngf64 9 blocks (×${slices} slices)`, dims: 2, shape: [256, 256, slices], ngf: 64, blocks: 9, batch: 4, patch: 0 },
      { name: '3-D 128³ ngf16 6 blocks, 64³ windows', dims: 3, shape: [128, 128, 128], ngf: 16, blocks: 6, batch: 1, patch: 64 },
    ];

const fmt = (v: number | undefined, d = 2): string => (v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(d));

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

function torchPython(): string | undefined {
  for (const py of ['/usr/bin/python3', 'python3']) {
    if (spawnSync(py, ['-c', 'import torch'], { stdio: 'ignore', timeout: 120_000 }).status === 0) return py;
  }
  return undefined;
}

interface Timing {
  /** Seconds for the whole volume (extrapolated when `done` < `total`). */
  seconds: number;
  done: number;
  total: number;
  /** The translated volume (absent after a budget stop). */
  output?: Float32Array;
}

const partial = (t: Timing): string => (t.done < t.total ? ` — stopped by --budget after ${t.done} of ${t.total}, time extrapolated` : '');
const approx = (t: Timing | undefined): string => (t !== undefined && t.done < t.total ? '~' : '');

async function timeTranslate(mr: Volume, generator: Generator, options: TranslateVolumeOptions, warm: () => Promise<void>): Promise<Timing> {
  await warm();
  const stop = new AbortController();
  let done = 0;
  let total = 0;
  let last = 0;
  const t0 = performance.now();
  const onProgress = (d: number, t: number): void => {
    [done, total, last] = [d, t, performance.now()];
    if ((last - t0) / 1000 > budget && d < t) stop.abort();
  };
  try {
    const out = await translateVolume(mr, generator, { ...options, onProgress, signal: stop.signal });
    return { seconds: (performance.now() - t0) / 1000, done: total, total, output: out.data };
  } catch (e) {
    if (!stop.signal.aborted) throw e;
    return { seconds: ((last - t0) / 1000) * (total / done), done, total };
  }
}

interface Row {
  c: Case;
  units: number;
  tfjs?: Timing;
  onnx?: Timing;
  torch?: Timing | string;
  onnxSetup: string;
  gflop: number;
}

const info = await initBackend('auto', { threads });
const py = skip.has('torch') ? undefined : torchPython();
const load = () => os.loadavg().map((l) => l.toFixed(1)).join(' ');
console.log(
  `voxshift translate bench — ${os.cpus()[0]?.model ?? 'CPU'} ×${os.availableParallelism()}, ${threads} threads for every runtime; load ${load()}\n` +
    `tfjs: ${info.backend} (${info.description}); onnxruntime-node; PyTorch: ${py ? 'bench/translate_torch.py' : skip.has('torch') ? 'skipped' : 'not installed (bash bench/ensure-torch.sh)'}${quick ? ' — quick run' : ''}\n`,
);

const tmp = mkdtempSync(join(os.tmpdir(), 'voxshift-bench-translate-'));
const rows: Row[] = [];
try {
  for (const c of CASES) {
    const mr = generatePhantom({ region: 'head', seed: 1, shape: c.shape }).t1;
    const spec = describeResnetGenerator({ spatialDims: c.dims, ngf: c.ngf, blocks: c.blocks });
    const net = buildNetwork(spec, createRng(1), { trainable: false });
    const { generator, spatialDims, sizeMultiple } = networkGenerator(net);
    const sourceNormalization = fitNormalization(mr, { type: 'mr-percentile' });
    const targetNormalization = { type: 'ct-window', lower: -1024, upper: 3000 } as const;
    const options: TranslateVolumeOptions = {
      spatialDims,
      sizeMultiple,
      sourceNormalization,
      targetNormalization,
      targetModality: 'CT',
      targetUnits: 'HU',
      axis: 2,
      batchSize: c.batch,
      ...(c.dims === 3 ? { patchSize: [c.patch, c.patch, c.patch], overlap: 0.5 } : {}),
    };
    const plan = c.dims === 3 ? planWindows(c.shape, [c.patch, c.patch, c.patch], sizeMultiple, 0.5) : undefined;
    const units = c.dims === 2 ? c.shape[2] : 1;
    const gflop = (c.dims === 2 ? forwardFlops(spec, [c.shape[1], c.shape[0]], 1) * c.shape[2] : forwardFlops(spec, [c.patch, c.patch, c.patch], 1) * (plan?.starts.length ?? 0)) / 1e9;
    const first = c.dims === 2 ? [c.batch, c.shape[1], c.shape[0], 1] : [1, c.patch, c.patch, c.patch, 1];
    const row: Row = { c, units, onnxSetup: '', gflop };
    console.log(`${c.name}${plan ? ` (${plan.starts.length} windows)` : ''}, ${fmt(gflop, 0)} GFLOP per volume:`);

    // onnxruntime: export and session creation are one-off costs, reported apart.
    const values = new Map([...net.params].map(([k, v]) => [k, v.dataSync() as Float32Array]));
    let t0 = performance.now();
    const bytes = exportOnnx(spec, values);
    const exportMs = performance.now() - t0;
    t0 = performance.now();
    const session = await createOnnxGenerator(bytes, { threads, reuseOutput: true });
    row.onnxSetup = `export ${fmt(exportMs, 0)} ms (${fmt(bytes.byteLength / 2 ** 20, 1)} MiB), session ${fmt(performance.now() - t0, 0)} ms`;
    row.onnx = await timeTranslate(mr, session, options, async () => {
      await session.run(new Float32Array(first.reduce((a, b) => a * b, 1)), first);
    });
    await session.release();
    const reference = row.onnx.output;
    const vsOnnx = (o: Float32Array | undefined): string => (o && reference ? `; max |Δ| vs onnxruntime ${maxAbsDiff(o, reference).toExponential(1)} HU` : '');
    console.log(`  onnxruntime  ${approx(row.onnx)}${fmt(row.onnx.seconds)} s  (${row.onnxSetup}; ${session.description}${partial(row.onnx)})`);

    if (!skip.has('tfjs')) {
      row.tfjs = await timeTranslate(mr, generator, options, async () => {
        tf.tidy(() => generator(tf.zeros(first)).dataSync());
      });
      console.log(`  tfjs         ${approx(row.tfjs)}${fmt(row.tfjs.seconds)} s  (${info.backend}${vsOnnx(row.tfjs.output)}${partial(row.tfjs)})`);
    }

    if (py) {
      const base = join(tmp, c.name.replace(/\W+/g, '_'));
      writeFileSync(`${base}.volume`, mr.data as Float32Array);
      const flat = net.variables().map((v) => v.dataSync() as Float32Array);
      writeFileSync(`${base}.weights`, Buffer.concat(flat.map((f) => Buffer.from(f.buffer, f.byteOffset, f.byteLength))));
      if (plan) writeFileSync(`${base}.gaussian`, gaussianWeights(plan.window));
      const torchCase = {
        dims: c.dims,
        ngf: c.ngf,
        blocks: c.blocks,
        shape: c.shape,
        volume: `${base}.volume`,
        weights: `${base}.weights`,
        params: net.variables().map((v) => v.shape),
        source: linearMap(sourceNormalization),
        target: linearMap(targetNormalization),
        batch: c.batch,
        ...(plan ? { window: plan.window, starts: plan.starts, gaussian: `${base}.gaussian` } : {}),
        output: `${base}.out`,
      };
      writeFileSync(`${base}.json`, JSON.stringify([torchCase]));
      const pyArgs = ['--threads', String(threads), '--cases', `${base}.json`, ...(Number.isFinite(budget) ? ['--budget', String(budget)] : [])];
      const res = spawnSync(py, [new URL('./translate_torch.py', import.meta.url).pathname, ...pyArgs], {
        encoding: 'utf8',
        maxBuffer: 1 << 24,
        timeout: 1_800_000,
      });
      if (res.status !== 0) {
        row.torch = `translate_torch.py failed (${res.status}): ${(res.stderr || '').trim().split('\n').slice(-3).join(' | ')}`;
        console.log(`  PyTorch      ${row.torch}`);
      } else {
        const r = JSON.parse(res.stdout.trim().split('\n').pop() as string) as { torch: string; threads: number; cases: { seconds: number; done: number; total: number }[] };
        const { seconds, done, total } = r.cases[0];
        const b = readFileSync(torchCase.output);
        const output = done === total ? new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4) : undefined;
        row.torch = { seconds: (seconds * total) / done, done, total, ...(output ? { output } : {}) };
        console.log(`  PyTorch      ${approx(row.torch)}${fmt(row.torch.seconds)} s  (torch ${r.torch}, ${r.threads} threads${vsOnnx(output)}${partial(row.torch)})`);
      }
    }
    net.dispose();
    rows.push(row);
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

const speed = (r: Row, t: Timing | undefined): number | undefined => (t === undefined ? undefined : r.c.dims === 2 ? r.units / t.seconds : t.seconds);
console.log(`\nload after: ${load()}`);
console.log('2-D: slices/s (higher is better); 3-D: seconds per volume (lower is better); ratios are speed ratios (> 1: onnxruntime faster)');
console.log(`${'case'.padEnd(44)}${'tfjs'.padStart(8)}${'onnxrt'.padStart(9)}${'PyTorch'.padStart(9)}${'ort/PyTorch'.padStart(13)}${'ort/tfjs'.padStart(10)}  bar`);
for (const r of rows) {
  const torch = typeof r.torch === 'object' ? r.torch : undefined;
  const [vt, vo, vp] = [speed(r, r.tfjs), speed(r, r.onnx), speed(r, torch)];
  const ratio = (other: number | undefined): number | undefined => (other === undefined || vo === undefined ? undefined : r.c.dims === 2 ? vo / other : other / vo);
  const bar = r.c.dims === 2 ? 1.0 : 0.8;
  const vsTorch = ratio(vp);
  const verdict = vsTorch === undefined ? '' : `≥ ${fmt(bar, 1)} ${vsTorch >= bar ? 'met' : 'NOT met'}${vsTorch >= 1 ? ', ahead of PyTorch' : ''}`;
  console.log(
    `${`${r.c.name} ${r.c.dims === 2 ? 'slices/s' : 's/volume'}`.padEnd(44)}${`${approx(r.tfjs)}${fmt(vt)}`.padStart(8)}${`${approx(r.onnx)}${fmt(vo)}`.padStart(9)}${`${approx(torch)}${fmt(vp)}`.padStart(9)}${`${fmt(vsTorch)}×`.padStart(13)}${`${fmt(ratio(vt))}×`.padStart(10)}  ${verdict}`,
  );
}
for (const r of rows.filter((x) => x.c.dims === 2)) {
  // Whole-volume seconds for a 100-slice stack (issue 4's 256×256×100 MR volume), at the measured rate.
  const per100 = (t: Timing | undefined): string => (t ? `${fmt((100 * t.seconds) / r.units, 1)} s` : '—');
  console.log(`seconds per ${r.c.shape[0]}×${r.c.shape[1]}×100 volume, ${r.c.name}: tfjs ${per100(r.tfjs)}, onnxruntime ${per100(r.onnx)}, PyTorch ${per100(typeof r.torch === 'object' ? r.torch : undefined)}`);
}
for (const r of rows) {
  const eff = (t: Timing | undefined): string => (t ? `${fmt(r.gflop / t.seconds, 1)}` : '—');
  console.log(`GFLOP/s effective, ${r.c.name}: tfjs ${eff(r.tfjs)}, onnxruntime ${eff(r.onnx)}, PyTorch ${eff(typeof r.torch === 'object' ? r.torch : undefined)}`);
}
process.exit(0);
