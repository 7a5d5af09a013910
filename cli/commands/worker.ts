/**
 * `voxshift worker --redis URL --data DIR [--concurrency N]`: runs jobs from a `voxshift serve --redis
 * URL` queue on this machine (service/queues/queue-worker.ts). DIR must be the server's data folder on
 * shared storage (the records, inputs and results are there). Prints one line per job event on stdout
 * and runs until SIGINT/SIGTERM, then lets the running jobs finish (a second signal stops at once;
 * BullMQ's stalled-job check hands those jobs to another worker).
 */
import type { Command } from 'commander';
import { BullmqQueue } from '../../service/queues/bullmq-queue.ts';
import { QueueWorker } from '../../service/queues/queue-worker.ts';
import { VoxshiftError } from '../../volumes/errors.ts';
import type { RegisterCommand } from './index.ts';

interface WorkerCliOptions {
  redis: string;
  data: string;
  queueName: string;
  concurrency: string;
  threads?: string;
  models?: string;
  shippedModels: boolean;
  maxAttempts: string;
  lockDuration: string;
  stalledInterval: string;
}

function intOption(name: string, v: string, min: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new VoxshiftError('INVALID_ARGUMENT', `--${name} must be an integer ≥ ${min}, got ${JSON.stringify(v)}`, { param: name });
  return n;
}

export const registerWorker: RegisterCommand = (program: Command) => {
  program
    .command('worker')
    .description('run jobs from a Redis queue (voxshift serve --redis URL) on this machine')
    .requiredOption('--redis <url>', 'the Redis of the queue (redis://host:port[/db])')
    .option('--data <dir>', "the server's data folder, on storage shared with it", 'voxshift-data')
    .option('--queue-name <name>', 'BullMQ queue name (the same as the server)', 'voxshift-jobs')
    .option('--concurrency <n>', 'jobs run at once (one child process each)', '1')
    .option('--threads <n>', 'onnxruntime threads per job (default: cores)')
    .option('--models <dir>', 'folder of model folders besides the shipped ones (as given to serve)')
    .option('--no-shipped-models', 'do not offer the models shipped in models/')
    .option('--max-attempts <n>', 'times a job is started before a vanished worker fails it', '2')
    .option('--lock-duration <ms>', 'how long a job stays locked without a renewal from its worker', '30000')
    .option('--stalled-interval <ms>', 'how often to look for jobs whose worker vanished', '30000')
    .action(async (o: WorkerCliOptions) => {
      const say = (m: string): void => void process.stdout.write(`voxshift worker: ${m}\n`);
      const concurrency = intOption('concurrency', o.concurrency, 1);
      const queue = new BullmqQueue({
        url: o.redis,
        name: o.queueName,
        capacity: 1,
        maxAttempts: intOption('max-attempts', o.maxAttempts, 1),
        lockDurationMs: intOption('lock-duration', o.lockDuration, 100),
        stalledIntervalMs: intOption('stalled-interval', o.stalledInterval, 100),
        log: say,
      });
      const worker = new QueueWorker({
        dataDir: o.data,
        queue,
        concurrency,
        ...(o.threads !== undefined ? { threads: intOption('threads', o.threads, 1) } : {}),
        ...(o.models ? { modelsDir: o.models } : {}),
        shippedModels: o.shippedModels,
        log: say,
      });
      await worker.start();
      say(`consuming ${o.queueName} on ${o.redis.replace(/\/\/[^@/]*@/, '//***@')} (data in ${o.data}, concurrency ${concurrency})`);
      await new Promise<void>((resolve) => {
        let stopping = false;
        const stop = (): void => {
          if (stopping) process.exit(130);
          stopping = true;
          say('stopping: running jobs finish first (signal again to stop now)');
          void worker.close().then(resolve, resolve);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });
};
