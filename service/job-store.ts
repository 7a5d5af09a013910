/**
 * The service's durable state in one data folder: `uploads/<id>/` (the file and upload.json) and
 * `jobs/<id>/` (job.json and the result). Records are written to a temporary file, fsynced and renamed
 * over the old one, so a crash (kill -9 included) leaves either the old record or the new one.
 * Ids are UUIDs checked against a pattern before they reach a path.
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { VoxshiftError } from '../volumes/errors.ts';
import type { Job, UploadInfo } from './schemas.ts';

const ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function checkId(id: string, what: 'job' | 'upload'): void {
  if (!ID.test(id)) throw new VoxshiftError('INVALID_ARGUMENT', `${what} id must be a UUID, got ${JSON.stringify(id)}`, { param: what === 'job' ? 'id' : 'upload' });
}

async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Writes `text` to `path` atomically (temp file, fsync, rename, fsync of the folder). */
export async function writeFileAtomic(path: string, text: string | Uint8Array): Promise<void> {
  const tmp = `${path}.${process.pid}.${randomUUID().slice(0, 8)}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  await fsyncPath(join(path, '..')).catch(() => undefined);
}

export class JobStore {
  readonly dataDir: string;
  /** Uploads in use by a request (being received, or named by a job being created): GC leaves them. */
  private readonly holds = new Map<string, number>();
  /** When each upload's last hold was released (performance.now()): a GC pass that began earlier must not take it. */
  private readonly releasedAt = new Map<string, number>();
  constructor(dataDir: string) {
    this.dataDir = dataDir;
  }

  hold(id: string): void {
    this.holds.set(id, (this.holds.get(id) ?? 0) + 1);
  }
  release(id: string): void {
    const n = (this.holds.get(id) ?? 0) - 1;
    if (n > 0) this.holds.set(id, n);
    else {
      this.holds.delete(id);
      this.releasedAt.set(id, performance.now());
    }
  }
  /**
   * Whether a request holds the upload, or held it at any time since `since` (performance.now()): a GC pass that read
   * the job list before a job naming this upload was written must leave it alone.
   */
  isHeld(id: string, since = Infinity): boolean {
    return this.holds.has(id) || (this.releasedAt.get(id) ?? -Infinity) >= since;
  }

  async init(): Promise<void> {
    await mkdir(join(this.dataDir, 'jobs'), { recursive: true });
    await mkdir(join(this.dataDir, 'uploads'), { recursive: true });
  }

  uploadDir(id: string): string {
    checkId(id, 'upload');
    return join(this.dataDir, 'uploads', id);
  }
  jobDir(id: string): string {
    checkId(id, 'job');
    return join(this.dataDir, 'jobs', id);
  }
  /** The uploaded file: `input` plus the extension of its format (readers look at extensions too). */
  uploadFile(info: UploadInfo): string {
    const ext = { nifti: info.name.toLowerCase().endsWith('.nii') ? '.nii' : '.nii.gz', nrrd: '.nrrd', mha: '.mha', zip: '.zip' }[info.format] ?? '';
    return join(this.uploadDir(info.id), `input${ext}`);
  }
  resultFile(id: string): string {
    return join(this.jobDir(id), 'result.nii.gz');
  }
  /** A file the job's worker wrote (run-task.ts names them: `name` or `folder/name`, lower case). */
  jobFile(id: string, name: string): string {
    if (!/^[a-z][a-z0-9.-]*(\/[a-z][a-z0-9.-]*)?$/.test(name) || name.includes('..')) throw new VoxshiftError('INVALID_ARGUMENT', `bad job file name ${JSON.stringify(name)}`, { param: 'name' });
    return join(this.jobDir(id), name);
  }

  /** Every upload record, oldest first. */
  async listUploads(): Promise<UploadInfo[]> {
    const ids = (await readdir(join(this.dataDir, 'uploads'))).filter((n) => ID.test(n));
    const ups = await Promise.all(ids.map((id) => this.getUpload(id)));
    return ups.filter((u): u is UploadInfo => u !== undefined).sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0));
  }

  /** Upload folders without a record (a receive cut short by a crash), with their age in ms. */
  async strayUploads(now: number): Promise<{ id: string; ageMs: number }[]> {
    const ids = (await readdir(join(this.dataDir, 'uploads'))).filter((n) => ID.test(n));
    const out: { id: string; ageMs: number }[] = [];
    for (const id of ids) {
      if (await this.getUpload(id)) continue;
      const st = await stat(this.uploadDir(id)).catch(() => undefined);
      if (st) out.push({ id, ageMs: now - st.mtimeMs });
    }
    return out;
  }

  /**
   * Streams `body` into a new upload folder (at most `maxBytes`), fsyncs it, and returns its path;
   * `finish` later records the format. On any failure the folder is removed.
   */
  async receive(body: Readable, maxBytes: number): Promise<{ id: string; path: string; bytes: number }> {
    const id = randomUUID();
    const dir = this.uploadDir(id);
    await mkdir(dir, { recursive: true });
    const path = join(dir, 'incoming');
    let bytes = 0;
    try {
      await pipeline(
        body,
        async function* (source: AsyncIterable<Buffer>) {
          for await (const chunk of source) {
            bytes += chunk.length;
            if (bytes > maxBytes) throw new VoxshiftError('SIZE_LIMIT', `upload is larger than the ${maxBytes} bytes allowed`, { param: 'file', details: { limit: maxBytes } });
            yield chunk;
          }
        },
        createWriteStream(path),
      );
      // @fastify/multipart marks a part cut at its size limit instead of failing the stream.
      if ((body as Readable & { truncated?: boolean }).truncated) {
        throw new VoxshiftError('SIZE_LIMIT', `upload is larger than the ${maxBytes} bytes allowed`, { param: 'file', details: { limit: maxBytes } });
      }
      await fsyncPath(path);
    } catch (e) {
      await rm(dir, { recursive: true, force: true });
      throw e;
    }
    return { id, path, bytes };
  }

  /** Moves the received file to its final name and writes upload.json; the upload is held (`hold`) until released. */
  async finishUpload(id: string, incoming: string, info: Omit<UploadInfo, 'id' | 'createdAt'>): Promise<UploadInfo> {
    const record: UploadInfo = { id, ...info, createdAt: new Date().toISOString() };
    this.hold(id);
    await rename(incoming, this.uploadFile(record));
    await writeFileAtomic(join(this.uploadDir(id), 'upload.json'), JSON.stringify(record));
    return record;
  }

  async discardUpload(id: string): Promise<void> {
    this.holds.delete(id);
    this.releasedAt.delete(id);
    await rm(this.uploadDir(id), { recursive: true, force: true });
  }

  async getUpload(id: string): Promise<UploadInfo | undefined> {
    try {
      return JSON.parse(await readFile(join(this.uploadDir(id), 'upload.json'), 'utf8')) as UploadInfo;
    } catch {
      return undefined;
    }
  }

  async saveJob(job: Job): Promise<void> {
    await mkdir(this.jobDir(job.id), { recursive: true });
    await writeFileAtomic(join(this.jobDir(job.id), 'job.json'), JSON.stringify(job));
  }

  async getJob(id: string): Promise<Job | undefined> {
    try {
      return JSON.parse(await readFile(join(this.jobDir(id), 'job.json'), 'utf8')) as Job;
    } catch {
      return undefined;
    }
  }

  async listJobs(): Promise<Job[]> {
    const ids = (await readdir(join(this.dataDir, 'jobs'))).filter((n) => ID.test(n));
    const jobs = await Promise.all(ids.map((id) => this.getJob(id)));
    return jobs.filter((j): j is Job => j !== undefined).sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0));
  }

  async deleteJob(id: string): Promise<void> {
    await rm(this.jobDir(id), { recursive: true, force: true });
  }

  async resultBytes(id: string): Promise<number | undefined> {
    return (await stat(this.resultFile(id)).catch(() => undefined))?.size;
  }

  async removeFile(path: string): Promise<void> {
    await unlink(path).catch(() => undefined);
  }
}
