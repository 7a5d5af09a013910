/**
 * Segmenter checkpoints: a folder with `manifest.json` (kind 'segmenter', the network spec, classes,
 * input normalisation, modality, spacing, seed, steps, library version) and `weights.bin`, the
 * SHA-256-checked tensor file of models3d checkpoints. Written beside the destination and renamed
 * into place. Loading refuses a folder that is not a segmenter (INCOMPATIBLE_CHECKPOINT) and damaged
 * contents (CORRUPT_CHECKPOINT).
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { VERSION } from '../../../cli/version.ts';
import { CHECKPOINT_FORMAT } from '../../../models3d/checkpoint/checkpoint.ts';
import { readTensorFile, writeTensorFile, type TensorFileIndex } from '../../../models3d/checkpoint/tensor-file.ts';
import { buildNetwork } from '../../../models3d/networks/build-network.ts';
import { createRng } from '../../../models3d/networks/rng.ts';
import type { NetworkSpec } from '../../../models3d/networks/spec.ts';
import { VoxshiftError } from '../../../volumes/errors.ts';
import { validateNormalization } from '../../../volumes/normalize.ts';
import { checkClasses, resolveSharedMapping, type SharedClassMapping } from './classes.ts';
import { createLearnedSegmenter, type LearnedSegmenter, type SegmenterInfo } from './learned-segmenter.ts';
import { UNET_SEGMENTER_KIND } from './unet-segmenter.ts';

export const SEGMENTER_FORMAT = 'voxshift-segmenter/1';
const MANIFEST = 'manifest.json';
const WEIGHTS = 'weights.bin';

export interface SegmenterManifest extends SegmenterInfo {
  format: typeof SEGMENTER_FORMAT;
  kind: 'segmenter';
  library: { name: 'voxshift'; version: string };
  createdAt: string;
  network: NetworkSpec;
  weights: TensorFileIndex;
  notes?: Record<string, unknown>;
}

/** Writes `segmenter` to the folder `dir` (replacing one that is there); returns the manifest. */
export async function saveLearnedSegmenter(dir: string, segmenter: LearnedSegmenter, notes?: Record<string, unknown>): Promise<SegmenterManifest> {
  const weights = [...segmenter.network.params].map(([name, v]) => ({ name: `segmenter/${name}`, shape: [...v.shape], data: v.dataSync() as Float32Array }));
  const tmp = join(dirname(dir), `.${basename(dir)}.partial-${process.pid}`);
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  let manifest: SegmenterManifest;
  try {
    const index = await writeTensorFile(join(tmp, WEIGHTS), WEIGHTS, weights);
    manifest = {
      format: SEGMENTER_FORMAT,
      kind: 'segmenter',
      library: { name: 'voxshift', version: VERSION },
      createdAt: new Date().toISOString(),
      ...segmenter.info,
      network: segmenter.network.spec,
      weights: index,
      ...(notes ? { notes } : {}),
    };
    await writeFile(join(tmp, MANIFEST), `${JSON.stringify(manifest, null, 1)}\n`);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
  const old = join(dirname(dir), `.${basename(dir)}.old-${process.pid}`);
  if (existsSync(dir)) await rename(dir, old);
  await rename(tmp, dir);
  await rm(old, { recursive: true, force: true });
  return manifest;
}

function incompatible(dir: string, message: string): never {
  throw new VoxshiftError('INCOMPATIBLE_CHECKPOINT', message, { file: dir, param: 'model' });
}

function corrupt(dir: string, message: string): never {
  throw new VoxshiftError('CORRUPT_CHECKPOINT', message, { file: dir, param: 'model' });
}

/** Reads and checks a segmenter checkpoint's manifest (no tensors). */
export async function readSegmenterManifest(dir: string): Promise<SegmenterManifest> {
  if (!existsSync(dir)) throw new VoxshiftError('FILE_NOT_FOUND', 'segmenter checkpoint folder does not exist', { file: dir, param: 'model' });
  const path = join(dir, MANIFEST);
  if (!existsSync(path)) incompatible(dir, `not a voxshift segmenter: no ${MANIFEST} (expected a folder written by \`voxshift train segmenter\`)`);
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    corrupt(dir, `${MANIFEST} is not valid JSON (${(e as Error).message})`);
  }
  const m = raw as Partial<SegmenterManifest> & { format?: unknown; config?: { kind?: unknown } };
  if (typeof m !== 'object' || m === null || typeof m.format !== 'string') incompatible(dir, `${MANIFEST} has no "format": not a voxshift checkpoint`);
  if ((m.format as string) === CHECKPOINT_FORMAT) {
    incompatible(dir, `this is a translation model checkpoint (${String(m.config?.kind ?? 'unknown kind')}), not a segmenter; train one with \`voxshift train segmenter\``);
  }
  if (m.format !== SEGMENTER_FORMAT || m.kind !== 'segmenter') {
    incompatible(dir, `checkpoint format ${JSON.stringify(m.format)} / kind ${JSON.stringify(m.kind)} is not supported (this voxshift ${VERSION} reads ${SEGMENTER_FORMAT}, kind "segmenter")`);
  }
  if (!m.network || !m.weights || !m.layout || !Array.isArray(m.classes) || !m.normalization || typeof m.steps !== 'number') {
    corrupt(dir, `${MANIFEST} lacks network, weights, layout, classes, normalization or steps`);
  }
  if (m.network.kind !== UNET_SEGMENTER_KIND) incompatible(dir, `network kind ${JSON.stringify(m.network.kind)} is not a segmentation U-Net`);
  if (m.network.outputChannels !== m.classes.length || m.classes[0]?.value !== 0) {
    corrupt(dir, `the network has ${m.network.outputChannels} outputs but the manifest lists ${m.classes.length} classes (background first)`);
  }
  try {
    checkClasses(m.classes.slice(1));
    validateNormalization(m.normalization.reference);
  } catch (e) {
    corrupt(dir, `${MANIFEST}: ${(e as Error).message}`);
  }
  return m as SegmenterManifest;
}

export interface LoadSegmenterOptions {
  /** Label value → shared class (overrides the one stored at training time). */
  sharedClasses?: SharedClassMapping;
}

/** Loads a segmenter checkpoint folder; the caller disposes the result. */
export async function loadLearnedSegmenter(dir: string, options: LoadSegmenterOptions = {}): Promise<LearnedSegmenter> {
  const manifest = await readSegmenterManifest(dir);
  const tensors = await readTensorFile(join(dir, manifest.weights.file), manifest.weights);
  const network = buildNetwork(manifest.network, createRng(0), { name: 'segmenter', trainable: false });
  try {
    for (const [param, v] of network.params) {
      const t = tensors.get(`segmenter/${param}`);
      if (!t) corrupt(dir, `weights for ${param} are missing`);
      if (t.shape.join('x') !== v.shape.join('x')) incompatible(dir, `weights ${param} have shape [${t.shape.join(', ')}], the network needs [${v.shape.join(', ')}]`);
      if (!t.data.every(Number.isFinite)) corrupt(dir, `weights ${param} contain NaN or infinite values`);
      tf.tidy(() => v.assign(tf.tensor(t.data, t.shape, 'float32')));
    }
    const shared = options.sharedClasses ?? manifest.sharedClasses;
    const { layout, classes, modality, normalization, spacing, seed, steps, training } = manifest;
    const info: SegmenterInfo = { layout, classes, modality, normalization, spacing, seed, steps, training };
    if (shared !== undefined) info.sharedClasses = resolveSharedMapping(shared, classes);
    return createLearnedSegmenter(network, info, dir);
  } catch (e) {
    network.dispose();
    throw e;
  }
}
