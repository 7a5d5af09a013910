/**
 * What a DICOM input names: one file, a folder (searched recursively) or a `.zip` archive. Each source
 * is read on demand so that a series is never held in memory twice; a zip's entries are inflated one
 * at a time from the (compressed) archive.
 */
import { open, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import { VoxshiftError } from '../errors.ts';

export interface DicomSource {
  /** Path shown in messages: the file path, or `archive.zip!entry/path`. */
  name: string;
  size: number;
  read(): Promise<Uint8Array>;
  /** The first `maxBytes` bytes (files only: a zip entry has to be inflated whole anyway). */
  readHead?(maxBytes: number): Promise<Uint8Array>;
}

export interface ZipLimits {
  /** Largest total uncompressed size of the archive's entries (bytes). */
  maxTotalBytes: number;
  /** Largest uncompressed/compressed ratio for an entry bigger than 1 MiB. */
  maxRatio: number;
  maxEntries: number;
}

export const DEFAULT_ZIP_LIMITS: ZipLimits = { maxTotalBytes: 8 * 2 ** 30, maxRatio: 200, maxEntries: 100_000 };

const SKIPPED_DIRS = new Set(['.git', 'node_modules', '__MACOSX']);

async function walk(dir: string, out: string[]): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (!SKIPPED_DIRS.has(e.name)) await walk(p, out);
    } else if (e.isFile()) {
      out.push(p);
    }
  }
}

function fileSource(path: string, size: number): DicomSource {
  return {
    name: path,
    size,
    read: async () => {
      try {
        return new Uint8Array(await readFile(path));
      } catch (e) {
        throw new VoxshiftError('FILE_UNREADABLE', `cannot read: ${(e as Error).message}`, { file: path, cause: e });
      }
    },
    readHead: async (maxBytes) => {
      try {
        const fh = await open(path, 'r');
        try {
          const buf = new Uint8Array(Math.min(maxBytes, size));
          const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
          return buf.subarray(0, bytesRead);
        } finally {
          await fh.close();
        }
      } catch (e) {
        throw new VoxshiftError('FILE_UNREADABLE', `cannot read: ${(e as Error).message}`, { file: path, cause: e });
      }
    },
  };
}

interface ZipEntryInfo {
  name: string;
  size: number;
  originalSize: number;
}

function unsafeEntryName(name: string): boolean {
  const n = name.replace(/\\/g, '/');
  return n.startsWith('/') || /^[A-Za-z]:/.test(n) || n.split('/').includes('..');
}

/** Lists a zip's file entries and checks them (paths, sizes, ratios) before anything is inflated. */
export function zipSources(zipPath: string, archive: Uint8Array, limits: ZipLimits = DEFAULT_ZIP_LIMITS): DicomSource[] {
  const entries: ZipEntryInfo[] = [];
  try {
    unzipSync(archive, {
      filter: (f) => {
        entries.push({ name: f.name, size: f.size, originalSize: f.originalSize });
        return false;
      },
    });
  } catch (e) {
    throw new VoxshiftError('ZIP_INVALID', `not a readable zip archive (${(e as Error).message ?? String(e)})`, { file: zipPath, cause: e });
  }
  if (entries.length > limits.maxEntries) {
    throw new VoxshiftError('ZIP_BOMB', `zip has ${entries.length} entries, more than the ${limits.maxEntries} allowed`, { file: zipPath });
  }
  let total = 0;
  const files = entries.filter((e) => !e.name.endsWith('/'));
  for (const e of files) {
    if (unsafeEntryName(e.name)) {
      throw new VoxshiftError('ZIP_INVALID', `zip entry "${e.name}" has an absolute path or "..": refusing to read it`, { file: zipPath, details: { entry: e.name } });
    }
    total += e.originalSize;
    if (e.originalSize > 2 ** 20 && e.originalSize > limits.maxRatio * Math.max(1, e.size)) {
      throw new VoxshiftError('ZIP_BOMB', `zip entry "${e.name}" inflates ${e.size} bytes to ${e.originalSize} (ratio above ${limits.maxRatio})`, {
        file: zipPath,
        details: { entry: e.name, compressed: e.size, uncompressed: e.originalSize },
      });
    }
  }
  if (total > limits.maxTotalBytes) {
    throw new VoxshiftError('ZIP_BOMB', `zip entries total ${total} bytes uncompressed, more than the ${limits.maxTotalBytes} allowed`, { file: zipPath, details: { total } });
  }
  files.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return files.map((e) => ({
    name: `${zipPath}!${e.name}`,
    size: e.originalSize,
    read: async () => {
      let out: Record<string, Uint8Array>;
      try {
        out = unzipSync(archive, { filter: (f) => f.name === e.name });
      } catch (err) {
        throw new VoxshiftError('ZIP_INVALID', `zip entry "${e.name}" could not be inflated (${(err as Error).message ?? String(err)})`, { file: zipPath, cause: err });
      }
      const data = out[e.name];
      if (!data || data.length !== e.originalSize) {
        throw new VoxshiftError('ZIP_INVALID', `zip entry "${e.name}" inflated to ${data?.length ?? 0} bytes, its header says ${e.originalSize}`, { file: zipPath });
      }
      return data;
    },
  }));
}

/** The sources named by `input`; throws FILE_NOT_FOUND when it does not exist. */
export async function dicomSources(input: string, limits?: ZipLimits): Promise<{ kind: 'file' | 'folder' | 'zip'; sources: DicomSource[] }> {
  let st;
  try {
    st = await stat(input);
  } catch (e) {
    throw new VoxshiftError('FILE_NOT_FOUND', 'no such file or folder', { file: input, cause: e });
  }
  if (st.isDirectory()) {
    const paths: string[] = [];
    await walk(input, paths);
    const sources: DicomSource[] = [];
    for (const p of paths) {
      const s = await stat(p);
      sources.push(fileSource(p, s.size));
    }
    return { kind: 'folder', sources };
  }
  if (/\.zip$/i.test(input)) {
    const archive = new Uint8Array(await readFile(input));
    return { kind: 'zip', sources: zipSources(input, archive, limits) };
  }
  return { kind: 'file', sources: [fileSource(input, st.size)] };
}
