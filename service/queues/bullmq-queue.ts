/**
 * The Redis backend of JobQueue (BullMQ): the server adds job ids, `voxshift worker` processes on any
 * machine consume them (service/queues/queue-worker.ts).
 *
 * What lives where, and why: Redis holds only what the machines must agree on at once — the order of
 * waiting ids, which worker holds which job (BullMQ's lock, renewed every lockDuration/2), how often a
 * job's worker vanished (BullMQ's stalled counter) and cancellation (a flag key with a day's expiry and
 * a pub/sub message to the workers). Job records, inputs and results stay in the data folder
 * (JobStore), which must therefore be shared storage (NFS, CephFS, …) mounted by the server and every
 * worker: inputs and results are up to a GiB each, too big for Redis' memory; the records are written
 * the same way (temp file, fsync, rename) whoever writes them, so GET /v1/jobs/:id reads progress that a
 * worker on another machine wrote, with no Redis round trip and no event to miss while the server is
 * down; and Redis itself may run without persistence — the server re-adds every unfinished record at
 * start (`restore`; ids Redis still holds are left alone), so losing Redis loses no accepted job.
 *
 * Stalled jobs: a worker killed mid-job stops renewing its lock; once the lock has expired another
 * worker's stalled check (every stalledInterval) moves the job back to waiting, at most
 * `maxAttempts − 1` times, then BullMQ fails it ("job stalled more than allowable limit") and the
 * worker that notices tells its `onFailed` listeners, which mark the record failed with the reason.
 */
import { Queue, Worker, type Job as BullJob } from 'bullmq';
import { Redis } from 'ioredis';
import { VoxshiftError } from '../../volumes/errors.ts';
import { queueFull, type JobQueue } from '../queue.ts';

export interface BullmqQueueOptions {
  /** redis://[user:password@]host:port[/db] (rediss:// for TLS). */
  url: string;
  /** Queue name; the server and its workers must use the same one. Default 'voxshift-jobs'. */
  name?: string;
  /** Most jobs waiting at once; `add` beyond it throws QUEUE_FULL. */
  capacity: number;
  /** Seconds suggested in Retry-After when full (default 5). */
  retryAfterS?: number;
  /** Times a job may be started before a vanished worker fails it (default 2; consumer side). */
  maxAttempts?: number;
  /** How long a worker's lock on a job lasts without renewal (ms, default 30 000; consumer side). */
  lockDurationMs?: number;
  /** How often a worker looks for stalled jobs (ms, default 30 000; consumer side). */
  stalledIntervalMs?: number;
  /** How often waiting() and running() are refreshed from Redis (ms, default 1000). */
  countIntervalMs?: number;
  log?: (msg: string) => void;
}

const ABOUT_A_DAY_S = 86_400;

function positive(name: string, v: number | undefined, fallback: number, min = 1): number {
  if (v === undefined) return fallback;
  if (!Number.isInteger(v) || v < min) throw new VoxshiftError('INVALID_ARGUMENT', `${name} must be an integer ≥ ${min}, got ${v}`, { param: name });
  return v;
}

export class BullmqQueue implements JobQueue {
  readonly remote = true;
  readonly capacity: number;
  readonly retryAfterS: number;
  readonly maxAttempts: number;
  readonly name: string;
  private readonly lockDurationMs: number;
  private readonly stalledIntervalMs: number;
  private readonly log: (msg: string) => void;
  private readonly client: Redis;
  private readonly queue: Queue;
  private readonly extra: Redis[] = [];
  private worker: Worker | undefined;
  private readonly timer: NodeJS.Timeout;
  private counts = { waiting: 0, running: 0 };
  private connected = false;
  private closed = false;
  private readonly cancelListeners = new Set<(id: string) => void>();
  private readonly failedListeners = new Set<(id: string, reason: string) => void>();

  constructor(options: BullmqQueueOptions) {
    this.capacity = positive('queueSize', options.capacity, 1);
    this.retryAfterS = positive('retryAfterS', options.retryAfterS, 5);
    this.maxAttempts = positive('maxAttempts', options.maxAttempts, 2);
    this.lockDurationMs = positive('lockDurationMs', options.lockDurationMs, 30_000, 100);
    this.stalledIntervalMs = positive('stalledIntervalMs', options.stalledIntervalMs, 30_000, 100);
    this.name = options.name ?? 'voxshift-jobs';
    if (!/^[A-Za-z0-9_-]{1,100}$/.test(this.name)) throw new VoxshiftError('INVALID_ARGUMENT', `queue name must be 1–100 letters, digits, _ or -, got ${JSON.stringify(this.name)}`, { param: 'name' });
    if (!/^rediss?:\/\//.test(options.url)) throw new VoxshiftError('INVALID_ARGUMENT', `redis URL must start with redis:// or rediss://, got ${JSON.stringify(options.url)}`, { param: 'redis' });
    this.log = options.log ?? (() => undefined);
    // BullMQ's workers need maxRetriesPerRequest: null (blocking commands wait through reconnects).
    this.client = this.connection(options.url);
    this.queue = new Queue(this.name, { connection: this.client });
    this.queue.on('error', (e) => this.log(`queue ${this.name}: ${e.message}`));
    this.timer = setInterval(() => void this.refreshCounts().catch(() => undefined), options.countIntervalMs ?? 1000);
    this.timer.unref();
  }

  private connection(url: string): Redis {
    const c = new Redis(url, { maxRetriesPerRequest: null });
    c.on('ready', () => (this.connected = true));
    c.on('close', () => (this.connected = false));
    // Without a listener ioredis prints every failed reconnect; once per state change is enough.
    let last = '';
    c.on('error', (e: Error) => {
      if (e.message !== last) this.log(`redis: ${e.message}`);
      last = e.message;
    });
    return c;
  }

  private duplicate(): Redis {
    const c = this.client.duplicate();
    c.on('error', () => undefined);
    this.extra.push(c);
    return c;
  }

  private get prefix(): string {
    return `bull:${this.name}`;
  }
  private cancelKey(id: string): string {
    return `${this.prefix}:voxshift-cancelled:${id}`;
  }
  private get cancelChannel(): string {
    return `${this.prefix}:voxshift-cancel`;
  }

  /** True while the connection to Redis is up. */
  isConnected(): boolean {
    return this.connected;
  }

  waiting(): number {
    return this.counts.waiting;
  }
  running(): number {
    return this.counts.running;
  }

  /** Re-reads the counts from Redis (waiting includes delayed and paused jobs). */
  async refreshCounts(): Promise<{ waiting: number; running: number }> {
    const c = await this.queue.getJobCounts('wait', 'paused', 'prioritized', 'delayed', 'active');
    this.counts = { waiting: (c.wait ?? 0) + (c.paused ?? 0) + (c.prioritized ?? 0) + (c.delayed ?? 0), running: c.active ?? 0 };
    return this.counts;
  }

  async add(id: string): Promise<void> {
    // Not atomic across several servers sharing one queue: each checks, then adds (a soft bound there).
    const { waiting } = await this.refreshCounts();
    if (waiting >= this.capacity) throw queueFull(this);
    await this.restore(id);
    this.counts.waiting = waiting + 1;
  }

  async restore(id: string): Promise<void> {
    // A custom jobId makes the add a no-op while Redis holds that id (waiting, active or delayed);
    // finished jobs are removed at once, so their ids can come back.
    await this.queue.add('job', { id }, { jobId: id, removeOnComplete: true, removeOnFail: true });
  }

  async remove(id: string): Promise<boolean> {
    // The flag first: a worker that took the job a moment ago checks it after registering the job
    // as running, so it either sees the flag or is already listening when the message comes.
    await this.client.set(this.cancelKey(id), '1', 'EX', ABOUT_A_DAY_S);
    const state = await this.queue.getJobState(id);
    // Queue.remove answers 1 for an unknown id too, and 0 for a locked (active) job.
    const removed = ['waiting', 'prioritized', 'delayed', 'paused'].includes(state) && (await this.queue.remove(id)) === 1;
    if (!removed && state !== 'unknown') await this.client.publish(this.cancelChannel, id);
    else this.counts.waiting = Math.max(0, this.counts.waiting - 1);
    return removed;
  }

  /** Whether the job was deleted (the flag `remove` sets). */
  async isCancelled(id: string): Promise<boolean> {
    return (await this.client.exists(this.cancelKey(id))) === 1;
  }

  /** `listener(id)` runs when a server deletes a job that is not waiting (a worker may be running it). */
  onCancel(listener: (id: string) => void): void {
    this.cancelListeners.add(listener);
  }

  /** `listener(id, reason)` runs when BullMQ fails a job this process consumes (stalled too often, or the handler threw). */
  onFailed(listener: (id: string, reason: string) => void): void {
    this.failedListeners.add(listener);
  }

  consume(handler: (id: string) => Promise<void>, concurrency: number): void {
    if (this.closed || this.worker || concurrency < 1) return;
    const sub = this.duplicate();
    sub.on('message', (_channel: string, id: string) => {
      for (const f of this.cancelListeners) f(id);
    });
    void sub.subscribe(this.cancelChannel).catch((e: Error) => this.log(`redis subscribe: ${e.message}`));
    const worker = new Worker<{ id: string }>(
      this.name,
      async (job: BullJob<{ id: string }>) => {
        if (job.id) await handler(job.id);
      },
      {
        connection: this.duplicate(),
        concurrency,
        lockDuration: this.lockDurationMs,
        stalledInterval: this.stalledIntervalMs,
        maxStalledCount: this.maxAttempts - 1,
      },
    );
    worker.on('error', (e) => this.log(`worker ${this.name}: ${e.message}`));
    worker.on('failed', (job, err) => {
      if (!job?.id) return;
      for (const f of this.failedListeners) f(job.id, err.message);
    });
    this.worker = worker;
  }

  /** Stops consuming (running handlers finish first) and closes the connections. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    await this.worker?.close();
    await this.queue.close();
    await Promise.all([this.client, ...this.extra].map((c) => c.quit().catch(() => c.disconnect())));
  }
}
