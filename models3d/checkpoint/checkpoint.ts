/**
 * Checkpoints: a folder with `manifest.json` (config, intensity normalisation, modality pair, training
 * spacing, step, network specs, library version, tensor indexes) and binary tensor files — the weights
 * of the networks (`weights.bin`) and, for a training checkpoint, the optimizer moments and image
 * pools (`training-state.bin`) so a resumed run continues exactly. Networks are rebuilt from the specs
 * stored in the manifest, so a checkpoint stays loadable when the builders' defaults change.
 * A folder is written beside its destination and renamed into place: an interrupted save never
 * leaves a half-written checkpoint where a good one was.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { VERSION } from '../../cli/version.ts';
import { VoxshiftError } from '../../volumes/errors.ts';
import type { Normalization } from '../../volumes/normalize.ts';
import { buildNetwork, type Network } from '../networks/build-network.ts';
import { createRng } from '../networks/rng.ts';
import type { NetworkSpec } from '../networks/spec.ts';
import type { ModelConfig } from '../model/config.ts';
import { isGenerator, ROLES, type NetworkRole } from '../model/networks.ts';
import { writeOnnxFiles, type OnnxExportIndex } from '../export/onnx-files.ts';
import type { Adam } from '../training/optimizer.ts';
import { readTensorFile, writeTensorFile, type NamedTensor, type TensorFileIndex } from './tensor-file.ts';

export const CHECKPOINT_FORMAT = 'voxshift-checkpoint/1';
const MANIFEST = 'manifest.json';
const WEIGHTS = 'weights.bin';
const TRAINING = 'training-state.bin';

export interface PoolState {
  itemShape: number[];
  items: Float32Array[];
}

export interface CheckpointManifest {
  format: typeof CHECKPOINT_FORMAT;
  library: { name: 'voxshift'; version: string };
  createdAt: string;
  config: ModelConfig;
  /** Training steps completed. */
  step: number;
  /** How each domain's intensities map to [-1, 1]; inference inverts the target's. */
  normalization: { a: Normalization; b: Normalization };
  /** Median voxel spacing (mm) of each domain's training volumes. */
  spacing: { a: number[]; b: number[] };
  networks: Partial<Record<NetworkRole, NetworkSpec>>;
  weights: TensorFileIndex;
  /** Present in checkpoints that can resume training. */
  training?: {
    state: TensorFileIndex;
    optimizerSteps: Record<string, number>;
    pools: Record<string, { itemShape: number[]; count: number }>;
  };
  /** Free-form facts about the run (losses, data, command line). */
  notes?: Record<string, unknown>;
  /** ONNX exports of the generators (models3d/export), when the checkpoint has them. */
  onnx?: OnnxExportIndex;
}

export interface CheckpointContent {
  config: ModelConfig;
  step: number;
  normalization: { a: Normalization; b: Normalization };
  spacing: { a: number[]; b: number[] };
  networks: Map<NetworkRole, Network>;
  notes?: Record<string, unknown>;
}

export interface TrainingStateContent {
  optimizers: Record<string, Adam>;
  pools: Record<string, PoolState>;
}

function readVariable(v: tf.Tensor): Float32Array {
  return v.dataSync() as Float32Array;
}

/** Maps tf.Variable names (unique per engine, with a counter) to stable `<role>/<param>` names. */
function stableNames(networks: Map<NetworkRole, Network>): Map<string, string> {
  const out = new Map<string, string>();
  for (const [role, net] of networks) for (const [param, v] of net.params) out.set(v.name, `${role}/${param}`);
  return out;
}

async function replaceDir(target: string, write: (tmp: string) => Promise<void>): Promise<void> {
  const tmp = join(dirname(target), `.${basename(target)}.partial-${process.pid}`);
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  try {
    await write(tmp);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
  const old = join(dirname(target), `.${basename(target)}.old-${process.pid}`);
  if (existsSync(target)) await rename(target, old);
  await rename(tmp, target);
  await rm(old, { recursive: true, force: true });
}

export interface SaveOptions {
  /** Networks to store (default all); an inference checkpoint keeps only generators. */
  roles?: readonly NetworkRole[];
  /** Optimizer moments and pools, for resuming. */
  training?: TrainingStateContent;
  /**
   * Also write `<role>.onnx` for each saved generator (models3d/export). Default: on for an inference
   * checkpoint (only generators, no training state), off otherwise.
   */
  onnx?: boolean;
}

/** Writes a checkpoint folder at `dir` (replacing one that is there). Returns its manifest. */
export async function saveCheckpoint(dir: string, content: CheckpointContent, options: SaveOptions = {}): Promise<CheckpointManifest> {
  const roles = options.roles ?? [...content.networks.keys()];
  const weights: NamedTensor[] = [];
  const specs: Partial<Record<NetworkRole, NetworkSpec>> = {};
  for (const role of roles) {
    const net = content.networks.get(role);
    if (!net) throw new VoxshiftError('INVALID_ARGUMENT', `the model has no ${role} network to save`, { param: 'roles' });
    specs[role] = net.spec;
    // Buffers (spectral-norm u/v) are state of the weights: without them a reloaded discriminator would
    // normalise by another σ.
    for (const [param, v] of [...net.params, ...net.buffers]) weights.push({ name: `${role}/${param}`, shape: [...v.shape], data: readVariable(v) });
  }
  let manifest: CheckpointManifest | undefined;
  await mkdir(dirname(dir), { recursive: true });
  await replaceDir(dir, async (tmp) => {
    const weightIndex = await writeTensorFile(join(tmp, WEIGHTS), WEIGHTS, weights);
    let onnx: OnnxExportIndex | undefined;
    if (options.onnx ?? (options.training === undefined && roles.every(isGenerator))) {
      const byName = new Map(weights.map((w) => [w.name, w.data]));
      onnx = await writeOnnxFiles(tmp, specs, roles.filter(isGenerator), (role, param) => byName.get(`${role}/${param}`), weightIndex.sha256);
    }
    let training: CheckpointManifest['training'];
    if (options.training) {
      const names = stableNames(content.networks);
      const state: NamedTensor[] = [];
      const optimizerSteps: Record<string, number> = {};
      for (const [optName, opt] of Object.entries(options.training.optimizers)) {
        const s = opt.getState();
        optimizerSteps[optName] = s.step;
        for (const [varName, { m, v }] of s.moments) {
          const stable = names.get(varName);
          if (stable === undefined) throw new VoxshiftError('INTERNAL', `optimizer ${optName} holds a variable ${varName} of no saved network`);
          state.push({ name: `adam/${optName}/${stable}/m`, shape: [...m.shape], data: readVariable(m) });
          state.push({ name: `adam/${optName}/${stable}/v`, shape: [...v.shape], data: readVariable(v) });
        }
      }
      const pools: Record<string, { itemShape: number[]; count: number }> = {};
      for (const [poolName, pool] of Object.entries(options.training.pools)) {
        pools[poolName] = { itemShape: [...pool.itemShape], count: pool.items.length };
        pool.items.forEach((item, i) => state.push({ name: `pool/${poolName}/${i}`, shape: [...pool.itemShape], data: item }));
      }
      training = { state: await writeTensorFile(join(tmp, TRAINING), TRAINING, state), optimizerSteps, pools };
    }
    manifest = {
      format: CHECKPOINT_FORMAT,
      library: { name: 'voxshift', version: VERSION },
      createdAt: new Date().toISOString(),
      config: content.config,
      step: content.step,
      normalization: content.normalization,
      spacing: content.spacing,
      networks: specs,
      weights: weightIndex,
      ...(training ? { training } : {}),
      ...(content.notes ? { notes: content.notes } : {}),
      ...(onnx ? { onnx } : {}),
    };
    await writeFile(join(tmp, MANIFEST), `${JSON.stringify(manifest, null, 1)}\n`);
  });
  return manifest as CheckpointManifest;
}

function incompatible(dir: string, message: string, details?: Record<string, unknown>): never {
  throw new VoxshiftError('INCOMPATIBLE_CHECKPOINT', message, { file: dir, ...(details ? { details } : {}) });
}

/** Reads and checks a checkpoint's manifest (no tensors). */
export async function readManifest(dir: string): Promise<CheckpointManifest> {
  const path = join(dir, MANIFEST);
  if (!existsSync(dir)) throw new VoxshiftError('FILE_NOT_FOUND', 'checkpoint folder does not exist', { file: dir, param: 'model' });
  if (!existsSync(path)) {
    incompatible(dir, `not a voxshift checkpoint: no ${MANIFEST} (expected a folder written by \`voxshift train\`)`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    throw new VoxshiftError('CORRUPT_CHECKPOINT', `${MANIFEST} is not valid JSON (${(e as Error).message})`, { file: dir, cause: e });
  }
  const m = raw as Partial<CheckpointManifest> | null;
  if (typeof m !== 'object' || m === null || typeof m.format !== 'string') incompatible(dir, `${MANIFEST} has no "format": not a voxshift checkpoint`);
  if (m.format !== CHECKPOINT_FORMAT) {
    incompatible(dir, `checkpoint format ${JSON.stringify(m.format)} is not supported (this voxshift ${VERSION} reads ${CHECKPOINT_FORMAT})`, { format: m.format });
  }
  if (!m.config || !m.networks || !m.weights || typeof m.step !== 'number' || !m.normalization) {
    throw new VoxshiftError('CORRUPT_CHECKPOINT', `${MANIFEST} lacks config, networks, weights, step or normalization`, { file: dir });
  }
  const roles = ROLES[m.config.kind] as readonly string[] | undefined;
  if (!roles) incompatible(dir, `unknown model kind ${JSON.stringify(m.config.kind)}`);
  for (const role of Object.keys(m.networks)) {
    if (!roles.includes(role)) incompatible(dir, `network ${role} does not belong to a ${m.config.kind} model`);
  }
  return m as CheckpointManifest;
}

function assignWeights(dir: string, role: NetworkRole, net: Network, tensors: Map<string, NamedTensor>): void {
  for (const [param, v] of [...net.params, ...net.buffers]) {
    const t = tensors.get(`${role}/${param}`);
    if (!t) throw new VoxshiftError('CORRUPT_CHECKPOINT', `weights for ${role}/${param} are missing`, { file: dir });
    if (t.shape.join('x') !== v.shape.join('x')) {
      incompatible(dir, `weights ${role}/${param} have shape [${t.shape.join(', ')}], the network needs [${v.shape.join(', ')}]`);
    }
    if (!t.data.every(Number.isFinite)) throw new VoxshiftError('CORRUPT_CHECKPOINT', `weights ${role}/${param} contain NaN or infinite values`, { file: dir });
    tf.tidy(() => v.assign(tf.tensor(t.data, t.shape, 'float32')));
  }
}

export interface LoadOptions {
  /** Networks to build (default: all the checkpoint holds). */
  roles?: readonly NetworkRole[];
  trainable?: boolean;
}

/** Loads a checkpoint's networks (rebuilt from the stored specs) and its metadata. */
export async function loadCheckpoint(dir: string, options: LoadOptions = {}): Promise<CheckpointContent & { manifest: CheckpointManifest }> {
  const manifest = await readManifest(dir);
  const roles = options.roles ?? (Object.keys(manifest.networks) as NetworkRole[]);
  const tensors = await readTensorFile(join(dir, manifest.weights.file), manifest.weights);
  const networks = new Map<NetworkRole, Network>();
  try {
    for (const role of roles) {
      const spec = manifest.networks[role];
      if (!spec) incompatible(dir, `checkpoint has no ${role} network (it holds ${Object.keys(manifest.networks).join(', ')})`);
      // Initial values are overwritten; the rng only fills them once.
      const net = buildNetwork(spec, createRng(0), { name: role, trainable: options.trainable ?? true });
      networks.set(role, net);
      assignWeights(dir, role, net, tensors);
    }
  } catch (e) {
    for (const n of networks.values()) n.dispose();
    throw e;
  }
  return {
    manifest,
    config: manifest.config,
    step: manifest.step,
    normalization: manifest.normalization,
    spacing: manifest.spacing,
    networks,
    ...(manifest.notes ? { notes: manifest.notes } : {}),
  };
}

/** Restores optimizer moments and pools saved with a training checkpoint into live objects. */
export async function loadTrainingState(
  dir: string,
  manifest: CheckpointManifest,
  networks: Map<NetworkRole, Network>,
  optimizers: Record<string, Adam>,
): Promise<Record<string, PoolState>> {
  const training = manifest.training;
  if (!training) incompatible(dir, 'this checkpoint holds no training state (it was saved for inference); start a new run instead of resuming');
  const tensors = await readTensorFile(join(dir, training.state.file), training.state);
  const byStable = new Map<string, tf.Variable>();
  for (const [role, net] of networks) for (const [param, v] of net.params) byStable.set(`${role}/${param}`, v);
  for (const [optName, opt] of Object.entries(optimizers)) {
    const step = training.optimizerSteps[optName];
    if (step === undefined) incompatible(dir, `checkpoint has no state for optimizer ${optName}`);
    const moments = new Map<string, { m: tf.Tensor; v: tf.Tensor }>();
    const prefix = `adam/${optName}/`;
    for (const [name, t] of tensors) {
      if (!name.startsWith(prefix) || !name.endsWith('/m')) continue;
      const stable = name.slice(prefix.length, -2);
      const variable = byStable.get(stable);
      const vt = tensors.get(`${prefix}${stable}/v`);
      if (!variable || !vt) throw new VoxshiftError('CORRUPT_CHECKPOINT', `optimizer state ${name} has no matching variable or second moment`, { file: dir });
      moments.set(variable.name, { m: tf.tensor(t.data, t.shape), v: tf.tensor(vt.data, vt.shape) });
    }
    opt.setState(step, moments);
    for (const { m, v } of moments.values()) {
      m.dispose();
      v.dispose();
    }
  }
  const pools: Record<string, PoolState> = {};
  for (const [poolName, p] of Object.entries(training.pools)) {
    const items: Float32Array[] = [];
    for (let i = 0; i < p.count; i++) {
      const t = tensors.get(`pool/${poolName}/${i}`);
      if (!t) throw new VoxshiftError('CORRUPT_CHECKPOINT', `image pool ${poolName} item ${i} is missing`, { file: dir });
      items.push(t.data);
    }
    pools[poolName] = { itemShape: p.itemShape, items };
  }
  return pools;
}
