/** Writes a volume as NIfTI-1 (.nii, or gzipped when the path ends with .nii.gz). */
import { rename, unlink, writeFile } from 'node:fs/promises';
import { VoxshiftError } from '../errors.ts';
import type { Volume } from '../volume.ts';
import { encodeNifti, type EncodeNiftiOptions } from './encode-nifti.ts';

export async function writeNifti(vol: Volume, path: string, options: Pick<EncodeNiftiOptions, 'description'> = {}): Promise<void> {
  const m = /\.nii(\.gz)?$/i.exec(path);
  if (!m) {
    throw new VoxshiftError('INVALID_ARGUMENT', `NIfTI output path must end with .nii or .nii.gz, got ${path}`, { param: 'path', file: path });
  }
  const bytes = encodeNifti(vol, { ...options, gzip: m[1] !== undefined });
  // Write beside the target, then rename: a failed write never leaves a half file under the real name.
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  try {
    await writeFile(tmp, bytes);
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw new VoxshiftError('WRITE_FAILED', `cannot write NIfTI: ${(e as Error).message}`, { file: path, cause: e });
  }
}
