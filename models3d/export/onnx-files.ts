/**
 * The ONNX exports of a checkpoint's generators: one `<role>.onnx` per generator beside weights.bin,
 * indexed in the manifest's `onnx` field (opset, file, size, SHA-256, and the SHA-256 of the weights
 * file it was exported from, so an export that no longer matches its weights is recognised).
 */
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { NetworkRole } from '../model/networks.ts';
import type { NetworkSpec } from '../networks/spec.ts';
import { exportOnnx, ONNX_IR_VERSION, ONNX_OPSET } from './onnx-export.ts';

export interface OnnxFileEntry {
  file: string;
  bytes: number;
  sha256: string;
}

export interface OnnxExportIndex {
  opset: number;
  irVersion: number;
  /** Tensor layout of the models' input and output. */
  layout: 'NCHW' | 'NCDHW';
  /** SHA-256 of the weights file the models were exported from. */
  weightsSha256: string;
  files: Partial<Record<NetworkRole, OnnxFileEntry>>;
}

export function onnxFileName(role: NetworkRole): string {
  return `${role}.onnx`;
}

/**
 * Writes `<role>.onnx` into `dir` for each role, from `weight(role, param)` (channels-last values as
 * in the spec); returns the manifest index.
 */
export async function writeOnnxFiles(
  dir: string,
  specs: Partial<Record<NetworkRole, NetworkSpec>>,
  roles: readonly NetworkRole[],
  weight: (role: NetworkRole, param: string) => Float32Array | undefined,
  weightsSha256: string,
): Promise<OnnxExportIndex> {
  const files: Partial<Record<NetworkRole, OnnxFileEntry>> = {};
  let spatialDims = 2;
  for (const role of roles) {
    const spec = specs[role];
    if (!spec) continue;
    spatialDims = spec.spatialDims;
    const values = new Map<string, Float32Array>();
    for (const p of spec.params) {
      const v = weight(role, p.name);
      if (v) values.set(p.name, v);
    }
    for (const node of spec.nodes) {
      if (node.op !== 'conv' || !node.spectralNorm) continue;
      for (const suffix of ['weight_u', 'weight_v']) {
        const v = weight(role, `${node.name}.${suffix}`);
        if (v) values.set(`${node.name}.${suffix}`, v);
      }
    }
    const bytes = exportOnnx(spec, values, { metadata: { 'voxshift.role': role, 'voxshift.weightsSha256': weightsSha256 } });
    const file = onnxFileName(role);
    await writeFile(join(dir, file), bytes);
    files[role] = { file, bytes: bytes.byteLength, sha256: createHash('sha256').update(bytes).digest('hex') };
  }
  return { opset: ONNX_OPSET, irVersion: ONNX_IR_VERSION, layout: spatialDims === 2 ? 'NCHW' : 'NCDHW', weightsSha256, files };
}
