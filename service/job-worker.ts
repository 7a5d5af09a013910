/**
 * The child process that runs jobs (started by WorkerProcess with `fork`): models run here, off the
 * server's event loop. One job at a time; loaded translators are kept for the next job with the same
 * model. Messages: in `{ type: 'run', task }`; out `progress`, `done` or `failed` (a VoxshiftError's
 * JSON; anything else becomes INTERNAL with its message kept for the server log only). The process
 * exits when its parent goes away (IPC disconnect), so a killed server leaves no orphan worker.
 */
import { rename } from 'node:fs/promises';
import { chooseRuntime, loadTranslator, translate, type Direction, type Runtime, type Translator } from '../models3d/inference/translate.ts';
import { initBackend } from '../models3d/engine/backend.ts';
import { isVoxshiftError } from '../volumes/errors.ts';
import { readVolume, writeVolume } from '../volumes/io.ts';

export interface WorkerTask {
  jobId: string;
  kind: 'translate';
  input: string;
  output: string;
  modelDir: string;
  params: { direction?: Direction; runtime?: Runtime | 'auto'; allowModalityMismatch?: boolean; overlap?: number };
  threads?: number;
}

export type WorkerMessage =
  | { type: 'ready' }
  | { type: 'progress'; jobId: string; progress: number }
  | { type: 'done'; jobId: string; warnings: { code: string; message: string }[] }
  | { type: 'failed'; jobId: string; error: Record<string, unknown>; internal?: string };

const translators = new Map<string, Translator>();

function send(m: WorkerMessage): void {
  process.send?.(m);
}

async function translator(task: WorkerTask): Promise<Translator> {
  const direction = task.params.direction ?? 'AtoB';
  const runtime = task.params.runtime ?? 'auto';
  const key = `${task.modelDir}\0${direction}\0${runtime}`;
  const cached = translators.get(key);
  if (cached) return cached;
  if ((await chooseRuntime(task.modelDir, direction, runtime)) === 'tfjs') await initBackend('auto');
  const t = await loadTranslator(task.modelDir, direction, { runtime, ...(task.threads !== undefined ? { threads: task.threads } : {}) });
  // A few models at most are kept; the oldest goes first.
  if (translators.size >= 4) {
    const [oldKey, old] = translators.entries().next().value as [string, Translator];
    old.dispose();
    translators.delete(oldKey);
  }
  translators.set(key, t);
  return t;
}

async function run(task: WorkerTask): Promise<void> {
  let last = 0;
  const report = (p: number): void => {
    const now = Date.now();
    if (p < 1 && now - last < 100) return;
    last = now;
    send({ type: 'progress', jobId: task.jobId, progress: p });
  };
  try {
    const vol = await readVolume(task.input);
    report(0.05);
    const t = await translator(task);
    report(0.1);
    const out = await translate(vol, t, {
      ...(task.params.allowModalityMismatch ? { allowModalityMismatch: true } : {}),
      ...(task.params.overlap !== undefined ? { overlap: task.params.overlap } : {}),
      onProgress: (d, n) => report(0.1 + 0.85 * (n > 0 ? d / n : 1)),
    });
    const tmp = task.output.replace(/\.nii\.gz$/, '.partial.nii.gz');
    await writeVolume(out, tmp, { overwrite: true });
    await rename(tmp, task.output);
    send({ type: 'done', jobId: task.jobId, warnings: [...vol.meta.warnings, ...out.meta.warnings].map((w) => ({ code: w.code, message: w.message })) });
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
