/**
 * The JobQueue contract, run against both backends: the embedded FIFO and BullMQ on a private
 * redis-server. add/waiting/remove, capacity (QUEUE_FULL with Retry-After), restore beyond capacity and
 * of ids already held, FIFO consumption, the concurrency bound, a failing handler, close.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedQueue, type JobQueue } from '../../../service/queue.ts';
import { BullmqQueue } from '../../../service/queues/bullmq-queue.ts';
import { startRedisServer, type RedisServer } from '../../helpers/redis-server.ts';
import { rejected } from '../../helpers/rejected.ts';

let redis: RedisServer;
const open: JobQueue[] = [];

beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await Promise.all(open.map((q) => q.close()));
  await redis?.stop();
});

interface Backend {
  name: string;
  make(capacity: number): JobQueue;
  /** Brings waiting()/running() up to date (a remote queue refreshes them from Redis). */
  sync(q: JobQueue): Promise<void>;
}

const backends: Backend[] = [
  { name: 'embedded', make: (capacity) => new EmbeddedQueue({ capacity, retryAfterS: 7 }), sync: async () => undefined },
  {
    name: 'bullmq',
    make: (capacity) => new BullmqQueue({ url: redis.url, name: `contract-${randomUUID().slice(0, 8)}`, capacity, retryAfterS: 7, lockDurationMs: 5000, stalledIntervalMs: 5000 }),
    sync: async (q) => void (await (q as BullmqQueue).refreshCounts()),
  },
];

const ids = (n: number): string[] => Array.from({ length: n }, () => randomUUID());
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error('timed out waiting');
    await sleep(20);
  }
}

describe.each(backends)('JobQueue contract: $name', (b) => {
  const make = (capacity: number): JobQueue => {
    const q = b.make(capacity);
    open.push(q);
    return q;
  };

  it('adds, counts and removes waiting ids; consumes the rest in order', async () => {
    const q = make(10);
    const [a, x, c] = ids(3);
    for (const id of [a, x, c]) await q.add(id);
    await b.sync(q);
    expect(q.waiting()).toBe(3);
    expect(await q.remove(x)).toBe(true);
    expect(await q.remove(x)).toBe(false);
    expect(await q.remove(randomUUID())).toBe(false);
    await b.sync(q);
    expect(q.waiting()).toBe(2);
    const seen: string[] = [];
    q.consume(async (id) => void seen.push(id), 1);
    await until(() => seen.length === 2);
    await sleep(100);
    expect(seen).toEqual([a, c]);
    await b.sync(q);
    expect(q.waiting()).toBe(0);
    expect(q.running()).toBe(0);
  });

  it('answers QUEUE_FULL with the Retry-After seconds at capacity; restore goes beyond it and ignores ids it holds', async () => {
    const q = make(2);
    const [a, c, d] = ids(3);
    await q.add(a);
    await q.add(c);
    const e = await rejected(Promise.resolve().then(() => q.add(d)));
    expect(e.code).toBe('VOXSHIFT_E_QUEUE_FULL');
    expect(e.details).toMatchObject({ capacity: 2, retryAfterS: 7 });
    await q.restore(d);
    await q.restore(a);
    await b.sync(q);
    expect(q.waiting()).toBe(3);
    const seen: string[] = [];
    q.consume(async (id) => void seen.push(id), 2);
    await until(() => seen.length === 3);
    await sleep(150);
    expect(seen.sort()).toEqual([a, c, d].sort());
  });

  it('runs at most `concurrency` handlers at once, each id once, and keeps going after a handler fails', async () => {
    const q = make(20);
    const all = ids(6);
    for (const id of all) await q.add(id);
    let active = 0;
    let most = 0;
    const seen: string[] = [];
    q.consume(async (id) => {
      active++;
      most = Math.max(most, active);
      await sleep(150);
      active--;
      seen.push(id);
      if (id === all[0]) throw new Error('handler failure');
    }, 2);
    await until(() => seen.length === 6);
    await sleep(150);
    expect(most).toBe(2);
    expect(seen.sort()).toEqual([...all].sort());
  });

  it('does not remove a running id; close waits for running handlers', async () => {
    const q = make(5);
    const [a] = ids(1);
    await q.add(a);
    let started = false;
    let finished = false;
    q.consume(async () => {
      started = true;
      await sleep(400);
      finished = true;
    }, 1);
    await until(() => started);
    await b.sync(q);
    expect(q.running()).toBe(1);
    expect(await q.remove(a)).toBe(false);
    await q.close();
    expect(finished).toBe(true);
  });
});
