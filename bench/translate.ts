/**
 * Whole-volume inference speed (models3d/inference/translate-volume.ts) on the backend initBackend('auto')
 * picks: a 256×256×100 MR phantom through a 2-D ResNet generator (ngf 16, 6 blocks: a small shipped
 * slice model), batches of 4 axial slices; a 128³ MR phantom through a 3-D ResNet ("CubeGAN", ngf 8,
 * 6 blocks), 64³ windows with overlap 0.5 and Gaussian blending. Randomly initialised weights (speed
 * does not depend on them). One untimed generator call first sets up kernels.
 *
 *   npx tsx bench/translate.ts [--quick]      (--quick: 128×128×24 and 64³ with 32³ windows)
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../models3d/engine/backend.ts';
import { networkGenerator, planWindows, translateVolume } from '../models3d/inference/translate-volume.ts';
import { buildNetwork } from '../models3d/networks/build-network.ts';
import { describeResnetGenerator } from '../models3d/networks/resnet-generator.ts';
import { createRng } from '../models3d/networks/rng.ts';
import { forwardFlops } from '../models3d/networks/shapes.ts';
import { fitNormalization } from '../volumes/normalize.ts';
import { generatePhantom } from '../volumes/phantom/generate-phantom.ts';

const { values: args } = parseArgs({ options: { quick: { type: 'boolean', default: false } } });
const quick = Boolean(args.quick);

interface Case {
  name: string;
  dims: 2 | 3;
  shape: [number, number, number];
  ngf: number;
  blocks: number;
  batchSize: number;
  patch: number;
}

const CASES: Case[] = quick
  ? [
      { name: '2-D ResNet ngf16 6 blocks, 128×128×24', dims: 2, shape: [128, 128, 24], ngf: 16, blocks: 6, batchSize: 4, patch: 0 },
      { name: '3-D ResNet ngf8 6 blocks, 64³, 32³ windows', dims: 3, shape: [64, 64, 64], ngf: 8, blocks: 6, batchSize: 1, patch: 32 },
    ]
  : [
      { name: '2-D ResNet ngf16 6 blocks, 256×256×100', dims: 2, shape: [256, 256, 100], ngf: 16, blocks: 6, batchSize: 4, patch: 0 },
      { name: '3-D ResNet ngf8 6 blocks, 128³, 64³ windows', dims: 3, shape: [128, 128, 128], ngf: 8, blocks: 6, batchSize: 1, patch: 64 },
    ];

const info = await initBackend('auto', { log: (m) => console.log(m) });
console.log(`backend: ${info.backend} (${info.description})${quick ? ' — quick' : ''}\n`);

for (const c of CASES) {
  const mr = generatePhantom({ region: 'head', seed: 1, shape: c.shape }).t1;
  const spec = describeResnetGenerator({ spatialDims: c.dims, ngf: c.ngf, blocks: c.blocks });
  const net = buildNetwork(spec, createRng(1));
  const { generator, spatialDims, sizeMultiple } = networkGenerator(net);
  const options = {
    spatialDims,
    sizeMultiple,
    sourceNormalization: fitNormalization(mr, { type: 'mr-percentile' }),
    targetNormalization: { type: 'ct-window', lower: -1024, upper: 3000 } as const,
    targetModality: 'CT' as const,
    targetUnits: 'HU' as const,
    axis: 2 as const,
    batchSize: c.batchSize,
    ...(c.dims === 3 ? { patchSize: [c.patch, c.patch, c.patch], overlap: 0.5 } : {}),
  };
  const input = c.dims === 2 ? [c.batchSize, c.shape[1], c.shape[0], 1] : [1, c.patch, c.patch, c.patch, 1];
  tf.tidy(() => generator(tf.zeros(input)).dataSync()); // warm-up: kernel set-up, filter caches
  let calls = 0;
  const t0 = performance.now();
  const out = await translateVolume(mr, generator, { ...options, onProgress: () => calls++ });
  const seconds = (performance.now() - t0) / 1000;
  const voxels = c.shape[0] * c.shape[1] * c.shape[2];
  const windows = c.dims === 3 ? planWindows(c.shape, [c.patch, c.patch, c.patch], sizeMultiple, 0.5).starts.length : 0;
  const flops = c.dims === 2 ? forwardFlops(spec, [c.shape[1], c.shape[0]], 1) * c.shape[2] : forwardFlops(spec, [c.patch, c.patch, c.patch], 1) * windows;
  console.log(
    `${c.name}: ${seconds.toFixed(2)} s, ${(voxels / seconds / 1e6).toFixed(3)} Mvoxels/s, ${(c.shape[2] / seconds).toFixed(2)} slices/s` +
      `${c.dims === 3 ? `, ${(windows / seconds).toFixed(2)} windows/s (${windows} windows)` : ''}, ${calls} generator calls, ` +
      `${(flops / seconds / 1e9).toFixed(1)} GFLOP/s effective; rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB ` +
      `(output range ${Math.min(...out.data.subarray(0, 4096)).toFixed(0)}..${Math.max(...out.data.subarray(0, 4096)).toFixed(0)} HU in the first 4096 voxels)`,
  );
  net.dispose();
}
