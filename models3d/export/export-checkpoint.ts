/**
 * ONNX exports of an existing checkpoint folder (`voxshift export`), and finding a generator's export
 * for inference. The export reads the manifest and weights.bin (checksummed) directly — no tfjs —
 * writes `<role>.onnx` beside them and records them in manifest.json (rewritten atomically).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { VoxshiftError } from '../../volumes/errors.ts';
import { readManifest, type CheckpointManifest } from '../checkpoint/checkpoint.ts';
import { readTensorFile } from '../checkpoint/tensor-file.ts';
import { isGenerator, type NetworkRole } from '../model/networks.ts';
import { writeOnnxFiles, type OnnxExportIndex } from './onnx-files.ts';

export interface ExportCheckpointOptions {
  /** Generators to export (default: every generator the checkpoint holds). */
  roles?: readonly NetworkRole[];
}

/** Writes `<role>.onnx` for the checkpoint's generators and adds them to its manifest; returns the index. */
export async function exportCheckpointToOnnx(dir: string, options: ExportCheckpointOptions = {}): Promise<OnnxExportIndex> {
  const manifest = await readManifest(dir);
  const held = Object.keys(manifest.networks) as NetworkRole[];
  const roles = options.roles ?? held.filter(isGenerator);
  for (const role of roles) {
    if (!held.includes(role)) {
      throw new VoxshiftError('INVALID_ARGUMENT', `checkpoint has no ${role} network (it holds ${held.join(', ')})`, { file: dir, param: 'roles' });
    }
    if (!isGenerator(role)) {
      throw new VoxshiftError('INVALID_ARGUMENT', `${role} is a discriminator; only generators are exported (translation runs them)`, { file: dir, param: 'roles' });
    }
  }
  if (roles.length === 0) {
    throw new VoxshiftError('INVALID_ARGUMENT', `checkpoint holds no generator to export (it holds ${held.join(', ')})`, { file: dir, param: 'roles' });
  }
  const tensors = await readTensorFile(join(dir, manifest.weights.file), manifest.weights);
  const index = await writeOnnxFiles(dir, manifest.networks, roles, (role, param) => tensors.get(`${role}/${param}`)?.data, manifest.weights.sha256);
  // Keep exports of other roles made earlier from the same weights.
  const previous = manifest.onnx && manifest.onnx.weightsSha256 === index.weightsSha256 && manifest.onnx.opset === index.opset ? manifest.onnx.files : {};
  const merged: OnnxExportIndex = { ...index, files: { ...previous, ...index.files } };
  const tmp = join(dir, `.manifest.json.partial-${process.pid}`);
  await writeFile(tmp, `${JSON.stringify({ ...manifest, onnx: merged }, null, 1)}\n`);
  await rename(tmp, join(dir, 'manifest.json'));
  return merged;
}

/** Why a generator has no usable ONNX export, or its path and bytes. */
export type OnnxLookup = { ok: true; path: string; bytes: Uint8Array } | { ok: false; reason: string };

/**
 * The ONNX model of `role` in a checkpoint: present in the manifest, on disk, unchanged (SHA-256) and
 * exported from the weights the manifest names. Reads the file.
 */
export async function findOnnxExport(dir: string, manifest: CheckpointManifest, role: NetworkRole): Promise<OnnxLookup> {
  const entry = manifest.onnx?.files[role];
  if (!manifest.onnx || !entry) return { ok: false, reason: `the checkpoint has no ONNX export of ${role}` };
  const path = join(dir, entry.file);
  if (!existsSync(path)) return { ok: false, reason: `${entry.file} is listed in the manifest but missing` };
  if (manifest.onnx.weightsSha256 !== manifest.weights.sha256) {
    return { ok: false, reason: `${entry.file} was exported from other weights than weights.bin (re-export it)` };
  }
  const bytes = new Uint8Array(await readFile(path));
  const sha = createHash('sha256').update(bytes).digest('hex');
  if (sha !== entry.sha256) {
    throw new VoxshiftError('CORRUPT_CHECKPOINT', `${entry.file} differs from its checksum in the manifest (the file was modified or damaged); run \`voxshift export --model ${dir}\` again`, {
      file: path,
      details: { sha256: sha, expected: entry.sha256 },
    });
  }
  return { ok: true, path, bytes };
}

/** Whether the manifest lists an ONNX export of `role` whose file exists (no checksum: cheap). */
export function hasOnnxExport(dir: string, manifest: CheckpointManifest, role: NetworkRole): boolean {
  const entry = manifest.onnx?.files[role];
  return entry !== undefined && manifest.onnx?.weightsSha256 === manifest.weights.sha256 && existsSync(join(dir, entry.file));
}
