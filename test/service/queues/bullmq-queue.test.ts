/**
 * What the BullMQ backend adds to the JobQueue contract: option checks; DELETE of a job that is not
 * waiting sets the cancel flag and reaches the consumers' onCancel; a job whose consumer vanished
 * (its lock expired) is handed out again while attempts are left, then failed through onFailed with
 * BullMQ's reason; and the service on this queue: 503 + Retry-After when full with no record left
 * behind, unfinished records re-added at start, GET /ready from the queue.
 */
import { randomUUID } from 'node:crypto';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../../service/app.ts';
import { JobStore } from '../../../service/job-store.ts';
import { BullmqQueue, type BullmqQueueOptions } from '../../../service/queues/bullmq-queue.ts';
import type { Job } from '../../../service/schemas.ts';
import { startRedisServer, type RedisServer } from '../../helpers/redis-server.ts';
import { multipartBody, phantomMrFile, sleep, tempDir } from '../helpers.ts';

let redis: RedisServer;
let dir: string;
const closers: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  redis = await startRedisServer();
  dir = await tempDir('bullmq');
});
afterAll(async () => {
  for (const c of closers.reverse()) await c().catch(() => undefined);
  await redis?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function queue(o: Partial<BullmqQueueOptions> = {}): BullmqQueue {
  const q = new BullmqQueue({ url: redis.url, name: `q-${randomUUID().slice(0, 8)}`, capacity: 10, lockDurationMs: 400, stalledIntervalMs: 200, ...o });
  closers.push(() => q.close());
  return q;
}

/** A consumer that takes the next job and then "dies": it never renews the lock. */
async function takeAndVanish(name: string): Promise<string | undefined> {
  const conn = new Redis(redis.url, { maxRetriesPerRequest: null });
  const w = new Worker(name, null, { connection: conn, lockDuration: 400 });
  closers.push(async () => {
    await w.close(true);
    conn.disconnect();
  });
  const job = await w.getNextJob(randomUUID());
  return job?.id;
}

async function until<T>(get: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = get();
    if (v !== undefined) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error('timed out waiting');
    await sleep(20);
  }
}

describe('BullmqQueue', () => {
  it('checks its options', () => {
    expect(() => new BullmqQueue({ url: 'http://localhost:6379', capacity: 1 })).toThrow(/redis URL must start with redis:\/\//);
    expect(() => new BullmqQueue({ url: redis.url, capacity: 0 })).toThrow(/queueSize must be an integer ≥ 1, got 0/);
    expect(() => new BullmqQueue({ url: redis.url, capacity: 1, name: 'a:b' })).toThrow(/queue name/);
    expect(() => new BullmqQueue({ url: redis.url, capacity: 1, maxAttempts: 0 })).toThrow(/maxAttempts/);
  });

  it('removing a running job flags it and tells the consumers; a waiting one is simply removed', async () => {
    const q = queue();
    const [running, waiting] = [randomUUID(), randomUUID()];
    const cancels: string[] = [];
    q.onCancel((id) => cancels.push(id));
    let release: () => void = () => undefined;
    const started: string[] = [];
    q.consume(async (id) => {
      started.push(id);
      await new Promise<void>((r) => (release = r));
    }, 1);
    await q.add(running);
    await until(() => (started.length > 0 ? true : undefined));
    await q.add(waiting);
    expect(await q.remove(waiting)).toBe(true);
    expect(await q.remove(running)).toBe(false);
    await until(() => (cancels.length > 0 ? true : undefined));
    expect(cancels).toEqual([running]);
    expect(await q.isCancelled(running)).toBe(true);
    expect(await q.isCancelled(waiting)).toBe(true);
    expect(await q.isCancelled(randomUUID())).toBe(false);
    release();
    await sleep(200);
    expect(started).toEqual([running]);
  });

  it('hands a stalled job out again while attempts are left', async () => {
    const q = queue({ maxAttempts: 2 });
    const id = randomUUID();
    await q.add(id);
    expect(await takeAndVanish(q.name)).toBe(id);
    const handled: string[] = [];
    const failed: string[] = [];
    q.onFailed((f) => failed.push(f));
    q.consume(async (h) => void handled.push(h), 1);
    await until(() => (handled.length > 0 ? true : undefined));
    expect(handled).toEqual([id]);
    expect(failed).toEqual([]);
  });

  it('fails a job whose consumer vanished more often than maxAttempts − 1 times, with the reason', async () => {
    const q = queue({ maxAttempts: 1 });
    const id = randomUUID();
    await q.add(id);
    expect(await takeAndVanish(q.name)).toBe(id);
    const handled: string[] = [];
    const failed: [string, string][] = [];
    q.onFailed((f, reason) => failed.push([f, reason]));
    q.consume(async (h) => void handled.push(h), 1);
    await until(() => (failed.length > 0 ? true : undefined));
    expect(failed).toEqual([[id, 'job stalled more than allowable limit']]);
    expect(handled).toEqual([]);
  });
});

describe('buildApp on a BullmqQueue (no workers)', () => {
  it('answers 503 + Retry-After when full and leaves no record; re-adds unfinished records at start; /ready from the queue', async () => {
    const dataDir = join(dir, 'app');
    const mr = await phantomMrFile(dir);
    const name = `app-${randomUUID().slice(0, 8)}`;
    const app = await buildApp({ dataDir, queue: new BullmqQueue({ url: redis.url, name, capacity: 1, retryAfterS: 9 }) });
    await app.ready();
    const post = () => {
      const mp = multipartBody([
        { name: 'kind', value: 'translate' },
        { name: 'model', value: 'phantom-mr2ct-pix2pix-2d' },
        { name: 'file', value: mr.bytes, filename: 'mr.nii.gz' },
      ]);
      return app.inject({ method: 'POST', url: '/v1/jobs', payload: mp.body, headers: { 'content-type': mp.contentType } });
    };
    const first = await post();
    expect(first.statusCode).toBe(202);
    const full = await post();
    expect(full.statusCode).toBe(503);
    expect(full.headers['retry-after']).toBe('9');
    expect(full.json()).toMatchObject({ code: 'VOXSHIFT_E_QUEUE_FULL', details: { capacity: 1, retryAfterS: 9 } });
    const store = new JobStore(dataDir);
    expect((await store.listJobs()).map((j) => j.id)).toEqual([first.json().id]);
    const ready = await app.inject('/ready');
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toMatchObject({ ready: true, worker: 'idle', queue: { capacity: 1 } });
    await app.close();

    // Redis loses everything (no persistence); a record left 'running' by a vanished worker and the
    // queued one come back into the queue when the server starts.
    const flush = new Redis(redis.url);
    await flush.flushall();
    flush.disconnect();
    const crashed: Job = { ...(first.json() as Job), id: randomUUID(), state: 'running', attempts: 1 };
    await store.saveJob(crashed);
    const q = new BullmqQueue({ url: redis.url, name, capacity: 1 });
    const again = await buildApp({ dataDir, queue: q });
    await again.ready();
    expect(await q.refreshCounts()).toEqual({ waiting: 2, running: 0 });
    expect((await again.inject(`/v1/jobs/${crashed.id}`)).json().state).toBe('running');
    await again.close();
    expect((await readdir(join(dataDir, 'jobs'))).length).toBe(2);
  });
});
