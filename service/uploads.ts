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
 * Reads a multipart request: at most one `file` part (stored as an upload) and text fields. Returns
 * the fields and the upload (undefined when no file was sent).
 */
export async function receiveMultipart(
  request: FastifyRequest,
  store: JobStore,
  limits: UploadLimits,
): Promise<{ fields: Record<string, string>; upload?: UploadInfo }> {
  const fields: Record<string, string> = {};
  let upload: UploadInfo | undefined;
  let pending: { id: string; path: string; bytes: number; name: string } | undefined;
  try {
    for await (const part of request.parts({ limits: { fileSize: limits.maxBytes, files: 1, fields: 20, fieldSize: 64 * 1024 } })) {
      if (part.type === 'file') {
        const file = part as MultipartFile;
        if (file.fieldname !== 'file') {
          file.file.resume();
          throw new VoxshiftError('INVALID_ARGUMENT', `unexpected file field ${JSON.stringify(file.fieldname)}; send the volume as "file"`, { param: file.fieldname });
        }
        const got = await store.receive(file.file, limits.maxBytes);
        pending = { ...got, name: (file.filename || 'upload').replace(/[^\w.-]/g, '_').slice(-200) };
      } else {
        const v = part as MultipartValue;
        fields[v.fieldname] = String(v.value);
      }
    }
  } catch (e) {
    if (pending) await store.discardUpload(pending.id);
    throw multipartError(e, limits);
  }
  if (pending) {
    try {
      const format = await checkUpload(pending.path, pending.name, limits.zip);
      upload = await store.finishUpload(pending.id, pending.path, { name: pending.name, format, bytes: pending.bytes });
    } catch (e) {
      await store.discardUpload(pending.id);
      throw e;
    }
  }
  return { fields, ...(upload ? { upload } : {}) };
}
