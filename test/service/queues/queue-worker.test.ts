/**
 * QueueWorker's records, in process on a private redis-server: a job whose previous worker vanished
 * more often than allowed is failed with INTERRUPTED and BullMQ's reason; one with attempts left is
 * started again with a RESTARTED warning; a job deleted (flagged) before a worker takes it is not
 * started.
 */
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobStore } from '../../../service/job-store.ts';
import { BullmqQueue } from '../../../service/queues/bullmq-queue.ts';
import { QueueWorker } from '../../../service/queues/queue-worker.ts';
import type { Job } from '../../../service/schemas.ts';
import { startRedisServer, type RedisServer } from '../../helpers/redis-server.ts';
import { sleep, tempDir, waitForJob } from '../helpers.ts';

let redis: RedisServer;
let dir: string;
const closers: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  redis = await startRedisServer();
  dir = await tempDir('qworker');
});
afterAll(async () => {
  for (const c of closers.reverse()) await c().catch(() => undefined);
  await redis?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const record = (over: Partial<Job>): Job => ({
  id: randomUUID(),
  kind: 'translate',
  model: 'phantom-mr2ct-pix2pix-2d',
  params: {},
  state: 'queued',
  progress: 0,
  upload: randomUUID(),
  createdAt: new Date().toISOString(),
  timings: {},
  attempts: 0,
  warnings: [],
  ...over,
});

async function setup(maxAttempts: number): Promise<{ store: JobStore; producer: BullmqQueue; start: () => Promise<void>; vanish: () => Promise<void> }> {
  const dataDir = join(dir, randomUUID().slice(0, 8));
  const store = new JobStore(dataDir);
  await store.init();
  const name = `w-${randomUUID().slice(0, 8)}`;
  const opts = { url: redis.url, name, capacity: 10, maxAttempts, lockDurationMs: 400, stalledIntervalMs: 200 };
  const producer = new BullmqQueue(opts);
  closers.push(() => producer.close());
  return {
    store,
    producer,
    start: async () => {
      const w = new QueueWorker({ dataDir, queue: new BullmqQueue(opts), threads: 1 });
      closers.push(() => w.close());
      await w.start();
    },
    // A consumer that takes the next job and dies without renewing its lock.
    vanish: async () => {
      const conn = new Redis(redis.url, { maxRetriesPerRequest: null });
      const dead = new Worker(name, null, { connection: conn, lockDuration: 400 });
      closers.push(async () => {
        await dead.close(true);
        conn.disconnect();
      });
      expect(await dead.getNextJob(randomUUID())).toBeDefined();
    },
  };
}

describe('QueueWorker', () => {
  it('fails a job whose worker vanished on its last attempt with INTERRUPTED and the reason', async () => {
    const { store, producer, start, vanish } = await setup(1);
    const job = record({ state: 'running', attempts: 1, progress: 0.3 });
    await store.saveJob(job);
    await producer.add(job.id);
    await vanish();
    await start();
    const done = await waitForJob(async () => (await store.getJob(job.id)) as Job, 15_000);
    expect(done.state).toBe('failed');
    expect(done.error).toMatchObject({ code: 'VOXSHIFT_E_INTERRUPTED', details: { attempts: 1 } });
    expect(done.error?.message).toContain('job stalled more than allowable limit');
    expect(done.finishedAt).toBeDefined();
  });

  it('starts a job found running again while attempts are left (RESTARTED), skips a deleted one', async () => {
    const { store, producer, start, vanish } = await setup(2);
    const restarted = record({ state: 'running', attempts: 1 });
    const deleted = record({});
    await store.saveJob(restarted);
    await store.saveJob(deleted);
    await producer.add(restarted.id);
    await vanish();
    await producer.add(deleted.id);
    // DELETE as the server does it sets the flag first; a worker that takes the id before the folder
    // is gone (here: the id came back into the queue) must not start it.
    expect(await producer.remove(deleted.id)).toBe(true);
    await producer.restore(deleted.id);
    await start();
    const done = await waitForJob(async () => (await store.getJob(restarted.id)) as Job, 15_000);
    // Its upload does not exist: the second attempt fails with that reason, after the restart.
    expect(done.state).toBe('failed');
    expect(done.error).toMatchObject({ code: 'VOXSHIFT_E_NOT_FOUND', param: 'upload' });
    expect(done.warnings.map((w) => w.code)).toEqual(['RESTARTED']);
    for (let i = 0; i < 50 && (await producer.refreshCounts()).waiting + (await producer.refreshCounts()).running > 0; i++) await sleep(100);
    expect(await producer.refreshCounts()).toEqual({ waiting: 0, running: 0 });
    expect(await store.getJob(deleted.id)).toMatchObject({ state: 'queued', attempts: 0 });
  });
});
