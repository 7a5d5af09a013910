/**
 * Job life cycle: `create` persists the record (its input is already on disk) and only then queues it;
 * workers (child processes) run queued jobs and report progress, which is written back to the record;
 * `recover` runs at start-up: queued jobs are queued again, and jobs found 'running' (the server died
 * under them) are queued again until they have been started `maxAttempts` times, then failed with
 * INTERRUPTED and the reason.
 */
import { randomUUID } from 'node:crypto';
import { VoxshiftError } from '../volumes/errors.ts';
import type { JobStore } from './job-store.ts';
import type { ModelRegistry } from './models.ts';
import { queueFull, type JobQueue } from './queue.ts';
import { buildTask, type NewJob } from './job-kinds.ts';
import type { WorkerTask } from './run-task.ts';
import type { Job } from './schemas.ts';
import { WorkerProcess } from './worker-process.ts';
import { JobWrites, markFinished, markStarted, markSucceeded, progressWriter, TERMINAL_STATES } from './job-lifecycle.ts';

export interface JobManagerOptions {
  /** Worker processes (jobs run at once). Default 1. */
  workers?: number;
  /** onnxruntime threads per worker (default: cores). */
  threads?: number;
  /** Times a job may be started before an interruption fails it. Default 2. */
  maxAttempts?: number;
  /** Least interval between progress writes of one job (ms). Default 200. */
  progressIntervalMs?: number;
  log?: (msg: string) => void;
}

export class JobManager {
  private readonly workers: WorkerProcess[] = [];
  private readonly idleWorkers: WorkerProcess[] = [];
  /** Records of running jobs, fresher than the store between progress writes. */
  private readonly live = new Map<string, Job>();
  private readonly running = new Map<string, WorkerProcess>();
  private readonly deleted = new Set<string>();
  /** Set by close(): jobs taken from the queue from then on stay queued for the next start. */
  private closing = false;
  private readonly writes = new JobWrites();
  private creating = 0;
  private readonly maxAttempts: number;
  private readonly progressIntervalMs: number;
  private readonly log: (msg: string) => void;

  constructor(
    private readonly store: JobStore,
    private readonly queue: JobQueue,
    private readonly models: ModelRegistry,
    private readonly options: JobManagerOptions = {},
  ) {
    this.maxAttempts = options.maxAttempts ?? 2;
    this.progressIntervalMs = options.progressIntervalMs ?? 200;
    this.log = options.log ?? (() => undefined);
  }

  workerState(): string {
    if (this.queue.remote) return this.queue.isConnected?.() === false ? 'down' : this.queue.running() > 0 ? 'busy' : 'idle';
    const states = this.workers.map((w) => w.state);
    if (states.includes('busy')) return 'busy';
    if (states.includes('idle')) return 'idle';
    return states[0] ?? 'down';
  }

  /** Recovers the store's unfinished jobs, then starts the workers and the queue's consumer. */
  async start(): Promise<void> {
    if (this.queue.remote) {
      // Jobs run in `voxshift worker` processes; their queue judges the running ones (stalled jobs).
      for (const job of await this.store.listJobs()) if (job.state === 'queued' || job.state === 'running') await this.queue.restore(job.id);
      return;
    }
    for (const job of await this.store.listJobs()) {
      if (job.state === 'running') {
        if (job.attempts >= this.maxAttempts) {
          markFinished(job, 'failed', {
            error: new VoxshiftError('INTERRUPTED', `the server stopped while this job ran, ${job.attempts} times; not retried`, {
              details: { attempts: job.attempts },
            }).toJSON() as Job['error'],
          });
          await this.persist(job);
          continue;
        }
        job.state = 'queued';
        job.progress = 0;
        job.warnings = [...job.warnings, { code: 'RESTARTED', message: `the server stopped while this job ran (attempt ${job.attempts}); it was queued again` }];
        await this.persist(job);
      }
      if (job.state === 'queued') await this.queue.restore(job.id);
    }
    const n = this.options.workers ?? 1;
    for (let i = 0; i < n; i++) {
      const w = new WorkerProcess(this.log);
      w.start();
      this.workers.push(w);
      this.idleWorkers.push(w);
    }
    this.queue.consume((id) => this.process(id), n);
  }

  async close(): Promise<void> {
    this.closing = true;
    const closing = this.queue.close();
    await Promise.all(this.workers.map((w) => w.close()));
    await closing;
    await this.writes.idleAll();
  }

  /** Persists a new job (checked by prepareJob) and queues it; QUEUE_FULL leaves nothing behind. */
  async create(body: NewJob): Promise<Job> {
    // Jobs being written count as waiting, so concurrent requests cannot overfill the queue.
    if (this.queue.waiting() + this.creating >= this.queue.capacity) throw queueFull(this.queue);
    this.creating++;
    try {
      const job: Job = {
        id: randomUUID(),
        kind: body.kind,
        model: body.model,
        params: body.params,
        state: 'queued',
        progress: 0,
        upload: body.upload.id,
        ...(body.inputs ? { inputs: body.inputs } : {}),
        createdAt: new Date().toISOString(),
        timings: {},
        attempts: 0,
        warnings: [],
      };
      await this.persist(job);
      try {
        await this.queue.add(job.id);
      } catch (e) {
        this.deleted.add(job.id);
        await this.store.deleteJob(job.id);
        throw e;
      }
      return job;
    } finally {
      this.creating--;
    }
  }

  async get(id: string): Promise<Job | undefined> {
    if (this.deleted.has(id)) return undefined;
    return this.live.get(id) ?? (await this.store.getJob(id));
  }

  async list(): Promise<Job[]> {
    return (await this.store.listJobs()).map((j) => this.live.get(j.id) ?? j);
  }

  /** Cancels the job if it is queued or running and removes it with its result. */
  async delete(id: string): Promise<boolean> {
    const job = await this.get(id);
    if (!job) return false;
    this.deleted.add(id);
    await this.queue.remove(id);
    this.running.get(id)?.cancel(id);
    await this.writes.idle(id);
    await this.store.deleteJob(id);
    return true;
  }

  private persist(job: Job): Promise<void> {
    const snapshot = structuredClone(job);
    return this.writes.enqueue(job.id, async () => {
      if (!this.deleted.has(job.id)) await this.store.saveJob(snapshot);
    });
  }

  private async process(id: string): Promise<void> {
    const job = await this.store.getJob(id);
    if (!job || job.state !== 'queued' || this.deleted.has(id)) return;
    const worker = this.idleWorkers.pop();
    if (!worker) throw new Error('no idle worker');
    try {
      await this.runOn(worker, job);
    } catch (e) {
      this.log(`job ${id}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      if (!TERMINAL_STATES.has(job.state)) {
        markFinished(job, 'failed', { error: { code: 'VOXSHIFT_E_INTERNAL', message: 'internal error while running the job' } });
        await this.persist(job).catch(() => undefined);
      }
    } finally {
      this.live.delete(id);
      this.running.delete(id);
      this.idleWorkers.push(worker);
    }
  }

  private async runOn(worker: WorkerProcess, job: Job): Promise<void> {
    let task: WorkerTask;
    try {
      task = await buildTask(job, { store: this.store, models: this.models, getJob: (id) => this.get(id), ...(this.options.threads !== undefined ? { threads: this.options.threads } : {}) });
    } catch (e) {
      if (!(e instanceof VoxshiftError)) throw e;
      markFinished(job, 'failed', { error: e.toJSON() as Job['error'] });
      await this.persist(job);
      return;
    }
    // Shutting down: the job stays queued in the store and runs after the next start.
    if (this.closing) return;
    markStarted(job);
    this.live.set(job.id, job);
    this.running.set(job.id, worker);
    await this.persist(job);
    const outcome = await worker.run(task, progressWriter(job, this.progressIntervalMs, (j) => this.persist(j)));
    if (this.deleted.has(job.id)) return;
    if (!outcome.ok && outcome.error?.code === 'VOXSHIFT_E_INTERRUPTED' && this.closing) {
      // Stopped by close(), not by a fault: queued again for the next start, the attempt not counted.
      job.state = 'queued';
      job.progress = 0;
      job.attempts -= 1;
      await this.persist(job);
      return;
    }
    if (outcome.ok) {
      await markSucceeded(job, outcome, this.store);
    } else if (outcome.error?.code === 'VOXSHIFT_E_INTERRUPTED' && job.attempts < this.maxAttempts) {
      job.state = 'queued';
      job.progress = 0;
      job.warnings = [...job.warnings, { code: 'RESTARTED', message: `the worker stopped while this job ran (attempt ${job.attempts}); it was queued again` }];
      await this.persist(job);
      this.queue.restore(job.id);
      return;
    } else {
      if (outcome.internal) this.log(`job ${job.id} failed: ${outcome.internal}`);
      markFinished(job, 'failed', { error: outcome.error as Job['error'] });
    }
    await this.persist(job);
  }
}
