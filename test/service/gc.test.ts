import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../service/app.ts';
import { collectGarbage } from '../../service/gc.ts';
import { JobStore } from '../../service/job-store.ts';
import type { Job, UploadInfo } from '../../service/schemas.ts';
import { multipartBody, phantomMrFile, sleep, tempDir, waitForJob } from './helpers.ts';

let dir: string;
beforeAll(async () => {
  dir = await tempDir('gc');
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const HOUR = 3600_000;
const T0 = Date.parse('2030-01-01T00:00:00Z');
const iso = (ms: number): string => new Date(ms).toISOString();

async function upload(store: JobStore, createdAt: number): Promise<UploadInfo> {
  const got = await store.receive(Readable.from([Buffer.from('x')]), 10);
  const info = await store.finishUpload(got.id, got.path, { name: 'a.nii.gz', format: 'nifti', bytes: 1 });
  // received outside a request: nothing holds it once it is stored
  store.release(info.id);
  const record = { ...info, createdAt: iso(createdAt) };
  await writeFile(join(store.uploadDir(info.id), 'upload.json'), JSON.stringify(record));
  return record;
}

function job(id: string, state: Job['state'], uploadId: string, finishedAt?: number, inputs?: Job['inputs']): Job {
  return {
    id,
    kind: 'validate',
    model: 'consistency',
    params: {},
    state,
    progress: 0,
    upload: uploadId,
    createdAt: iso(T0 - 100 * HOUR),
    timings: {},
    attempts: 0,
    warnings: [],
    ...(finishedAt !== undefined ? { finishedAt: iso(finishedAt) } : {}),
    ...(inputs ? { inputs } : {}),
  };
}

describe('garbage collection', () => {
  it('removes finished jobs after the retention and uploads no job references after the TTL, keeping what queued jobs need', async () => {
    const store = new JobStore(join(dir, 'unit'));
    await store.init();
    const [oldFree, newFree, ofQueued, ofExpired, ofKept, label] = await Promise.all([
      upload(store, T0 - 48 * HOUR),
      upload(store, T0 - 1 * HOUR),
      upload(store, T0 - 48 * HOUR),
      upload(store, T0 - 48 * HOUR),
      upload(store, T0 - 48 * HOUR),
      upload(store, T0 - 48 * HOUR),
    ]);
    const ids = ['00000000-0000-4000-8000-00000000000a', '00000000-0000-4000-8000-00000000000b', '00000000-0000-4000-8000-00000000000c', '00000000-0000-4000-8000-00000000000d'];
    let jobs = [
      // old and finished: removed, and its upload with it
      job(ids[0], 'succeeded', ofExpired.id, T0 - 30 * HOUR),
      // old and finished, but a queued job takes its result: kept
      job(ids[1], 'failed', ofKept.id, T0 - 30 * HOUR),
      // queued: kept with its upload and its label upload
      job(ids[2], 'queued', ofQueued.id, undefined, { synthetic: { job: ids[1] }, reference: { upload: label.id } }),
      // finished recently: kept
      job(ids[3], 'succeeded', ofKept.id, T0 - 1 * HOUR),
    ];
    for (const j of jobs) await store.saveJob(j);
    const stray = join(dir, 'unit', 'uploads', '00000000-0000-4000-8000-0000000000ff');
    await mkdir(stray);
    const manager = {
      list: async () => jobs,
      delete: async (id: string) => {
        jobs = jobs.filter((j) => j.id !== id);
        await store.deleteJob(id);
        return true;
      },
    };
    const r = await collectGarbage(store, manager, { uploadTtlMs: 24 * HOUR, jobRetentionMs: 24 * HOUR, now: T0 });
    expect(r.jobs).toEqual([ids[0]]);
    expect(r.uploads.sort()).toEqual([oldFree.id, ofExpired.id, '00000000-0000-4000-8000-0000000000ff'].sort());
    expect((await store.listUploads()).map((u) => u.id).sort()).toEqual([newFree.id, ofQueued.id, ofKept.id, label.id].sort());
    // an upload held by a request in flight is left alone whatever its age
    const held = await upload(store, T0 - 48 * HOUR);
    store.hold(held.id);
    expect((await collectGarbage(store, manager, { uploadTtlMs: 24 * HOUR, jobRetentionMs: 24 * HOUR, now: T0 })).uploads).toEqual([]);
    store.release(held.id);
    expect((await collectGarbage(store, manager, { uploadTtlMs: 24 * HOUR, jobRetentionMs: 24 * HOUR, now: T0 })).uploads).toEqual([held.id]);
    expect((await readdir(join(dir, 'unit', 'jobs'))).sort()).toEqual(ids.slice(1).sort());
    // nothing more to do at the same time; everything unreferenced goes once the queued job is gone
    expect(await collectGarbage(store, manager, { uploadTtlMs: 24 * HOUR, jobRetentionMs: 24 * HOUR, now: T0 })).toEqual({ jobs: [], uploads: [] });
    jobs = jobs.filter((j) => j.state !== 'queued');
    const later = await collectGarbage(store, manager, { uploadTtlMs: 24 * HOUR, jobRetentionMs: 24 * HOUR, now: T0 + 48 * HOUR });
    expect(later.jobs.sort()).toEqual([ids[1], ids[3]].sort());
    expect(await store.listUploads()).toEqual([]);
  });

  it('leaves an upload whose hold ended after the pass listed the jobs (its job is newer than the listing)', async () => {
    const store = new JobStore(join(dir, 'race'));
    await store.init();
    const up = await upload(store, T0 - 48 * HOUR);
    let calls = 0;
    const jobs = {
      // The second listing is the one uploads are checked against: a request holds the upload, writes
      // its job and releases the hold while that listing is being read — the job is not in it.
      list: async (): Promise<Job[]> => {
        if (++calls === 2) {
          store.hold(up.id);
          await sleep(5);
          store.release(up.id);
        }
        return [];
      },
      delete: async (): Promise<boolean> => false,
    };
    const first = await collectGarbage(store, jobs, { uploadTtlMs: HOUR, jobRetentionMs: HOUR, now: T0 });
    expect(first.uploads).not.toContain(up.id);
    expect(await readdir(join(dir, 'race', 'uploads'))).toContain(up.id);
    // the next pass, with nothing referencing it, collects it
    const second = await collectGarbage(store, { list: async () => [], delete: async () => false }, { uploadTtlMs: HOUR, jobRetentionMs: HOUR, now: T0 });
    expect(second.uploads).toContain(up.id);
  });

  it('runs in the app on its interval: an unreferenced upload past the TTL is deleted, a job’s upload is not', async () => {
    const app = await buildApp({ dataDir: join(dir, 'app'), uploadTtlMs: 0, gcIntervalMs: 100 });
    try {
      await app.ready();
      const mr = await phantomMrFile(dir);
      const send = (parts: Parameters<typeof multipartBody>[0], url: string) => {
        const mp = multipartBody(parts);
        return app.inject({ method: 'POST', url, payload: mp.body, headers: { 'content-type': mp.contentType } });
      };
      const free = (await send([{ name: 'file', value: mr.bytes, filename: 'a.nii.gz' }], '/v1/uploads')).json().id as string;
      const r = await send([{ name: 'kind', value: 'augment' }, { name: 'params', value: '{"preset":"ct","count":1}' }, { name: 'file', value: mr.bytes, filename: 'b.nii.gz' }], '/v1/jobs');
      expect(r.statusCode).toBe(202);
      const used = r.json().upload as string;
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline && (await readdir(join(dir, 'app', 'uploads'))).includes(free)) await sleep(50);
      const left = await readdir(join(dir, 'app', 'uploads'));
      expect(left).not.toContain(free);
      expect(left).toContain(used);
      // a finished job (within its retention) keeps its upload too
      const done = await waitForJob(async () => (await app.inject(`/v1/jobs/${r.json().id}`)).json());
      expect(done.state).toBe('succeeded');
      await sleep(300);
      expect(await readdir(join(dir, 'app', 'uploads'))).toContain(used);
    } finally {
      await app.close();
    }
  });
});
