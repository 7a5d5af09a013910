/**
 * `voxshift worker`: consumes a BullMQ queue (service/queues/bullmq-queue.ts) on any machine that
 * mounts the service's data folder, running each job in a child process (WorkerProcess, as the
 * embedded server does) and writing its record — running, progress, then succeeded or failed — into
 * the shared JobStore, where the server's GET /v1/jobs/:id reads it.
 *
 * A record is only ever rewritten in place (no mkdir): when the server has deleted the job its folder
 * is gone, the write fails, and the job is treated as cancelled instead of coming back to life.
 * A record found 'running' when its id comes round again means the worker that ran it vanished (BullMQ
 * moved the stalled job back to waiting): it is started again with a RESTARTED warning while it has
 * attempts left, otherwise failed with INTERRUPTED. A child that dies under a live worker is handled
 * the same way, here, without a round trip through Redis. (BullMQ delivers at least once: a worker
 * that cannot renew its lock for lockDuration — Redis unreachable that long — may see its job run
 * elsewhere too; the job's files are written under fixed names by rename, so the later run wins.)
 */
import { join } from 'node:path';
import { VoxshiftError } from '../../volumes/errors.ts';
import { buildTask } from '../job-kinds.ts';
import { JobStore, writeFileAtomic } from '../job-store.ts';
import { ModelRegistry } from '../models.ts';
import type { WorkerTask } from '../run-task.ts';
import type { Job } from '../schemas.ts';
import { JobWrites, markFinished, markStarted, markSucceeded, progressWriter, TERMINAL_STATES } from '../job-lifecycle.ts';
import { WorkerProcess } from '../worker-process.ts';
import type { BullmqQueue } from './bullmq-queue.ts';

/** What the worker needs of its queue (BullmqQueue; a test may pass another). */
export type WorkerQueue = Pick<BullmqQueue, 'consume' | 'close' | 'onCancel' | 'onFailed' | 'isCancelled' | 'maxAttempts'>;

export interface QueueWorkerOptions {
  /** The service's data folder (shared storage: the same files the server sees). */
  dataDir: string;
  queue: WorkerQueue;
  /** Jobs run at once (one child process each). Default 1. */
  concurrency?: number;
  /** onnxruntime threads per job (default: cores). */
  threads?: number;
  /** Extra checkpoint folders, one model per sub-folder, as for `voxshift serve --models`. */
  modelsDir?: string;
  /** Offer the models shipped in models/ (default true). */
  shippedModels?: boolean;
  /** Least interval between progress writes of one job (ms). Default 200. */
  progressIntervalMs?: number;
  log?: (msg: string) => void;
}

export class QueueWorker {
  private readonly store: JobStore;
  private readonly models: ModelRegistry;
  private readonly workers: WorkerProcess[] = [];
  private readonly idle: WorkerProcess[] = [];
  /** Jobs this process is running, with the child running each (undefined while it is being prepared). */
  private readonly running = new Map<string, WorkerProcess | undefined>();
  private readonly cancelled = new Set<string>();
  private readonly writes = new JobWrites();
  private readonly log: (msg: string) => void;
  private readonly concurrency: number;
  private readonly progressIntervalMs: number;

  constructor(private readonly options: QueueWorkerOptions) {
    this.store = new JobStore(options.dataDir);
    this.models = new ModelRegistry(options.modelsDir, options.shippedModels ?? true);
    this.log = options.log ?? (() => undefined);
    this.concurrency = options.concurrency ?? 1;
    if (!Number.isInteger(this.concurrency) || this.concurrency < 1) {
      throw new VoxshiftError('INVALID_ARGUMENT', `concurrency must be a positive integer, got ${options.concurrency}`, { param: 'concurrency' });
    }
    this.progressIntervalMs = options.progressIntervalMs ?? 200;
  }

  /** Starts the child processes and consumes the queue. */
  async start(): Promise<void> {
    await this.store.init();
    for (let i = 0; i < this.concurrency; i++) {
      const w = new WorkerProcess(this.log);
      w.start();
      this.workers.push(w);
      this.idle.push(w);
    }
    const q = this.options.queue;
    q.onCancel((id) => this.cancel(id));
    q.onFailed((id, reason) => void this.failedByQueue(id, reason).catch((e: unknown) => this.log(`job ${id}: ${String(e)}`)));
    q.consume((id) => this.process(id), this.concurrency);
  }

  /** Stops taking jobs, lets the running ones finish, then stops the children. */
  async close(): Promise<void> {
    await this.options.queue.close();
    await Promise.all(this.workers.map((w) => w.close()));
    await this.writes.idleAll();
  }

  private cancel(id: string): void {
    if (!this.running.has(id)) return;
    this.cancelled.add(id);
    this.running.get(id)?.cancel(id);
    this.log(`job ${id} cancelled`);
  }

  /** Rewrites the record (never creates it); a missing folder means the job was deleted. */
  private persist(job: Job): Promise<void> {
    const snapshot = JSON.stringify(job);
    return this.writes.enqueue(job.id, async () => {
      if (this.cancelled.has(job.id)) return;
      try {
        await writeFileAtomic(join(this.store.jobDir(job.id), 'job.json'), snapshot);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        this.cancel(job.id);
        this.cancelled.add(job.id);
      }
    });
  }

  private interrupted(job: Job, why: string): Job['error'] {
    return new VoxshiftError('INTERRUPTED', `${why} ${job.attempts} time${job.attempts === 1 ? '' : 's'}; not retried`, { details: { attempts: job.attempts } }).toJSON() as Job['error'];
  }

  /** BullMQ gave up on a job (its worker vanished too often, or the handler threw): the record says why. */
  private async failedByQueue(id: string, reason: string): Promise<void> {
    const job = await this.store.getJob(id);
    if (!job || TERMINAL_STATES.has(job.state)) return;
    const stalled = /stalled/.test(reason);
    this.log(`job ${id} failed in the queue: ${reason}`);
    markFinished(job, 'failed', {
      error: stalled
        ? this.interrupted(job, `the worker running this job stopped (${reason}),`)
        : { code: 'VOXSHIFT_E_INTERNAL', message: 'internal error while running the job' },
    });
    await this.persist(job);
  }

  private async process(id: string): Promise<void> {
    // Registered before the flag is read: a cancel either shows in the flag or reaches this.cancel.
    this.running.set(id, undefined);
    try {
      const job = await this.store.getJob(id);
      if (!job || TERMINAL_STATES.has(job.state) || (await this.options.queue.isCancelled(id))) return;
      if (job.state === 'running') {
        const max = this.options.queue.maxAttempts;
        if (job.attempts >= max) {
          markFinished(job, 'failed', { error: this.interrupted(job, 'the worker running this job stopped') });
          await this.persist(job);
          return;
        }
        job.state = 'queued';
        job.progress = 0;
        delete job.progressDetail;
        job.warnings = [...job.warnings, { code: 'RESTARTED', message: `the worker running this job stopped (attempt ${job.attempts}); it was started again` }];
      }
      const worker = this.idle.pop();
      if (!worker) throw new Error('no idle worker process');
      try {
        this.running.set(id, worker);
        await this.runOn(worker, job);
      } finally {
        this.idle.push(worker);
      }
    } catch (e) {
      this.log(`job ${id}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      const job = await this.store.getJob(id);
      if (job && !TERMINAL_STATES.has(job.state) && !this.cancelled.has(id)) {
        markFinished(job, 'failed', { error: { code: 'VOXSHIFT_E_INTERNAL', message: 'internal error while running the job' } });
        await this.persist(job).catch(() => undefined);
      }
    } finally {
      this.running.delete(id);
      await this.writes.idle(id);
      this.cancelled.delete(id);
    }
  }

  private async runOn(worker: WorkerProcess, job: Job): Promise<void> {
    for (;;) {
      let task: WorkerTask;
      try {
        task = await buildTask(job, { store: this.store, models: this.models, getJob: (id) => this.store.getJob(id), ...(this.options.threads !== undefined ? { threads: this.options.threads } : {}) });
      } catch (e) {
        if (!(e instanceof VoxshiftError)) throw e;
        markFinished(job, 'failed', { error: e.toJSON() as Job['error'] });
        await this.persist(job);
        return;
      }
      markStarted(job);
      await this.persist(job);
      if (this.cancelled.has(job.id)) return;
      this.log(`job ${job.id} started (attempt ${job.attempts})`);
      const outcome = await worker.run(task, progressWriter(job, this.progressIntervalMs, (j) => this.persist(j)));
      if (this.cancelled.has(job.id)) return;
      if (outcome.ok) {
        await markSucceeded(job, outcome, this.store);
        this.log(`job ${job.id} succeeded`);
      } else if (outcome.error?.code === 'VOXSHIFT_E_INTERRUPTED' && job.attempts < this.options.queue.maxAttempts) {
        job.state = 'queued';
        job.progress = 0;
        delete job.progressDetail;
        job.warnings = [...job.warnings, { code: 'RESTARTED', message: `the job's process stopped (attempt ${job.attempts}); it was started again` }];
        continue;
      } else {
        if (outcome.internal) this.log(`job ${job.id} failed: ${outcome.internal}`);
        markFinished(job, 'failed', { error: outcome.error as Job['error'] });
        this.log(`job ${job.id} failed: ${String(outcome.error?.code)}`);
      }
      await this.persist(job);
      return;
    }
  }
}
