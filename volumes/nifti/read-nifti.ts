/**
 * Reads a NIfTI file from disk: .nii, .nii.gz, or a .hdr/.img pair (each possibly gzipped), given
 * either file of the pair.
 */
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { VoxshiftError } from '../errors.ts';
import type { Volume } from '../volume.ts';
import { decodeNifti, type NiftiReadOptions } from './parse-nifti.ts';

async function readBytes(path: string): Promise<Uint8Array> {
  try {
    const buf = await readFile(path);
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new VoxshiftError('FILE_NOT_FOUND', 'no such file', { file: path, cause: e });
    }
    throw new VoxshiftError('FILE_UNREADABLE', `cannot read: ${(e as Error).message}`, { file: path, cause: e });
  }
}

/** The companion of a pair file: `.hdr[.gz]` ↔ `.img[.gz]`, same case, plain or gzipped. */
function companions(path: string): { header: boolean; candidates: string[] } | undefined {
  const m = /^(.*)\.(hdr|img)(\.gz)?$/i.exec(path);
  if (!m) return undefined;
  const [, base, ext, gz = ''] = m;
  const header = ext.toLowerCase() === 'hdr';
  const upper = ext === ext.toUpperCase();
  const other = header ? (upper ? 'IMG' : 'img') : upper ? 'HDR' : 'hdr';
  const gzOther = gz ? '' : upper ? '.GZ' : '.gz';
  return { header, candidates: [`${base}.${other}${gz}`, `${base}.${other}${gzOther}`] };
}

/** Reads a NIfTI-1/2 or Analyze file (see parseNifti for what is supported). */
export async function readNifti(path: string, options: NiftiReadOptions = {}): Promise<Volume> {
  const pair = companions(path);
  if (!pair) {
    const bytes = await readBytes(path);
    return decodeNifti(bytes, { ...options, file: path }, { header: true, image: true });
  }
  const found = pair.candidates.find((p) => existsSync(p));
  const headerPath = pair.header ? path : found;
  const imagePath = pair.header ? found : path;
  if (!headerPath) {
    await readBytes(path); // FILE_NOT_FOUND for the given file itself, if that is what is missing
    throw new VoxshiftError('FILE_NOT_FOUND', `image file without its header: none of ${pair.candidates.join(', ')} exists`, {
      file: path,
      details: { tried: pair.candidates },
    });
  }
  const headerBytes = await readBytes(headerPath);
  const imageBytes = imagePath ? await readBytes(imagePath) : undefined;
  return decodeNifti(
    headerBytes,
    {
      ...options,
      file: headerPath,
      imageFile: imagePath ?? pair.candidates[0],
      ...(imageBytes ? { imageBytes } : {}),
    },
    { header: true, image: true },
  );
}
