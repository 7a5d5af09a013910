/**
 * The job queue interface and its embedded backend (an in-process FIFO, bounded; the default).
 * A queue holds only job ids: the job records and their inputs are in the JobStore, written before
 * an id is added, so the embedded queue is rebuilt from the store on start-up (JobManager.start).
 * The other backend, service/queues/bullmq-queue.ts, keeps the ids in Redis for `voxshift worker`
 * processes on other machines; its methods answer with promises, so callers await every method.
 */
import { VoxshiftError } from '../volumes/errors.ts';

export interface JobQueue {
  /**
   * True when jobs run in other processes (`voxshift worker`, the Redis backend): the server starts
   * no worker and does not judge jobs found running at start-up (the queue's stalled-job detection
   * does); it only re-adds its unfinished jobs with `restore`.
   */
  readonly remote?: boolean;
  /** False while a remote queue cannot reach its server (GET /ready reports the worker 'down'). */
  isConnected?(): boolean;
  /** Most jobs waiting at once; `add` beyond it throws QUEUE_FULL. */
  readonly capacity: number;
  /** Seconds suggested in Retry-After when full. */
  readonly retryAfterS: number;
  waiting(): number;
  running(): number;
  /** Throws QUEUE_FULL (503, with retryAfterS in details) when `capacity` jobs are waiting. */
  add(id: string): void | Promise<void>;
  /** Re-adds recovered jobs regardless of capacity (they were accepted before a restart); an id already held is left alone. */
  restore(id: string): void | Promise<void>;
  /** Removes a waiting job; false when it is not waiting. A remote queue also asks the worker running it to stop. */
  remove(id: string): boolean | Promise<boolean>;
  /** Starts consuming: `handler` runs for each id, at most `concurrency` at once. */
  consume(handler: (id: string) => Promise<void>, concurrency: number): void;
  close(): Promise<void>;
}

export function queueFull(q: Pick<JobQueue, 'capacity' | 'retryAfterS'>): VoxshiftError {
  return new VoxshiftError('QUEUE_FULL', `the job queue is full (${q.capacity} jobs waiting); retry later`, {
    details: { capacity: q.capacity, retryAfterS: q.retryAfterS },
  });
}

export class EmbeddedQueue implements JobQueue {
  readonly capacity: number;
  private readonly ids: string[] = [];
  private active = 0;
  private concurrency = 0;
  private handler: ((id: string) => Promise<void>) | undefined;
  private closed = false;
  private readonly idle = new Set<() => void>();
  /** Seconds suggested in Retry-After when full. */
  readonly retryAfterS: number;

  constructor(options: { capacity: number; retryAfterS?: number }) {
    if (!Number.isInteger(options.capacity) || options.capacity < 1) {
      throw new VoxshiftError('INVALID_ARGUMENT', `queue capacity must be a positive integer, got ${options.capacity}`, { param: 'queueSize' });
    }
    this.capacity = options.capacity;
    this.retryAfterS = options.retryAfterS ?? 5;
  }

  waiting(): number {
    return this.ids.length;
  }
  running(): number {
    return this.active;
  }

  add(id: string): void {
    if (this.ids.length >= this.capacity) throw queueFull(this);
    this.restore(id);
  }

  restore(id: string): void {
    if (this.ids.includes(id)) return;
    this.ids.push(id);
    this.pump();
  }

  remove(id: string): boolean {
    const i = this.ids.indexOf(id);
    if (i < 0) return false;
    this.ids.splice(i, 1);
    return true;
  }

  consume(handler: (id: string) => Promise<void>, concurrency: number): void {
    this.handler = handler;
    this.concurrency = concurrency;
    this.pump();
  }

  private pump(): void {
    while (!this.closed && this.handler && this.active < this.concurrency && this.ids.length > 0) {
      const id = this.ids.shift() as string;
      this.active++;
      void this.handler(id)
        .catch(() => undefined)
        .finally(() => {
          this.active--;
          if (this.active === 0) for (const f of this.idle) f();
          this.pump();
        });
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.active === 0) return;
    await new Promise<void>((resolve) => this.idle.add(resolve));
  }
}
