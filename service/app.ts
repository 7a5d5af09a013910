/**
 * `buildApp(opts)`: the voxshift HTTP service as a Fastify instance (server.ts only listens).
 *
 *   POST   /v1/uploads          multipart `file` → 201 upload (reusable by id)
 *   POST   /v1/jobs             JSON { kind, model, upload, params } or multipart (file + fields) → 202 job
 *   GET    /v1/jobs             jobs, oldest first
 *   GET    /v1/jobs/:id         state, progress 0–1, timings, warnings, error
 *   GET    /v1/jobs/:id/result  the result (NIfTI, .nii.gz)
 *   DELETE /v1/jobs/:id         cancels and removes → 204
 *   GET    /v1/models           models with their manifests
 *   GET    /health, /ready, /openapi.json, /docs
 *
 * Every error is `{ code, message, param?, details? }` with the VoxshiftError's status; a 5xx never
 * carries an internal message. Jobs are durable (JobStore + JobManager.recover).
 */
import multipart from '@fastify/multipart';
import swagger from '@fastify/swagger';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { createReadStream } from 'node:fs';
import { DEFAULT_ZIP_LIMITS, type ZipLimits } from '../volumes/dicom/dicom-sources.ts';
import { VoxshiftError } from '../volumes/errors.ts';
import { VERSION } from '../cli/version.ts';
import { Authenticator, RateLimiter, type ApiKey, type KeyScope } from './auth.ts';
import { JobStore } from './job-store.ts';
import { JobManager } from './jobs.ts';
import { ModelRegistry } from './models.ts';
import { EmbeddedQueue, type JobQueue } from './queue.ts';
import {
  CreateJobBody,
  ErrorBody,
  Health,
  Job,
  JobIdParams,
  JobList,
  ListJobsQuery,
  ModelList,
  Ready,
  ResultQuery,
  SERVED_KINDS,
  UploadInfo,
} from './schemas.ts';
import { receiveMultipart } from './uploads.ts';

export interface ServiceOptions {
  /** Folder for uploads, job records and results (created). */
  dataDir: string;
  /** Extra checkpoint folders, one model per sub-folder. */
  modelsDir?: string;
  /** Offer the models shipped in models/ (default true). */
  shippedModels?: boolean;
  /** Bearer keys; none (default) leaves the API open. */
  apiKeys?: ApiKey[];
  /** Largest upload in bytes (default 1 GiB). */
  maxUploadBytes?: number;
  /** Most jobs waiting (default 100); beyond it POST /v1/jobs answers 503 with Retry-After. */
  queueSize?: number;
  /** A queue backend (default: an EmbeddedQueue of queueSize). */
  queue?: JobQueue;
  /** Worker processes (default 1). */
  workers?: number;
  /** onnxruntime threads per worker (default: cores). */
  threads?: number;
  /** Requests a minute per key (or per address without keys); default 600. */
  rateLimitPerMinute?: number;
  zipLimits?: ZipLimits;
  /** Times a job is started before an interruption fails it (default 2). */
  maxAttempts?: number;
  logger?: boolean;
}

const errorResponses = { '4xx': ErrorBody, '5xx': ErrorBody };

function errorReply(reply: FastifyReply, e: VoxshiftError): FastifyReply {
  const retry = e.details?.retryAfterS;
  if (typeof retry === 'number') void reply.header('retry-after', String(retry));
  if (e.shortCode === 'UNAUTHORIZED') void reply.header('www-authenticate', 'Bearer');
  // Internal messages stay in the log: a 5xx says only what kind of failure it was.
  const body = e.status >= 500 ? { code: e.code, message: e.shortCode === 'QUEUE_FULL' ? e.message : 'internal error', ...(e.details && e.shortCode === 'QUEUE_FULL' ? { details: e.details } : {}) } : e.toJSON();
  return reply.code(e.status).type('application/json').send(body);
}

function asVoxshiftError(err: FastifyError): VoxshiftError {
  if (err instanceof VoxshiftError) return err;
  if (err.validation) {
    const first = err.validation[0];
    const param = first?.instancePath ? first.instancePath.replace(/^\//, '').replace(/\//g, '.') : ((first?.params as { missingProperty?: string } | undefined)?.missingProperty ?? err.validationContext ?? 'body');
    return new VoxshiftError('INVALID_ARGUMENT', err.message, { param, details: { errors: err.validation.map((v) => ({ path: v.instancePath, message: v.message ?? '' })) } });
  }
  const status = err.statusCode ?? 500;
  if (status === 413) return new VoxshiftError('SIZE_LIMIT', err.message, { param: 'body' });
  if (status === 415) return new VoxshiftError('UNSUPPORTED_FORMAT', `${err.message}; send application/json or multipart/form-data`, { param: 'content-type' });
  if (status >= 400 && status < 500) return new VoxshiftError('INVALID_ARGUMENT', err.message, { param: 'body' });
  return new VoxshiftError('INTERNAL', 'internal error', { cause: err });
}

const docsPage = (doc: { paths?: Record<string, Record<string, { summary?: string }>> }): string => {
  const rows = Object.entries(doc.paths ?? {})
    .flatMap(([path, ops]) => Object.entries(ops).map(([m, op]) => `<tr><td><code>${m.toUpperCase()}</code></td><td><code>${path}</code></td><td>${op.summary ?? ''}</td></tr>`))
    .join('\n');
  return `<!doctype html><meta charset="utf-8"><title>voxshift API</title>
<style>body{font:14px system-ui;margin:2em}td{padding:4px 12px;border-bottom:1px solid #ddd}</style>
<h1>voxshift API ${VERSION}</h1><p>The full schema: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3).</p><table>${rows}</table>`;
};

export async function buildApp(opts: ServiceOptions): Promise<FastifyInstance> {
  const maxUploadBytes = opts.maxUploadBytes ?? 2 ** 30;
  const app = Fastify({ logger: opts.logger ?? false, bodyLimit: 1024 * 1024 });
  const store = new JobStore(opts.dataDir);
  await store.init();
  const queue = opts.queue ?? new EmbeddedQueue({ capacity: opts.queueSize ?? 100 });
  const models = new ModelRegistry(opts.modelsDir, opts.shippedModels ?? true);
  const jobs = new JobManager(store, queue, models, {
    ...(opts.workers !== undefined ? { workers: opts.workers } : {}),
    ...(opts.threads !== undefined ? { threads: opts.threads } : {}),
    ...(opts.maxAttempts !== undefined ? { maxAttempts: opts.maxAttempts } : {}),
    log: (m) => app.log.warn(m),
  });
  const auth = new Authenticator(opts.apiKeys ?? []);
  const limiter = new RateLimiter(opts.rateLimitPerMinute ?? 600);
  const uploadLimits = { maxBytes: maxUploadBytes, zip: opts.zipLimits ?? DEFAULT_ZIP_LIMITS };

  await app.register(swagger, {
    openapi: {
      info: { title: 'voxshift', version: VERSION, description: 'MR→CT synthesis and other voxshift jobs over HTTP' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  await app.register(multipart, { limits: { fileSize: maxUploadBytes, files: 1 } });

  app.setErrorHandler((err: FastifyError, request, reply) => {
    const e = asVoxshiftError(err);
    if (e.status >= 500 && e.shortCode !== 'QUEUE_FULL') request.log.error({ err }, 'request failed');
    return errorReply(reply, e);
  });
  app.setNotFoundHandler((request, reply) =>
    errorReply(reply, new VoxshiftError('NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`, { param: 'url' })),
  );

  // Authentication and the rate limit for everything under /v1.
  app.addHook('onRequest', async (request) => {
    if (!request.url.startsWith('/v1/')) return;
    const needs: KeyScope = request.method === 'GET' || request.method === 'HEAD' ? 'read' : 'write';
    const who = auth.check(request.headers.authorization, needs);
    limiter.take(who ? `key:${who.name}` : `ip:${request.ip}`);
  });

  const requireJob = async (id: string): Promise<Job> => {
    const job = await jobs.get(id);
    if (!job) throw new VoxshiftError('NOT_FOUND', `no job ${id}`, { param: 'id' });
    return job;
  };

  app.post(
    '/v1/uploads',
    {
      schema: { summary: 'Upload a volume (multipart `file`) for later jobs', consumes: ['multipart/form-data'], response: { 201: UploadInfo, ...errorResponses } },
    },
    async (request, reply) => {
      if (!request.isMultipart()) throw new VoxshiftError('UNSUPPORTED_FORMAT', 'expected a multipart/form-data body with a "file" part', { param: 'content-type' });
      const { upload } = await receiveMultipart(request, store, uploadLimits);
      if (!upload) throw new VoxshiftError('INVALID_ARGUMENT', 'no "file" part in the multipart body', { param: 'file' });
      return reply.code(201).send(upload);
    },
  );

  app.post(
    '/v1/jobs',
    {
      schema: { summary: 'Create a job', consumes: ['application/json', 'multipart/form-data'], body: CreateJobBody, response: { 202: Job, ...errorResponses } },
      // A multipart body becomes the same JSON body (its file stored as an upload) before validation.
      preValidation: async (request: FastifyRequest) => {
        if (!request.isMultipart()) return;
        const { fields, upload } = await receiveMultipart(request, store, uploadLimits);
        const body: Record<string, unknown> = { ...fields };
        if (typeof fields.params === 'string') {
          try {
            body.params = JSON.parse(fields.params) as unknown;
          } catch {
            throw new VoxshiftError('INVALID_ARGUMENT', `params must be a JSON object, got ${JSON.stringify(fields.params.slice(0, 100))}`, { param: 'params' });
          }
        }
        if (upload) {
          if (fields.upload !== undefined) throw new VoxshiftError('INVALID_ARGUMENT', 'send either a file or an upload id, not both', { param: 'upload' });
          body.upload = upload.id;
        }
        request.body = body;
      },
    },
    async (request, reply) => {
      const body = request.body as CreateJobBody;
      if (!SERVED_KINDS.includes(body.kind)) {
        throw new VoxshiftError('INVALID_ARGUMENT', `kind ${body.kind} is not served yet; accepted: ${SERVED_KINDS.join(', ')}`, { param: 'kind', details: { accepted: SERVED_KINDS } });
      }
      if (body.upload === undefined) throw new VoxshiftError('INVALID_ARGUMENT', 'no input: send a multipart "file" or the id of an earlier upload as "upload"', { param: 'upload' });
      const upload = await store.getUpload(body.upload);
      if (!upload) throw new VoxshiftError('NOT_FOUND', `no upload ${body.upload}`, { param: 'upload' });
      await models.resolve(body.model);
      const job = await jobs.create(body, upload);
      return reply.code(202).header('location', `/v1/jobs/${job.id}`).send(job);
    },
  );

  app.get('/v1/jobs', { schema: { summary: 'List jobs', querystring: ListJobsQuery, response: { 200: JobList, ...errorResponses } } }, async (request) => {
    const q = request.query as { state?: Job['state']; limit?: number };
    let list = await jobs.list();
    if (q.state) list = list.filter((j) => j.state === q.state);
    return { jobs: list.slice(-(q.limit ?? 100)) };
  });

  app.get('/v1/jobs/:id', { schema: { summary: 'A job: state, progress, timings, warnings, error', params: JobIdParams, response: { 200: Job, ...errorResponses } } }, async (request) =>
    requireJob((request.params as { id: string }).id),
  );

  app.get(
    '/v1/jobs/:id/result',
    {
      schema: {
        summary: 'The result of a finished job (NIfTI .nii.gz)',
        params: JobIdParams,
        querystring: ResultQuery,
        produces: ['application/gzip'],
        response: { 200: { description: 'the result volume, NIfTI-1 gzipped', type: 'string', format: 'binary' }, ...errorResponses },
      },
    },
    async (request, reply) => {
      const job = await requireJob((request.params as { id: string }).id);
      const accept = request.headers.accept;
      if (accept && !/(\*\/\*|application\/\*|application\/gzip|application\/octet-stream|application\/x-nifti)/.test(accept)) {
        throw new VoxshiftError('INVALID_ARGUMENT', `cannot produce ${accept}; results are NIfTI (application/gzip)`, { param: 'accept', details: { accepted: ['application/gzip'] } });
      }
      if (job.state !== 'succeeded') {
        throw new VoxshiftError('JOB_NOT_FINISHED', `job ${job.id} is ${job.state}; a result exists once it has succeeded`, { param: 'id', details: { state: job.state } });
      }
      return reply
        .type('application/gzip')
        .header('content-disposition', `attachment; filename="${job.id}.nii.gz"`)
        .send(createReadStream(store.resultFile(job.id)));
    },
  );

  app.delete('/v1/jobs/:id', { schema: { summary: 'Cancel and remove a job', params: JobIdParams, response: { 204: { type: 'null', description: 'removed' }, ...errorResponses } } }, async (request, reply) => {
    const id = (request.params as { id: string }).id;
    if (!(await jobs.delete(id))) throw new VoxshiftError('NOT_FOUND', `no job ${id}`, { param: 'id' });
    return reply.code(204).send();
  });

  app.get('/v1/models', { schema: { summary: 'Models available, with their manifests', response: { 200: ModelList, ...errorResponses } } }, async () => ({ models: await models.list() }));

  app.get('/health', { schema: { summary: 'Liveness', security: [], response: { 200: Health } } }, async () => ({ status: 'ok' as const }));
  app.get('/ready', { schema: { summary: 'Readiness: the queue and the worker', security: [], response: { 200: Ready, 503: Ready } } }, async (_request, reply) => {
    const worker = jobs.workerState();
    const body = { ready: worker === 'idle' || worker === 'busy', queue: { waiting: queue.waiting(), running: queue.running(), capacity: queue.capacity }, worker };
    return reply.code(body.ready ? 200 : 503).send(body);
  });

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  app.get('/docs', { schema: { hide: true } }, async (_request, reply) => reply.type('text/html').send(docsPage(app.swagger() as Parameters<typeof docsPage>[0])));

  app.addHook('onReady', async () => jobs.start());
  app.addHook('onClose', async () => jobs.close());
  return app;
}
