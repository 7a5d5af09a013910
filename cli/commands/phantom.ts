/**
 * `voxshift phantom --region head|pelvis --seed N --out DIR`: writes a digital phantom subject
 * (co-registered T1w, T2w, CT in HU and a tissue label map) as NIfTI.
 */
import type { Command } from 'commander';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { VoxshiftError } from '../../volumes/errors.ts';
import { writeVolume } from '../../volumes/io.ts';
import { generatePhantom, type PhantomRegion } from '../../volumes/phantom/index.ts';
import type { RegisterCommand } from './index.ts';

export function parseTriple(value: string, param: string): [number, number, number] {
  const parts = value.split(/[,x×]/).map((s) => Number(s.trim()));
  if (parts.length !== 3 || !parts.every((n) => Number.isFinite(n) && n > 0)) {
    throw new VoxshiftError('INVALID_ARGUMENT', `${param} must be three positive numbers like 128,128,96, got "${value}"`, { param });
  }
  return [parts[0], parts[1], parts[2]];
}

export const registerPhantom: RegisterCommand = (program: Command) => {
  program
    .command('phantom')
    .description('write a seeded digital phantom subject (T1w, T2w, CT in HU, tissue labels) as NIfTI')
    .requiredOption('--out <dir>', 'output folder')
    .option('--region <region>', 'head or pelvis', 'head')
    .option('--seed <n>', 'random seed', '1')
    .option('--shape <i,j,k>', 'voxel counts')
    .option('--spacing <x,y,z>', 'voxel size in mm')
    .option('--variation <v>', '0..1 anatomical variation', '0.5')
    .action(async (opts: { out: string; region: string; seed: string; shape?: string; spacing?: string; variation: string }) => {
      if (opts.region !== 'head' && opts.region !== 'pelvis') {
        throw new VoxshiftError('INVALID_ARGUMENT', `--region must be head or pelvis, got "${opts.region}"`, { param: 'region' });
      }
      const seed = Number(opts.seed);
      if (!Number.isInteger(seed)) throw new VoxshiftError('INVALID_ARGUMENT', `--seed must be an integer, got "${opts.seed}"`, { param: 'seed' });
      const p = generatePhantom({
        region: opts.region as PhantomRegion,
        seed,
        variation: Number(opts.variation),
        ...(opts.shape ? { shape: parseTriple(opts.shape, 'shape').map(Math.round) } : {}),
        ...(opts.spacing ? { spacing: parseTriple(opts.spacing, 'spacing') } : {}),
      });
      await mkdir(opts.out, { recursive: true });
      for (const [name, vol] of Object.entries({ t1: p.t1, t2: p.t2, ct: p.ct, labels: p.labels })) {
        const [file] = await writeVolume(vol, join(opts.out, `${name}.nii.gz`), { overwrite: true });
        process.stdout.write(`wrote ${file}\n`);
      }
    });
};
