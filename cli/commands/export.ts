/**
 * `voxshift export --model DIR`: writes an ONNX model (`<role>.onnx`) for each generator of a
 * checkpoint folder and records it in the manifest, so `voxshift translate` runs it on onnxruntime.
 * `--verify` then runs each export and the tfjs network on the same random input and prints the
 * largest difference (exit code 1 when it exceeds --tolerance).
 */
import type { Command } from 'commander';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { VoxshiftError } from '../../volumes/errors.ts';
import { createRng } from '../../volumes/random.ts';
import { initBackend, type BackendKind } from '../../models3d/engine/backend.ts';
import { loadCheckpoint } from '../../models3d/checkpoint/checkpoint.ts';
import { exportCheckpointToOnnx } from '../../models3d/export/export-checkpoint.ts';
import { ROLES, type NetworkRole } from '../../models3d/model/networks.ts';
import { createOnnxGenerator } from '../../models3d/inference/onnx-runtime.ts';
import type { RegisterCommand } from './index.ts';

interface ExportCliOptions {
  model: string;
  roles?: string;
  verify?: boolean;
  tolerance: string;
  backend: string;
}

/** Max |ONNX − tfjs| of each exported generator on one random input in [−1, 1]. */
async function verify(dir: string, roles: NetworkRole[], say: (s: string) => void): Promise<Map<NetworkRole, number>> {
  const loaded = await loadCheckpoint(dir, { roles, trainable: false });
  const out = new Map<NetworkRole, number>();
  try {
    for (const [role, net] of loaded.networks) {
      const { spec } = net;
      const side = spec.sizeMultiple * (spec.spatialDims === 2 ? Math.max(1, Math.ceil(64 / spec.sizeMultiple)) : Math.max(1, Math.ceil(16 / spec.sizeMultiple)));
      const shape = [1, ...Array<number>(spec.spatialDims).fill(side), spec.inputChannels];
      const rng = createRng(1);
      const x = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng() * 2 - 1);
      const expected = tf.tidy(() => net.apply(tf.tensor(x, shape)).dataSync());
      const session = await createOnnxGenerator(join(dir, `${role}.onnx`));
      try {
        const got = await session.run(x, shape);
        let worst = got.length === expected.length ? 0 : Infinity;
        for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - expected[i]));
        out.set(role, worst);
        say(`verify ${role}: input [${shape.join(', ')}], max |onnx − tfjs| ${worst.toExponential(2)} (${session.description}, tfjs ${tf.getBackend()})`);
      } finally {
        await session.release();
      }
    }
  } finally {
    for (const n of loaded.networks.values()) n.dispose();
  }
  return out;
}

export const registerExport: RegisterCommand = (program: Command, setExitCode) => {
  program
    .command('export')
    .description('export the generators of a model folder to ONNX (translate then runs them on onnxruntime)')
    .requiredOption('--model <dir>', 'model folder written by `voxshift train` (OUT/model or OUT/checkpoint)')
    .option('--roles <list>', 'generators to export, comma-separated (default: all of them: gen, or genAB,genBA)')
    .option('--verify', 'run each export and the tfjs network on a random input and compare')
    .option('--tolerance <x>', 'largest accepted |onnx − tfjs| with --verify', '1e-4')
    .option('--backend <kind>', 'tfjs backend for --verify: auto, gpu, cpu or wasm', 'auto')
    .action(async (o: ExportCliOptions) => {
      const say = (s: string): boolean => process.stderr.write(`${s}\n`);
      const known = [...new Set(Object.values(ROLES).flat())];
      const roles = o.roles?.split(',').map((r) => r.trim());
      const bad = roles?.find((r) => !known.includes(r as NetworkRole));
      if (bad !== undefined) {
        throw new VoxshiftError('INVALID_ARGUMENT', `--roles: unknown network ${JSON.stringify(bad)} (known: ${known.join(', ')})`, { param: 'roles' });
      }
      const tolerance = Number(o.tolerance);
      if (!(tolerance >= 0)) throw new VoxshiftError('INVALID_ARGUMENT', `--tolerance must be a non-negative number, got ${JSON.stringify(o.tolerance)}`, { param: 'tolerance' });
      const t0 = performance.now();
      const index = await exportCheckpointToOnnx(o.model, roles ? { roles: roles as NetworkRole[] } : {});
      const written = Object.entries(index.files).filter(([r]) => roles === undefined || roles.includes(r));
      process.stdout.write(
        `exported ${written.map(([r, f]) => `${r} → ${join(o.model, f.file)} (${(f.bytes / 2 ** 20).toFixed(2)} MiB)`).join(', ')}; ONNX opset ${index.opset}, ${index.layout}, in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`,
      );
      if (o.verify) {
        await initBackend(o.backend as BackendKind, { log: say });
        const diffs = await verify(o.model, written.map(([r]) => r as NetworkRole), say);
        const failed = [...diffs].filter(([, d]) => !(d <= tolerance));
        if (failed.length > 0) {
          say(`verify failed: ${failed.map(([r, d]) => `${r} differs by ${d.toExponential(2)}`).join(', ')} (tolerance ${tolerance})`);
          setExitCode(1);
        }
      }
    });
};
