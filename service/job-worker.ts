/**
 * The child process that runs jobs (started by WorkerProcess with `fork`): models run here, off the
 * server's event loop. One job at a time (service/run-task.ts runs each kind; loaded translators are
 * kept there for the next job with the same model). Messages: in `{ type: 'run', task }`; out
 * `progress` (with the kind's stage and counts), `done` (with the task's summary) or `failed` (a
 * VoxshiftError's JSON; anything else becomes INTERNAL with its message kept for the server log
 * only). The process exits when its parent goes away (IPC disconnect), so a killed server leaves no
 * orphan worker.
 */
import { isVoxshiftError } from '../volumes/errors.ts';
import { runTask, type TaskSummary, type WorkerTask } from './run-task.ts';
import type { ProgressDetail } from './schemas.ts';

export type { WorkerTask } from './run-task.ts';

export type WorkerMessage =
  | { type: 'ready' }
  | { type: 'progress'; jobId: string; progress: number; detail?: ProgressDetail }
  | { type: 'done'; jobId: string; warnings: { code: string; message: string }[]; summary?: TaskSummary }
  | { type: 'failed'; jobId: string; error: Record<string, unknown>; internal?: string };

function send(m: WorkerMessage): void {
  process.send?.(m);
}

async function run(task: WorkerTask): Promise<void> {
  let last = 0;
  let lastStage = '';
  const report = (p: number, detail: ProgressDetail): void => {
    const now = Date.now();
    // Stage changes always go out; counts within a stage at most every 100 ms.
    if (p < 1 && detail.stage === lastStage && now - last < 100) return;
    last = now;
    lastStage = detail.stage;
    send({ type: 'progress', jobId: task.jobId, progress: p, detail });
  };
  try {
    const out = await runTask(task, report);
    send({ type: 'done', jobId: task.jobId, warnings: out.warnings, summary: out.summary });
  } catch (e) {
    if (isVoxshiftError(e)) send({ type: 'failed', jobId: task.jobId, error: e.toJSON() });
    else send({ type: 'failed', jobId: task.jobId, error: { code: 'VOXSHIFT_E_INTERNAL', message: 'internal error while running the job' }, internal: e instanceof Error ? (e.stack ?? e.message) : String(e) });
  }
}

process.on('disconnect', () => process.exit(0));
process.on('message', (m: { type: string; task?: WorkerTask }) => {
  if (m.type === 'run' && m.task) void run(m.task);
});
send({ type: 'ready' });
