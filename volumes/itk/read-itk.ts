/**
 * Reads NRRD (.nrrd, .nhdr) and MetaImage (.mha, .mhd) files with ITK-Wasm (@itk-wasm/image-io,
 * whose wasm modules load from node_modules, no network). ITK works in LPS, as a Volume does.
 */
import { resolve } from 'node:path';
import { VoxshiftError } from '../errors.ts';
import type { Modality, Volume, VolumeKind } from '../volume.ts';
import { checkItkHeader, type ItkFormat } from './itk-header.ts';
import { volumeFromItkImage, type ItkImage } from './itk-image.ts';

export interface ReadItkOptions {
  kind?: VolumeKind;
  modality?: Modality;
}

export const ITK_EXTENSIONS: Record<string, ItkFormat> = { '.nrrd': 'nrrd', '.nhdr': 'nrrd', '.mha': 'mha', '.mhd': 'mha' };

/** The ITK format of a path by its extension (case-insensitive), or undefined. */
export function itkFormatOf(path: string): ItkFormat | undefined {
  const m = /\.[^./\\]+$/.exec(path.toLowerCase());
  return m ? ITK_EXTENSIONS[m[0]] : undefined;
}

export async function readItkImage(path: string, options: ReadItkOptions = {}): Promise<Volume> {
  const format = itkFormatOf(path);
  if (format === undefined) {
    throw new VoxshiftError('UNSUPPORTED_FORMAT', `readItkImage reads ${Object.keys(ITK_EXTENSIONS).join(', ')} files`, {
      file: path,
      details: { accepted: Object.keys(ITK_EXTENSIONS) },
    });
  }
  const file = resolve(path);
  await checkItkHeader(file, format);
  const io = await import('@itk-wasm/image-io');
  let result: { couldRead: unknown; image: ItkImage };
  try {
    result = format === 'nrrd' ? await io.nrrdReadImageNode(file) : await io.metaReadImageNode(file);
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    throw new VoxshiftError('FILE_UNREADABLE', `ITK could not read this ${format === 'nrrd' ? 'NRRD' : 'MetaImage'} file (${reason})`, {
      file: path,
      cause: e,
    });
  }
  if (result.couldRead !== true || result.image === undefined) {
    throw new VoxshiftError('FILE_UNREADABLE', `ITK could not read this ${format === 'nrrd' ? 'NRRD' : 'MetaImage'} file`, { file: path });
  }
  const vol = volumeFromItkImage(result.image, { file: path, format, kind: options.kind, modality: options.modality });
  return vol;
}
