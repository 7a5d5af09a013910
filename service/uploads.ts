/**
 * Multipart uploads: the `file` part is streamed to the data folder (size-limited), then checked
 * before anything is accepted — its format (NIfTI, NRRD, MetaImage, or a zip of a DICOM series) by
 * magic bytes, and a zip's entry names, sizes and compression ratios (volumes/dicom zipSources:
 * absolute paths and ".." are ZIP_INVALID, bombs are ZIP_BOMB). Text fields come back as strings.
 */
import type { MultipartFile, MultipartValue } from '@fastify/multipart';
import type { FastifyRequest } from 'fastify';
import { readFile } from 'node:fs/promises';
import { zipSources, type ZipLimits } from '../volumes/dicom/dicom-sources.ts';
import { VoxshiftError } from '../volumes/errors.ts';
import { detectFormat } from '../volumes/io.ts';
import type { JobStore } from './job-store.ts';
import type { UploadInfo } from './schemas.ts';

export const UPLOAD_FORMATS = ['nifti', 'nrrd', 'mha', 'zip'] as const;

export interface UploadLimits {
  maxBytes: number;
  zip: ZipLimits;
}

/** A multipart parser failure as a client error with a stable code. */
function multipartError(e: unknown, limits: UploadLimits): unknown {
  if (e instanceof VoxshiftError) return e;
  const err = e as { code?: string; message?: string };
  if (err.code === 'FST_REQ_FILE_TOO_LARGE' || err.code === 'FST_PARTS_LIMIT' || err.code === 'FST_FILES_LIMIT') {
    return new VoxshiftError('SIZE_LIMIT', `upload is larger than allowed (at most one file of ${limits.maxBytes} bytes)`, { param: 'file', details: { limit: limits.maxBytes } });
  }
  if (err.code === 'FST_INVALID_MULTIPART_CONTENT_TYPE') return new VoxshiftError('UNSUPPORTED_FORMAT', 'expected a multipart/form-data body', { param: 'body' });
  return new VoxshiftError('TRUNCATED_FILE', `the multipart body is incomplete or malformed (${err.message ?? 'unreadable'}); send the whole file again`, {
    param: 'file',
  });
}

async function checkUpload(path: string, name: string, zipLimits: ZipLimits): Promise<UploadInfo['format']> {
  let format: string;
  try {
    format = await detectFormat(path);
  } catch (e) {
    if (e instanceof VoxshiftError) throw new VoxshiftError(e.shortCode, `${name}: ${e.message.replace(`${path}: `, '')}`, { param: 'file', details: { accepted: UPLOAD_FORMATS } });
    throw e;
  }
  if (format === 'dicom') {
    throw new VoxshiftError('UNSUPPORTED_FORMAT', `${name} is a single DICOM file; upload the whole series as a .zip`, { param: 'file', details: { accepted: UPLOAD_FORMATS } });
  }
  if (format === 'zip') {
    const entries = zipSources(name, new Uint8Array(await readFile(path)), zipLimits);
    if (entries.length === 0) throw new VoxshiftError('NO_SERIES', `${name} holds no files`, { param: 'file' });
  }
  return format as UploadInfo['format'];
}

/**
 * Reads a multipart request: at most one file part per name in `fileFields` (default only `file`;
 * each stored as an upload) and text fields. Returns the fields, the uploads by part name, and
 * `upload` (the `file` part; undefined when none was sent). On any failure no upload is kept.
 */
export async function receiveMultipart(
  request: FastifyRequest,
  store: JobStore,
  limits: UploadLimits,
  fileFields: readonly string[] = ['file'],
): Promise<{ fields: Record<string, string>; upload?: UploadInfo; uploads: Record<string, UploadInfo> }> {
  const fields: Record<string, string> = {};
  const uploads: Record<string, UploadInfo> = {};
  const pending: { field: string; id: string; path: string; bytes: number; name: string }[] = [];
  const discard = async (): Promise<void> => {
    for (const p of pending) await store.discardUpload(p.id);
    for (const u of Object.values(uploads)) await store.discardUpload(u.id);
  };
  try {
    for await (const part of request.parts({ limits: { fileSize: limits.maxBytes, files: fileFields.length, fields: 20, fieldSize: 64 * 1024 } })) {
      if (part.type === 'file') {
        const file = part as MultipartFile;
        if (!fileFields.includes(file.fieldname) || pending.some((p) => p.field === file.fieldname)) {
          file.file.resume();
          const accepted = fileFields.map((f) => JSON.stringify(f)).join(', ');
          throw new VoxshiftError('INVALID_ARGUMENT', `unexpected file field ${JSON.stringify(file.fieldname)}; send the volume as ${accepted} (one file each)`, { param: file.fieldname });
        }
        const got = await store.receive(file.file, limits.maxBytes);
        pending.push({ ...got, field: file.fieldname, name: (file.filename || 'upload').replace(/[^\w.-]/g, '_').slice(-200) });
      } else {
        const v = part as MultipartValue;
        fields[v.fieldname] = String(v.value);
      }
    }
  } catch (e) {
    await discard();
    throw multipartError(e, limits);
  }
  try {
    while (pending.length > 0) {
      const p = pending[0];
      const format = await checkUpload(p.path, p.name, limits.zip);
      uploads[p.field] = await store.finishUpload(p.id, p.path, { name: p.name, format, bytes: p.bytes });
      pending.shift();
    }
  } catch (e) {
    await discard();
    throw e;
  }
  return { fields, uploads, ...(uploads.file ? { upload: uploads.file } : {}) };
}
