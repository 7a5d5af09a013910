/**
 * `voxshift serve`: the HTTP service (service/app.ts) on HOST:PORT with its data in --data. API keys
 * come from --api-key KEY[:read] (repeatable) or VOXSHIFT_API_KEYS (comma-separated, same syntax).
 * Prints the listening URL on stdout, then serves until SIGINT/SIGTERM. With --redis URL jobs go to a
 * BullMQ queue there and run in `voxshift worker` processes (on this or other machines sharing --data).
 */
import type { Command } from 'commander';
import type { ApiKey } from '../../service/auth.ts';
import { BullmqQueue } from '../../service/queues/bullmq-queue.ts';
import { closeOnSignals, startServer } from '../../service/server.ts';
import { VoxshiftError } from '../../volumes/errors.ts';
import type { RegisterCommand } from './index.ts';

interface ServeCliOptions {
  host: string;
  port: string;
  data: string;
  models?: string;
  shippedModels: boolean;
  apiKey: string[];
  maxUploadMb: string;
  queueSize: string;
  redis?: string;
  queueName: string;
  workers: string;
  threads?: string;
  rateLimit: string;
  log?: boolean;
}

function positiveInt(name: string, v: string, min = 1): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new VoxshiftError('INVALID_ARGUMENT', `--${name} must be an integer ≥ ${min}, got ${JSON.stringify(v)}`, { param: name });
  return n;
}

export function parseApiKeys(specs: string[]): ApiKey[] {
  return specs.map((s, i) => {
    const m = /^([^:\s]+)(?::(read|write))?$/.exec(s.trim());
    if (!m) throw new VoxshiftError('INVALID_ARGUMENT', `API key ${i + 1} must be KEY or KEY:read or KEY:write, got something else`, { param: 'api-key' });
    return { key: m[1], scope: (m[2] ?? 'write') as ApiKey['scope'], name: `key${i + 1}` };
  });
}

export const registerServe: RegisterCommand = (program: Command) => {
  program
    .command('serve')
    .description('run the HTTP API (jobs: translate; OpenAPI at /openapi.json)')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <n>', 'port (0: any free port)', '8080')
    .option('--data <dir>', 'folder for uploads, job records and results', 'voxshift-data')
    .option('--models <dir>', 'folder of model folders (checkpoints) offered besides the shipped ones')
    .option('--no-shipped-models', 'do not offer the models shipped in models/')
    .option('--api-key <key[:read]>', 'a bearer API key (repeatable; :read makes it read-only)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--max-upload-mb <n>', 'largest upload in MiB', '1024')
    .option('--queue-size <n>', 'most jobs waiting before POST /v1/jobs answers 503', '100')
    .option('--redis <url>', 'queue jobs in Redis (BullMQ) for `voxshift worker` processes instead of running them here (--workers is then ignored)')
    .option('--queue-name <name>', 'BullMQ queue name with --redis (the same for its workers)', 'voxshift-jobs')
    .option('--workers <n>', 'worker processes (jobs run at once)', '1')
    .option('--threads <n>', 'onnxruntime threads per worker (default: cores)')
    .option('--rate-limit <n>', 'requests a minute per API key (or per address without keys)', '600')
    .option('--log', 'log requests (JSON lines on stdout)')
    .action(async (o: ServeCliOptions) => {
      const envKeys = (process.env.VOXSHIFT_API_KEYS ?? '').split(',').filter((s) => s.trim() !== '');
      const { app, url } = await startServer({
        host: o.host,
        port: positiveInt('port', o.port, 0),
        dataDir: o.data,
        ...(o.models ? { modelsDir: o.models } : {}),
        shippedModels: o.shippedModels,
        apiKeys: parseApiKeys([...o.apiKey, ...envKeys]),
        maxUploadBytes: positiveInt('max-upload-mb', o.maxUploadMb) * 2 ** 20,
        queueSize: positiveInt('queue-size', o.queueSize),
        ...(o.redis ? { queue: new BullmqQueue({ url: o.redis, name: o.queueName, capacity: positiveInt('queue-size', o.queueSize), log: (m) => void process.stderr.write(`voxshift serve: ${m}\n`) }) } : {}),
        workers: positiveInt('workers', o.workers),
        ...(o.threads !== undefined ? { threads: positiveInt('threads', o.threads) } : {}),
        rateLimitPerMinute: positiveInt('rate-limit', o.rateLimit),
        logger: o.log ?? false,
      });
      process.stdout.write(`voxshift serve: listening on ${url} (data in ${o.data})\n`);
      await closeOnSignals(app);
    });
};
