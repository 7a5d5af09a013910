import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../service/app.ts';
import { EmbeddedQueue } from '../../service/queue.ts';
import { readVolume, writeVolume } from '../../volumes/io.ts';
import { multipartBody, phantomMrFile, tempDir, waitForJob, type Part } from './helpers.ts';

/** A queue whose consumer never starts: jobs stay waiting (for the queue-full path). */
class StalledQueue extends EmbeddedQueue {
  override consume(): void {}
}

const MODEL = 'phantom-mr2ct-pix2pix-2d';
let dir: string;
let mr: { path: string; bytes: Buffer };
let open: FastifyInstance;
let locked: FastifyInstance;

const WRITE = 'write-key-123456';
const READ = 'read-key-1234567';

function post(app: FastifyInstance, url: string, parts: Part[], headers: Record<string, string> = {}) {
  const mp = multipartBody(parts);
  return app.inject({ method: 'POST', url, payload: mp.body, headers: { 'content-type': mp.contentType, ...headers } });
}
const jobParts = (file: Buffer, extra: Part[] = [], name = 'mr.nii.gz'): Part[] => [
  { name: 'kind', value: 'translate' },
  { name: 'model', value: MODEL },
  ...extra,
  { name: 'file', value: file, filename: name },
];

beforeAll(async () => {
  dir = await tempDir('app');
  mr = await phantomMrFile(dir);
  open = await buildApp({ dataDir: join(dir, 'open') });
  locked = await buildApp({
    dataDir: join(dir, 'locked'),
    apiKeys: [
      { key: WRITE, scope: 'write' },
      { key: READ, scope: 'read' },
    ],
    queue: new StalledQueue({ capacity: 1, retryAfterS: 7 }),
    maxUploadBytes: mr.bytes.length + 100,
    zipLimits: { maxTotalBytes: 64 * 2 ** 20, maxRatio: 200, maxEntries: 100 },
  });
  await Promise.all([open.ready(), locked.ready()]);
});
afterAll(async () => {
  await Promise.all([open?.close(), locked?.close()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('service routes', () => {
  it('translates a multipart upload: 202, progress to succeeded, a NIfTI CT result on the input grid', async () => {
    const r = await post(open, '/v1/jobs', jobParts(mr.bytes, [{ name: 'params', value: '{"direction":"AtoB"}' }]));
    expect(r.statusCode).toBe(202);
    const job = r.json();
    expect(r.headers.location).toBe(`/v1/jobs/${job.id}`);
    expect(job).toMatchObject({ kind: 'translate', model: MODEL, state: 'queued', progress: 0, attempts: 0, params: { direction: 'AtoB' } });
    const done = await waitForJob(async () => (await open.inject(`/v1/jobs/${job.id}`)).json());
    expect(done.state).toBe('succeeded');
    expect(done.progress).toBe(1);
    expect(done.attempts).toBe(1);
    expect(done.timings.runMs).toBeGreaterThan(0);
    expect(done.timings.queuedMs).toBeGreaterThanOrEqual(0);
    expect(done.warnings.map((w: { code: string }) => w.code)).toContain('SPACING_DIFFERS_FROM_TRAINING');
    const res = await open.inject(`/v1/jobs/${job.id}/result`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/gzip');
    expect(res.rawPayload.length).toBe(done.result.bytes);
    const out = join(dir, 'result.nii.gz');
    await writeFile(out, res.rawPayload);
    const [src, ct] = await Promise.all([readVolume(mr.path), readVolume(out)]);
    expect(ct.shape).toEqual(src.shape);
    // HU inside the model's CT window, air in the corner, more than air somewhere (the head).
    expect(Math.min(...ct.data)).toBeGreaterThanOrEqual(-1025);
    expect(Math.max(...ct.data)).toBeLessThanOrEqual(3001);
    expect(ct.data[0]).toBeLessThan(-500);
    expect(Math.max(...ct.data)).toBeGreaterThan(0);
  });

  it('runs a job on an earlier upload (JSON body), lists it, deletes it', async () => {
    const up = await post(open, '/v1/uploads', [{ name: 'file', value: mr.bytes, filename: 'mr.nii.gz' }]);
    expect(up.statusCode).toBe(201);
    expect(up.json()).toMatchObject({ format: 'nifti', bytes: mr.bytes.length, name: 'mr.nii.gz' });
    const r = await open.inject({ method: 'POST', url: '/v1/jobs', payload: { kind: 'translate', model: MODEL, upload: up.json().id } });
    expect(r.statusCode).toBe(202);
    const id = r.json().id as string;
    const list = await open.inject('/v1/jobs');
    expect(list.json().jobs.map((j: { id: string }) => j.id)).toContain(id);
    await waitForJob(async () => (await open.inject(`/v1/jobs/${id}`)).json());
    const del = await open.inject({ method: 'DELETE', url: `/v1/jobs/${id}` });
    expect(del.statusCode).toBe(204);
    expect((await open.inject(`/v1/jobs/${id}`)).json().code).toBe('VOXSHIFT_E_NOT_FOUND');
    expect((await open.inject({ method: 'DELETE', url: `/v1/jobs/${id}` })).statusCode).toBe(404);
  });

  it('translates a zip of a DICOM series', async () => {
    const series = join(dir, 'series');
    await writeVolume(await readVolume(mr.path, { modality: 'MR' }), `${series}/`, { overwrite: true });
    const files: Record<string, Uint8Array> = {};
    for (const f of await readdir(series)) files[`study/${f}`] = new Uint8Array(await readFile(join(series, f)));
    const r = await post(open, '/v1/jobs', jobParts(Buffer.from(zipSync(files)), [], 'series.zip'));
    expect(r.statusCode).toBe(202);
    const done = await waitForJob(async () => (await open.inject(`/v1/jobs/${r.json().id}`)).json());
    expect(done.state).toBe('succeeded');
    const out = join(dir, 'from-dicom.nii.gz');
    await writeFile(out, (await open.inject(`/v1/jobs/${done.id}/result`)).rawPayload);
    expect((await readVolume(out)).shape).toEqual([32, 32, 6]);
  });

  it('DELETE of a running job stops it; the next job runs on a fresh worker', async () => {
    const big = await phantomMrFile(dir, [128, 128, 32], 4);
    const r = await post(open, '/v1/jobs', jobParts(big.bytes));
    const id = r.json().id as string;
    const running = await waitForJob(async () => {
      const j = (await open.inject(`/v1/jobs/${id}`)).json();
      return j.state === 'running' ? { ...j, state: 'succeeded' } : j;
    });
    expect(running.state).toBe('succeeded'); // i.e. seen running
    expect((await open.inject({ method: 'DELETE', url: `/v1/jobs/${id}` })).statusCode).toBe(204);
    expect((await open.inject(`/v1/jobs/${id}`)).statusCode).toBe(404);
    const next = await post(open, '/v1/jobs', jobParts(mr.bytes));
    const done = await waitForJob(async () => (await open.inject(`/v1/jobs/${next.json().id}`)).json());
    expect(done.state).toBe('succeeded');
    expect((await open.inject(`/v1/jobs/${id}`)).statusCode).toBe(404);
  });

  it('lists models with manifests; health, ready, OpenAPI and docs', async () => {
    const models = (await open.inject('/v1/models')).json().models as { id: string; source: string; manifest: { format: string } }[];
    expect(models.map((m) => m.id)).toEqual(['phantom-mr2ct-cyclegan-2d', 'phantom-mr2ct-pix2pix-2d']);
    expect(models.every((m) => m.source === 'shipped' && m.manifest.format === 'voxshift-checkpoint/1')).toBe(true);
    expect(models.map((m) => (m as { type?: string }).type)).toEqual(['translation', 'translation']);
    expect((await open.inject('/health')).json()).toEqual({ status: 'ok' });
    const ready = await open.inject('/ready');
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toMatchObject({ ready: true, queue: { capacity: 100 } });
    const doc = (await open.inject('/openapi.json')).json();
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths).sort()).toEqual(['/health', '/ready', '/v1/jobs', '/v1/jobs/{id}', '/v1/jobs/{id}/result', '/v1/jobs/{id}/volumes/{name}', '/v1/models', '/v1/uploads'].sort());
    expect(doc.paths['/v1/jobs'].post.requestBody.content['application/json'].schema.properties.kind).toBeDefined();
    expect(doc.paths['/v1/jobs/{id}'].get.responses['200'].content['application/json'].schema.properties.progress).toBeDefined();
    const docs = await open.inject('/docs');
    expect(docs.headers['content-type']).toMatch(/text\/html/);
    expect(docs.body).toContain('/v1/jobs/{id}/result');
  });

  it('rejects a bad schema with INVALID_ARGUMENT naming the field', async () => {
    const bad = await open.inject({ method: 'POST', url: '/v1/jobs', payload: { kind: 'paint', model: MODEL, upload: '00000000-0000-0000-0000-000000000000' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ code: 'VOXSHIFT_E_INVALID_ARGUMENT', param: 'kind' });
    const extra = await open.inject({ method: 'POST', url: '/v1/jobs', payload: { kind: 'translate', model: MODEL, colour: 'red' } });
    expect(extra.statusCode).toBe(400);
    expect(extra.json().code).toBe('VOXSHIFT_E_INVALID_ARGUMENT');
    const params = await post(open, '/v1/jobs', jobParts(mr.bytes, [{ name: 'params', value: '{"direction":"sideways"}' }]));
    expect(params.statusCode).toBe(400);
    expect(params.json()).toMatchObject({ code: 'VOXSHIFT_E_INVALID_ARGUMENT', param: 'params.direction' });
    const notJson = await post(open, '/v1/jobs', jobParts(mr.bytes, [{ name: 'params', value: '{oops' }]));
    expect(notJson.json()).toMatchObject({ code: 'VOXSHIFT_E_INVALID_ARGUMENT', param: 'params' });
    const noInput = await open.inject({ method: 'POST', url: '/v1/jobs', payload: { kind: 'translate', model: MODEL } });
    expect(noInput.json()).toMatchObject({ code: 'VOXSHIFT_E_INVALID_ARGUMENT', param: 'upload' });
    // a translation checkpoint is not a harmonizer
    const kind = await post(open, '/v1/jobs', [{ name: 'kind', value: 'harmonize' }, { name: 'model', value: MODEL }, { name: 'file', value: mr.bytes, filename: 'a.nii.gz' }]);
    expect(kind.json()).toMatchObject({ code: 'VOXSHIFT_E_NOT_FOUND', param: 'model', details: { available: [] } });
    const badId = await open.inject('/v1/jobs/..%2F..%2Fetc');
    expect(badId.statusCode).toBe(400);
    expect(badId.json().code).toBe('VOXSHIFT_E_INVALID_ARGUMENT');
    const malformed = await open.inject({ method: 'POST', url: '/v1/jobs', payload: '{"kind":', headers: { 'content-type': 'application/json' } });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().code).toBe('VOXSHIFT_E_INVALID_ARGUMENT');
    const text = await open.inject({ method: 'POST', url: '/v1/jobs', payload: '<job/>', headers: { 'content-type': 'application/xml' } });
    expect(text.statusCode).toBe(415);
    expect(text.json().code).toBe('VOXSHIFT_E_UNSUPPORTED_FORMAT');
  });

  it('rejects a wrong file type, a single DICOM file, an unknown model and a missing upload', async () => {
    const txt = await post(open, '/v1/jobs', jobParts(Buffer.from('just some text, not a volume\n'.repeat(20)), [], 'notes.txt'));
    expect(txt.statusCode).toBe(415);
    expect(txt.json()).toMatchObject({ code: 'VOXSHIFT_E_UNSUPPORTED_FORMAT', param: 'file' });
    expect(txt.json().message).toContain('notes.txt');
    const dcm = Buffer.alloc(256);
    dcm.write('DICM', 128, 'latin1');
    const single = await post(open, '/v1/jobs', jobParts(dcm, [], 'x.dcm'));
    expect(single.statusCode).toBe(415);
    expect(single.json().message).toContain('.zip');
    const model = await post(open, '/v1/jobs', [{ name: 'kind', value: 'translate' }, { name: 'model', value: 'no-such-model' }, { name: 'file', value: mr.bytes, filename: 'a.nii.gz' }]);
    expect(model.statusCode).toBe(404);
    expect(model.json()).toMatchObject({ code: 'VOXSHIFT_E_NOT_FOUND', param: 'model', details: { available: ['phantom-mr2ct-cyclegan-2d', MODEL] } });
    const gone = await open.inject({ method: 'POST', url: '/v1/jobs', payload: { kind: 'translate', model: MODEL, upload: '00000000-0000-4000-8000-000000000000' } });
    expect(gone.statusCode).toBe(404);
    expect(gone.json()).toMatchObject({ code: 'VOXSHIFT_E_NOT_FOUND', param: 'upload' });
  });

  it('rejects a truncated multipart upload and keeps nothing of it', async () => {
    const mp = multipartBody(jobParts(mr.bytes));
    const cut = mp.body.subarray(0, Math.floor(mp.body.length * 0.6));
    const r = await open.inject({ method: 'POST', url: '/v1/uploads', payload: cut, headers: { 'content-type': mp.contentType } });
    expect(r.statusCode).toBe(400);
    expect(r.json()).toMatchObject({ code: 'VOXSHIFT_E_TRUNCATED_FILE', param: 'file' });
    const uploads = await readdir(join(dir, 'open', 'uploads'));
    for (const u of uploads) expect(await readdir(join(dir, 'open', 'uploads', u))).toContain('upload.json');
  });

  it('rejects zip bombs and zip entries with ".." (path traversal)', async () => {
    const bomb = zipSync({ 'a.dcm': new Uint8Array(4 * 2 ** 20) }, { level: 9 });
    const r = await post(open, '/v1/jobs', jobParts(Buffer.from(bomb), [], 'series.zip'));
    expect(r.statusCode).toBe(413);
    expect(r.json().code).toBe('VOXSHIFT_E_ZIP_BOMB');
    const evil = zipSync({ '../../evil.dcm': new Uint8Array([1, 2, 3]) });
    const t = await post(open, '/v1/jobs', jobParts(Buffer.from(evil), [], 'series.zip'));
    expect(t.statusCode).toBe(400);
    expect(t.json().code).toBe('VOXSHIFT_E_ZIP_INVALID');
  });

  it('answers 409 for the result of an unfinished job, 404 for unknown jobs and routes', async () => {
    const r = await post(locked, '/v1/jobs', jobParts(mr.bytes), { authorization: `Bearer ${WRITE}` });
    expect(r.statusCode).toBe(202);
    const res = await locked.inject({ url: `/v1/jobs/${r.json().id}/result`, headers: { authorization: `Bearer ${READ}` } });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ code: 'VOXSHIFT_E_JOB_NOT_FINISHED', details: { state: 'queued' } });
    const unknown = await open.inject('/v1/jobs/00000000-0000-4000-8000-000000000000');
    expect(unknown.statusCode).toBe(404);
    expect((await open.inject('/v2/nothing')).json().code).toBe('VOXSHIFT_E_NOT_FOUND');
    // the one waiting job fills the queue of capacity 1
    const full = await post(locked, '/v1/jobs', jobParts(mr.bytes), { authorization: `Bearer ${WRITE}` });
    expect(full.statusCode).toBe(503);
    expect(full.headers['retry-after']).toBe('7');
    expect(full.json()).toMatchObject({ code: 'VOXSHIFT_E_QUEUE_FULL', details: { capacity: 1 } });
    const jobs = (await locked.inject({ url: '/v1/jobs', headers: { authorization: `Bearer ${READ}` } })).json().jobs;
    expect(jobs).toHaveLength(1);
  });

  it('needs a bearer key; a read-only key cannot write', async () => {
    const none = await locked.inject('/v1/models');
    expect(none.statusCode).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer');
    expect(none.json().code).toBe('VOXSHIFT_E_UNAUTHORIZED');
    expect((await locked.inject({ url: '/v1/models', headers: { authorization: 'Bearer wrong-key-000' } })).statusCode).toBe(401);
    expect((await locked.inject({ url: '/v1/models', headers: { authorization: `Bearer ${READ}` } })).statusCode).toBe(200);
    const ro = await post(locked, '/v1/uploads', [{ name: 'file', value: mr.bytes, filename: 'a.nii.gz' }], { authorization: `Bearer ${READ}` });
    expect(ro.statusCode).toBe(403);
    expect(ro.json().code).toBe('VOXSHIFT_E_FORBIDDEN');
    expect((await locked.inject('/health')).statusCode).toBe(200);
  });

  it('limits upload size', async () => {
    const big = Buffer.concat([mr.bytes, Buffer.alloc(4096)]);
    const r = await post(locked, '/v1/uploads', [{ name: 'file', value: big, filename: 'a.nii.gz' }], { authorization: `Bearer ${WRITE}` });
    expect(r.statusCode).toBe(413);
    expect(r.json().code).toBe('VOXSHIFT_E_SIZE_LIMIT');
  });
});

describe('service limits on their own apps', () => {
  it('rate-limits per key with 429 and Retry-After', async () => {
    const app = await buildApp({ dataDir: join(dir, 'rate'), rateLimitPerMinute: 3, apiKeys: [{ key: WRITE, scope: 'write' }, { key: READ, scope: 'read' }] });
    try {
      const get = (key: string) => app.inject({ url: '/v1/models', headers: { authorization: `Bearer ${key}` } });
      for (let i = 0; i < 3; i++) expect((await get(WRITE)).statusCode).toBe(200);
      const r = await get(WRITE);
      expect(r.statusCode).toBe(429);
      expect(r.json().code).toBe('VOXSHIFT_E_RATE_LIMITED');
      expect(Number(r.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect((await get(READ)).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });

  it('never shows an internal message on a 5xx', async () => {
    class BrokenQueue extends StalledQueue {
      override add(): void {
        throw new Error('secret internal detail /var/lib/x');
      }
    }
    const app = await buildApp({ dataDir: join(dir, 'broken'), queue: new BrokenQueue({ capacity: 5 }) });
    try {
      const r = await post(app, '/v1/jobs', jobParts(mr.bytes));
      expect(r.statusCode).toBe(500);
      expect(r.json()).toEqual({ code: 'VOXSHIFT_E_INTERNAL', message: 'internal error' });
      expect(r.body).not.toContain('secret');
    } finally {
      await app.close();
    }
  });

  it('fails a job whose input cannot be read, with the reader’s code', async () => {
    const nii = Buffer.from(mr.bytes);
    const { gunzipSync, gzipSync } = await import('node:zlib');
    const raw = gunzipSync(nii);
    const truncated = gzipSync(raw.subarray(0, 352 + 100));
    const r = await post(open, '/v1/jobs', jobParts(truncated));
    expect(r.statusCode).toBe(202);
    const done = await waitForJob(async () => (await open.inject(`/v1/jobs/${r.json().id}`)).json());
    expect(done.state).toBe('failed');
    expect(done.error.code).toMatch(/^VOXSHIFT_E_(TRUNCATED_FILE|FILE_UNREADABLE)$/);
  });
});
