/**
 * Writes a volume as NRRD (.nrrd attached, .nhdr + .raw detached) or MetaImage (.mha attached,
 * .mhd + .raw detached) with ITK-Wasm. Channels are written as vector pixels.
 */
import { mkdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { VoxshiftError } from '../errors.ts';
import type { Volume } from '../volume.ts';
import { itkImageFromVolume } from './itk-image.ts';
import { ITK_EXTENSIONS, itkFormatOf } from './read-itk.ts';

export interface WriteItkOptions {
  /** Compress the voxel data (gzip in NRRD, zlib in MetaImage). Default false. */
  compress?: boolean;
}

/** The detached data file a header names, if any. */
async function detachedDataFile(header: string, format: 'nrrd' | 'mha'): Promise<string | undefined> {
  const text = (await readFile(header)).toString('latin1', 0, 64 * 1024);
  const m = format === 'nrrd' ? /^data ?file:\s*(.+?)\s*$/m.exec(text) : /^ElementDataFile\s*=\s*(.+?)\s*$/m.exec(text);
  if (m === null || m[1] === 'LOCAL') return undefined;
  return isAbsolute(m[1]) ? m[1] : join(dirname(header), m[1]);
}

/** Writes `vol` to `path`; returns the files written (header first). */
export async function writeItkImage(vol: Volume, path: string, options: WriteItkOptions = {}): Promise<string[]> {
  const format = itkFormatOf(path);
  if (format === undefined) {
    throw new VoxshiftError('UNSUPPORTED_FORMAT', `writeItkImage writes ${Object.keys(ITK_EXTENSIONS).join(', ')} files`, {
      file: path,
      param: 'path',
      details: { accepted: Object.keys(ITK_EXTENSIONS) },
    });
  }
  const file = resolve(path);
  const existing = await stat(file).catch(() => undefined);
  if (existing?.isDirectory()) {
    throw new VoxshiftError('INVALID_ARGUMENT', 'output path is a folder', { file: path, param: 'path' });
  }
  await mkdir(dirname(file), { recursive: true }).catch((e: unknown) => {
    throw new VoxshiftError('WRITE_FAILED', 'cannot create the output folder', { file: path, cause: e });
  });
  const image = itkImageFromVolume(vol);
  const io = await import('@itk-wasm/image-io');
  let couldWrite: unknown;
  try {
    const opts = { useCompression: options.compress === true };
    ({ couldWrite } = format === 'nrrd' ? await io.nrrdWriteImageNode(image, file, opts) : await io.metaWriteImageNode(image, file, opts));
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    throw new VoxshiftError('WRITE_FAILED', `ITK could not write the image (${reason})`, { file: path, cause: e });
  }
  const written = await stat(file).catch(() => undefined);
  if (couldWrite !== true || written === undefined) {
    throw new VoxshiftError('WRITE_FAILED', 'ITK did not write the image', { file: path });
  }
  const data = await detachedDataFile(file, format);
  // Report paths as the caller gave them (relative stays relative).
  return data === undefined ? [path] : [path, dirname(data) === dirname(file) ? join(dirname(path), basename(data)) : data];
}
