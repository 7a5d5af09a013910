/**
 * The server's side of the job worker: one forked child process (service/job-worker.ts) that runs one
 * task at a time. If the child dies mid-task the task fails with INTERRUPTED and a new child is
 * started for the next one; `cancel` kills the child (a model call cannot be stopped from outside).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { VoxshiftError } from '../volumes/errors.ts';
import type { WorkerMessage, WorkerTask } from './job-worker.ts';
import type { TaskSummary } from './run-task.ts';
import type { ProgressDetail } from './schemas.ts';

export interface TaskOutcome {
  ok: boolean;
  warnings: { code: string; message: string }[];
  /** What the task wrote (present when ok). */
  summary?: TaskSummary;
  error?: Record<string, unknown>;
  /** The internal message of a non-VoxshiftError failure (logged, never sent to clients). */
  internal?: string;
}

interface Pending {
  task: WorkerTask;
  onProgress: (p: number, detail?: ProgressDetail) => void;
  resolve: (o: TaskOutcome) => void;
}

export type WorkerState = 'starting' | 'idle' | 'busy' | 'down';

export class WorkerProcess {
  private child: ChildProcess | undefined;
  private pending: Pending | undefined;
  private ready = false;
  private closed = false;
  private readonly entry: string;
  private readonly execArgv: string[];

  constructor(private readonly log: (msg: string) => void = () => undefined) {
    const url = new URL(`./job-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);
    this.entry = fileURLToPath(url);
    // Running from the TypeScript sources (tests, tsx): the child needs the same loader.
    this.execArgv = import.meta.url.endsWith('.ts') ? ['--import', 'tsx'] : [];
  }

  get state(): WorkerState {
    if (this.closed || !this.child) return 'down';
    if (!this.ready) return 'starting';
    return this.pending ? 'busy' : 'idle';
  }

  start(): void {
    if (this.child || this.closed) return;
    const child = fork(this.entry, [], { execArgv: this.execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child = child;
    this.ready = false;
    child.on('message', (m: WorkerMessage) => this.onMessage(m));
    child.on('exit', (code, signal) => {
      if (this.child === child) this.child = undefined;
      this.ready = false;
      const p = this.pending;
      this.pending = undefined;
      if (p) {
        this.log(`job worker exited (${signal ?? code}) while running job ${p.task.jobId}`);
        p.resolve({
          ok: false,
          warnings: [],
          error: new VoxshiftError('INTERRUPTED', 'the job worker stopped while running this job', { details: { exit: signal ?? code } }).toJSON(),
        });
      }
      if (!this.closed) this.start();
    });
  }

  private onMessage(m: WorkerMessage): void {
    if (m.type === 'ready') {
      this.ready = true;
      return;
    }
    const p = this.pending;
    if (!p || p.task.jobId !== m.jobId) return;
    if (m.type === 'progress') p.onProgress(m.progress, m.detail);
    else {
      this.pending = undefined;
      if (m.type === 'done') p.resolve({ ok: true, warnings: m.warnings, ...(m.summary ? { summary: m.summary } : {}) });
      else p.resolve({ ok: false, warnings: [], error: m.error, ...(m.internal !== undefined ? { internal: m.internal } : {}) });
    }
  }

  run(task: WorkerTask, onProgress: (p: number, detail?: ProgressDetail) => void): Promise<TaskOutcome> {
    if (this.pending) throw new Error('worker busy');
    if (this.closed) {
      // Closed between the job being taken and started: no child will ever answer.
      return Promise.resolve({ ok: false, warnings: [], error: new VoxshiftError('INTERRUPTED', 'the service is shutting down').toJSON() });
    }
    this.start();
    return new Promise((resolve) => {
      this.pending = { task, onProgress, resolve };
      this.child?.send({ type: 'run', task });
    });
  }

  /** Stops the running task `jobId` by killing the child (a new one starts). */
  cancel(jobId: string): boolean {
    if (this.pending?.task.jobId !== jobId || !this.child) return false;
    this.child.kill('SIGKILL');
    return true;
  }

  async close(): Promise<void> {
    this.closed = true;
    const child = this.child;
    if (!child) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }
}
