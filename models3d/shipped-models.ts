/**
 * Models that ship in the repository's `models/` folder (trained with `voxshift train`; the commands
 * are in README.md). Resolved relative to this module so they are found from the TypeScript sources
 * and from the compiled `dist/` alike.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { VoxshiftError } from '../volumes/errors.ts';

export const SHIPPED_MODELS = {
  /** 2D Pix2Pix (ResNet generator), phantom head T1-weighted MR → CT. */
  'phantom-mr2ct-pix2pix-2d': 'phantom-mr2ct-pix2pix-2d',
  /** 2D CycleGAN trained without pairs on the same kind of data. */
  'phantom-mr2ct-cyclegan-2d': 'phantom-mr2ct-cyclegan-2d',
} as const;

export type ShippedModel = keyof typeof SHIPPED_MODELS;

/** The folder of a shipped model. */
export function shippedModelDir(name: ShippedModel): string {
  for (const rel of ['../models/', '../../models/']) {
    const dir = fileURLToPath(new URL(`${rel}${SHIPPED_MODELS[name]}`, import.meta.url));
    if (existsSync(`${dir}/manifest.json`)) return dir;
  }
  throw new VoxshiftError('FILE_NOT_FOUND', `the shipped model ${name} is missing from the installation (models/${SHIPPED_MODELS[name]}); reinstall voxshift`, {
    param: 'model',
  });
}
