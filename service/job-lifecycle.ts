/**
 * What every job runner does to a job record, in one place: the embedded JobManager and the Redis
 * QueueWorker both mark a job started, throttle its progress writes, and record how it ended.
 */
import { stat } from 'node:fs/promises';
import type { JobStore } from './job-store.ts';
import type { ProgressDetail } from './schemas.ts';
import type { Job } from './schemas.ts';
import type { TaskOutcome } from './worker-process.ts';

export const TERMINAL_STATES: ReadonlySet<string> = new Set(['succeeded', 'failed', 'cancelled']);

/** Sets a job running: start time, time spent queued, one more attempt, progress 0. */
export function markStarted(job: Job): void {
  const now = new Date();
  job.state = 'running';
  job.startedAt = now.toISOString();
  job.timings.queuedMs = now.getTime() - Date.parse(job.createdAt);
  job.attempts += 1;
  job.progress = 0;
}

/** Ends a job: state, finish time, run time, and the fields in `extra`. */
export function markFinished(job: Job, state: 'succeeded' | 'failed', extra: Partial<Job>): void {
  const now = new Date();
  job.state = state;
  job.finishedAt = now.toISOString();
  if (job.startedAt) job.timings.runMs = now.getTime() - Date.parse(job.startedAt);
  Object.assign(job, extra);
}

/** A worker's progress callback that updates `job` and persists it at most every `intervalMs`. */
export function progressWriter(job: Job, intervalMs: number, persist: (job: Job) => Promise<void>): (p: number, detail?: ProgressDetail) => void {
  let lastWrite = 0;
  return (p, detail) => {
    job.progress = Math.max(job.progress, Math.min(1, p));
    if (detail) job.progressDetail = detail;
    const t = Date.now();
    if (t - lastWrite >= intervalMs) {
      lastWrite = t;
      void persist(job).catch(() => undefined);
    }
  };
}

/** Records a successful outcome: the result file's size and format, warnings, and any verdict. */
export async function markSucceeded(job: Job, outcome: TaskOutcome, store: JobStore): Promise<void> {
  const s = outcome.summary;
  const file = s?.result.file ?? 'result.nii.gz';
  const bytes = (await stat(store.jobFile(job.id, file)).catch(() => undefined))?.size ?? 0;
  const result: NonNullable<Job['result']> = { bytes, format: s?.result.format ?? 'nifti', ...(s ? { files: s.files } : {}), ...(s?.result.modality ? { modality: s.result.modality } : {}) };
  delete job.progressDetail;
  markFinished(job, 'succeeded', { progress: 1, warnings: [...job.warnings, ...outcome.warnings], result, ...(s?.verdict ? { verdict: s.verdict } : {}) });
}

/**
 * Writes of job records, one after another per job (a later progress write never lands before an
 * earlier one); `idle(id)` / `idleAll()` wait for what is queued.
 */
export class JobWrites {
  private readonly chains = new Map<string, Promise<void>>();

  /** Queues `write` after the job's earlier writes; resolves (or rejects) with it. */
  enqueue(id: string, write: () => Promise<void>): Promise<void> {
    const next = (this.chains.get(id) ?? Promise.resolve()).then(write);
    const tracked = next.finally(() => {
      if (this.chains.get(id) === tracked) this.chains.delete(id);
    });
    // A failed write is reported to its caller; the chain itself goes on.
    tracked.catch(() => undefined);
    this.chains.set(id, tracked);
    return next;
  }

  async idle(id: string): Promise<void> {
    await this.chains.get(id)?.catch(() => undefined);
  }

  async idleAll(): Promise<void> {
    await Promise.all([...this.chains.values()].map((p) => p.catch(() => undefined)));
  }
}
