/**
 * One entry point for files: `readVolume` finds the format (magic bytes first, then the name) and
 * calls the reader; `writeVolume` picks the writer from the output path. Readers are imported
 * lazily, so reading a NIfTI never loads the DICOM codecs or the ITK-Wasm modules.
 */
import { mkdir, open, stat } from 'node:fs/promises';
import { basename, dirname, sep } from 'node:path';
import { gunzipSync, constants as zlibConstants } from 'node:zlib';
import { VoxshiftError } from './errors.ts';
import { deriveVolume, type Modality, type Volume, type VolumeKind } from './volume.ts';

export type VolumeFormat = 'nifti' | 'dicom' | 'nrrd' | 'mha' | 'zip';

export interface ReadVolumeOptions {
  /** DICOM only: the series to read when the input holds several. */
  seriesInstanceUid?: string;
  /** Overrides what the file says (or does not say): 'label' for segmentations. */
  kind?: VolumeKind;
  modality?: Modality;
  /** DICOM: after each decoded file; other formats: once, (1, 1), when done. */
  onProgress?: (done: number, total: number) => void;
}

export interface WriteVolumeOptions {
  /** DICOM only: patient/study tags to carry (a source DICOM file or folder, or keyword → value). */
  template?: string | Record<string, string>;
  /** Replace an existing output file (or this writer's files in a DICOM folder). Default false. */
  overwrite?: boolean;
  /** NRRD/MetaImage only: compress the voxel data. (.nii.gz compresses NIfTI.) */
  compress?: boolean;
  /** DICOM only. */
  dicom?: { seriesDescription?: string; seriesNumber?: number; modality?: 'CT' | 'MR'; uidRoot?: string };
}

export const READ_ACCEPTED = ['.nii', '.nii.gz', '.hdr/.img', '.nrrd', '.nhdr', '.mha', '.mhd', '.dcm', 'a DICOM folder', '.zip of DICOM'];
export const WRITE_ACCEPTED = ['.nii', '.nii.gz', '.nrrd', '.nhdr', '.mha', '.mhd', 'a folder (DICOM series: no extension or a trailing slash)'];

const PEEK = 1024;

async function peek(path: string, size: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(Math.min(size, PEEK));
    await fh.read(buf, 0, buf.length, 0);
    return buf;
  } finally {
    await fh.close();
  }
}

async function peekGzip(path: string): Promise<Buffer | undefined> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(64 * 1024);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    // Partial input: a sync flush returns what could be inflated instead of failing at the end.
    return gunzipSync(buf.subarray(0, bytesRead), { finishFlush: zlibConstants.Z_SYNC_FLUSH });
  } catch {
    return undefined;
  } finally {
    await fh.close();
  }
}

function isNiftiHeader(b: Buffer): boolean {
  if (b.length < 4) return false;
  const le = b.readInt32LE(0);
  const be = b.readInt32BE(0);
  return le === 348 || le === 540 || be === 348 || be === 540;
}

function magicFormat(b: Buffer): VolumeFormat | undefined {
  if (b.length >= 132 && b.toString('latin1', 128, 132) === 'DICM') return 'dicom';
  if (b.length >= 4 && b[0] === 0x50 && b[1] === 0x4b && (b[2] === 3 || b[2] === 5) && (b[3] === 4 || b[3] === 6)) return 'zip';
  if (b.toString('latin1', 0, 7) === 'NRRD000') return 'nrrd';
  if (isNiftiHeader(b)) return 'nifti';
  if (/^\s*(ObjectType|NDims|Comment|TransformType)\s*=/.test(b.toString('latin1', 0, Math.min(b.length, 256)))) return 'mha';
  return undefined;
}

function extensionFormat(path: string): VolumeFormat | undefined {
  const name = basename(path).toLowerCase();
  if (/\.(nii|nii\.gz|hdr|hdr\.gz|img|img\.gz|nia)$/.test(name)) return 'nifti';
  if (/\.(nrrd|nhdr)$/.test(name)) return 'nrrd';
  if (/\.(mha|mhd)$/.test(name)) return 'mha';
  if (/\.zip$/.test(name)) return 'zip';
  if (/\.(dcm|dicom|ima)$/.test(name)) return 'dicom';
  return undefined;
}

/**
 * The format of a file or folder: a folder is a DICOM series; a file is recognised by its magic bytes
 * (DICM at 128, PK zip, NRRD000x, NIfTI sizeof_hdr 348/540 in either byte order, MetaImage keys,
 * gzip holding a NIfTI header), then by its extension, then as a DICOM data set without preamble.
 */
export async function detectFormat(path: string): Promise<VolumeFormat> {
  const info = await stat(path).catch(() => undefined);
  if (info === undefined) throw new VoxshiftError('FILE_NOT_FOUND', 'no such file or folder', { file: path });
  if (info.isDirectory()) return 'dicom';
  if (!info.isFile()) throw new VoxshiftError('FILE_UNREADABLE', 'not a regular file or folder', { file: path });
  const head = await peek(path, info.size).catch((e: unknown) => {
    throw new VoxshiftError('FILE_UNREADABLE', 'cannot read file', { file: path, cause: e });
  });
  const magic = magicFormat(head);
  if (magic !== undefined) return magic;
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) {
    const inner = await peekGzip(path);
    if (inner !== undefined && isNiftiHeader(inner)) return 'nifti';
    if (inner !== undefined && inner.length >= 132 && inner.toString('latin1', 128, 132) === 'DICM') {
      throw new VoxshiftError('UNSUPPORTED_FORMAT', 'gzip-compressed DICOM file; decompress it first (gunzip)', { file: path });
    }
    const ext = extensionFormat(path);
    if (ext === 'nifti') return ext;
    throw new VoxshiftError('UNSUPPORTED_FORMAT', 'gzip file whose content is not a NIfTI header; readable: ' + READ_ACCEPTED.join(', '), {
      file: path,
      details: { accepted: READ_ACCEPTED },
    });
  }
  const ext = extensionFormat(path);
  if (ext !== undefined) return ext;
  // A bare DICOM data set (no preamble): starts with a group 0002 or 0008 element, little endian.
  if (head.length >= 8 && (head[0] === 0x02 || head[0] === 0x08) && head[1] === 0x00 && head[3] === 0x00) return 'dicom';
  throw new VoxshiftError('UNSUPPORTED_FORMAT', `unrecognised file; readable: ${READ_ACCEPTED.join(', ')}`, {
    file: path,
    details: { accepted: READ_ACCEPTED },
  });
}

function withOverrides(vol: Volume, options: ReadVolumeOptions): Volume {
  if (options.kind === undefined && options.modality === undefined) return vol;
  return deriveVolume(vol, {
    data: vol.data,
    kind: options.kind ?? vol.kind,
    modality: options.modality ?? vol.modality,
    meta: options.kind === 'label' ? { ...vol.meta, units: 'label' } : vol.meta,
  });
}

/** Reads a NIfTI, DICOM (file, folder or zip), NRRD or MetaImage input as a Volume. */
export async function readVolume(path: string, options: ReadVolumeOptions = {}): Promise<Volume> {
  const format = await detectFormat(path);
  if (options.seriesInstanceUid !== undefined && format !== 'dicom' && format !== 'zip') {
    throw new VoxshiftError('INVALID_ARGUMENT', `seriesInstanceUid applies to DICOM input; this is ${format}`, {
      file: path,
      param: 'seriesInstanceUid',
    });
  }
  const done = (vol: Volume): Volume => {
    options.onProgress?.(1, 1);
    return vol;
  };
  switch (format) {
    case 'nifti': {
      const { readNifti } = await import('./nifti/read-nifti.ts');
      return done(await readNifti(path, { kind: options.kind, modality: options.modality }));
    }
    case 'nrrd':
    case 'mha': {
      const { readItkImage } = await import('./itk/read-itk.ts');
      return done(await readItkImage(path, { kind: options.kind, modality: options.modality }));
    }
    case 'dicom':
    case 'zip': {
      const { readDicomSeries } = await import('./dicom/read-dicom.ts');
      const vol = await readDicomSeries(path, { seriesInstanceUid: options.seriesInstanceUid, onProgress: options.onProgress });
      return withOverrides(vol, options);
    }
  }
}

type WriteTarget = 'nifti' | 'nrrd' | 'mha' | 'dicom';

async function writeTarget(path: string): Promise<WriteTarget> {
  if (path.endsWith('/') || path.endsWith(sep)) return 'dicom';
  const info = await stat(path).catch(() => undefined);
  if (info?.isDirectory()) return 'dicom';
  const name = basename(path).toLowerCase();
  if (/\.nii(\.gz)?$/.test(name)) return 'nifti';
  if (/\.(nrrd|nhdr)$/.test(name)) return 'nrrd';
  if (/\.(mha|mhd)$/.test(name)) return 'mha';
  if (!name.includes('.')) return 'dicom';
  throw new VoxshiftError('UNSUPPORTED_FORMAT', `cannot write "${basename(path)}"; writable: ${WRITE_ACCEPTED.join(', ')}`, {
    file: path,
    param: 'path',
    details: { accepted: WRITE_ACCEPTED },
  });
}

async function refuseExisting(paths: string[], overwrite: boolean): Promise<void> {
  if (overwrite) return;
  for (const p of paths) {
    if ((await stat(p).catch(() => undefined)) !== undefined) {
      throw new VoxshiftError('INVALID_ARGUMENT', 'output file exists; pass overwrite: true to replace it', { file: p, param: 'path' });
    }
  }
}

/**
 * Writes a volume; the format comes from the path: .nii/.nii.gz → NIfTI-1, .nrrd/.nhdr → NRRD,
 * .mha/.mhd → MetaImage, a folder (existing, trailing slash, or no extension) → DICOM series.
 * Returns every file written. Options that do not apply to the chosen format are an error.
 */
export async function writeVolume(vol: Volume, path: string, options: WriteVolumeOptions = {}): Promise<string[]> {
  const target = await writeTarget(path);
  const misplaced = (param: string, applies: string): VoxshiftError =>
    new VoxshiftError('INVALID_ARGUMENT', `${param} applies to ${applies} output; this path writes ${target}`, { file: path, param });
  if (target !== 'dicom' && options.template !== undefined) throw misplaced('template', 'DICOM');
  if (target !== 'dicom' && options.dicom !== undefined) throw misplaced('dicom', 'DICOM');
  if (target !== 'nrrd' && target !== 'mha' && options.compress !== undefined) throw misplaced('compress', 'NRRD or MetaImage');
  const overwrite = options.overwrite === true;
  switch (target) {
    case 'nifti': {
      await refuseExisting([path], overwrite);
      await mkdir(dirname(path), { recursive: true }).catch((e: unknown) => {
        throw new VoxshiftError('WRITE_FAILED', 'cannot create the output folder', { file: path, cause: e });
      });
      const { writeNifti } = await import('./nifti/write-nifti.ts');
      await writeNifti(vol, path);
      return [path];
    }
    case 'nrrd':
    case 'mha': {
      const base = path.replace(/\.[^./\\]+$/, '');
      const detached = /\.(nhdr|mhd)$/i.test(path) ? [`${base}.raw`, `${base}.raw.gz`, `${base}.zraw`] : [];
      await refuseExisting([path, ...detached], overwrite);
      const { writeItkImage } = await import('./itk/write-itk.ts');
      return writeItkImage(vol, path, { compress: options.compress });
    }
    case 'dicom': {
      const { writeDicomSeries } = await import('./dicom/write-dicom.ts');
      const res = await writeDicomSeries(vol, path, { ...options.dicom, template: options.template, overwrite });
      return res.files;
    }
  }
}
