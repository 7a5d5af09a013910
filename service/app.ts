/**
 * `buildApp(opts)`: the voxshift HTTP service as a Fastify instance (server.ts only listens).
 *
 *   POST   /v1/uploads          multipart `file` → 201 upload (reusable by id)
 *   POST   /v1/jobs             JSON { kind, model, upload, inputs, params } or multipart (files + fields) → 202 job
 *                                kinds: translate, harmonize, augment, validate (service/job-kinds.ts)
 *   GET    /v1/jobs             jobs, oldest first
 *   GET    /v1/jobs/:id         state, progress 0–1 (+ progressDetail), timings, warnings, error, verdict
 *   GET    /v1/jobs/:id/result  the result by ?format= or Accept: NIfTI, DICOM zip, augment zip, report JSON/HTML (results.ts)
 *   GET    /v1/jobs/:id/volumes/:name  source, result, difference, findings as NIfTI (the viewer's)
 *   DELETE /v1/jobs/:id         cancels and removes → 204
 *   GET    /v1/models           models (translation checkpoints, harmonizers) with their manifests
 *   GET    /health, /ready, /openapi.json, /docs
 *   GET    /, /jobs/:id         the viewer (viewer.ts)
 *
 * Every error is `{ code, message, param?, details? }` with the VoxshiftError's status; a 5xx never
 * carries an internal message. Jobs are durable (JobStore + JobManager.recover).
 */
import multipart from '@fastify/multipart';
import swagger from '@fastify/swagger';
import { createReadStream } from 'node:fs';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { DEFAULT_ZIP_LIMITS, type ZipLimits } from '../volumes/dicom/dicom-sources.ts';
import { VoxshiftError } from '../volumes/errors.ts';
import { VERSION } from '../cli/version.ts';
import { Authenticator, RateLimiter, type ApiKey, type KeyScope } from './auth.ts';
import { collectGarbage } from './gc.ts';
import { jobInputPath, prepareJob, type KindContext } from './job-kinds.ts';
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
  VolumeParams,
  AugmentParams,
  HarmonizeParams,
  TranslateParams,
  ValidateParams,
  INPUT_ROLES,
  type ResultQueryFormat,
  type VolumeName,
} from './schemas.ts';
import { chooseFormat, resultFormats, sendResult, volumeFile } from './results.ts';
import { receiveMultipart } from './uploads.ts';
import { registerViewer } from './viewer.ts';

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
  /** Uploads no job references are deleted this long after they were made (default 24 h). */
  uploadTtlMs?: number;
  /** Finished jobs are removed with their files this long after they finished (default 7 days). */
  jobRetentionMs?: number;
  /** How often garbage collection runs (default 10 min; 0: only at start). See gc.ts. */
  gcIntervalMs?: number;
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
  const kinds: KindContext = { store, models, getJob: (id) => jobs.get(id) };
  // Uploads a request holds against garbage collection until its response is sent.
  const held = new WeakMap<FastifyRequest, string[]>();
  const holdFor = (request: FastifyRequest, ids: string[], alreadyHeld = false): void => {
    if (!alreadyHeld) for (const id of ids) store.hold(id);
    held.set(request, [...(held.get(request) ?? []), ...ids]);
  };
  app.addHook('onResponse', async (request) => {
    for (const id of held.get(request) ?? []) store.release(id);
  });

  await app.register(swagger, {
    openapi: {
      info: { title: 'voxshift', version: VERSION, description: 'MR→CT synthesis and other voxshift jobs over HTTP' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    // Components are named by their $id (TranslateParams, Job, ...) instead of def-0, def-1...
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  });
  await app.register(multipart, { limits: { fileSize: maxUploadBytes, files: 1 } });
  // The per-kind params schemas, referenced from CreateJobBody's description.
  for (const schema of [TranslateParams, HarmonizeParams, AugmentParams, ValidateParams]) app.addSchema(schema);

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
      if (upload) holdFor(request, [upload.id], true);
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
        const { fields, upload, uploads } = await receiveMultipart(request, store, uploadLimits, ['file', ...INPUT_ROLES]);
        holdFor(request, Object.values(uploads).map((u) => u.id), true);
        const body: Record<string, unknown> = { ...fields };
        for (const name of ['params', 'inputs'] as const) {
          if (typeof fields[name] !== 'string') continue;
          try {
            body[name] = JSON.parse(fields[name]) as unknown;
          } catch {
            throw new VoxshiftError('INVALID_ARGUMENT', `${name} must be a JSON object, got ${JSON.stringify(fields[name].slice(0, 100))}`, { param: name });
          }
        }
        if (upload) {
          if (fields.upload !== undefined) throw new VoxshiftError('INVALID_ARGUMENT', 'send either a file or an upload id, not both', { param: 'upload' });
          body.upload = upload.id;
        }
        for (const role of INPUT_ROLES) {
          const u = uploads[role];
          if (!u) continue;
          const inputs = (typeof body.inputs === 'object' && body.inputs !== null ? body.inputs : {}) as Record<string, unknown>;
          if (inputs[role] !== undefined) throw new VoxshiftError('INVALID_ARGUMENT', `send either a "${role}" file or inputs.${role}, not both`, { param: `inputs.${role}` });
          body.inputs = { ...inputs, [role]: { upload: u.id } };
        }
        request.body = body;
      },
    },
    async (request, reply) => {
      const body = request.body as CreateJobBody;
      if (!SERVED_KINDS.includes(body.kind)) {
        throw new VoxshiftError('INVALID_ARGUMENT', `kind ${body.kind} is not served yet; accepted: ${SERVED_KINDS.join(', ')}`, { param: 'kind', details: { accepted: SERVED_KINDS } });
      }
      holdFor(request, [...(body.upload !== undefined ? [body.upload] : []), ...Object.values(body.inputs ?? {}).flatMap((r) => ('upload' in r ? [r.upload] : []))]);
      const job = await jobs.create(await prepareJob(body, kinds));
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
        summary: 'The result of a finished job: NIfTI (.nii.gz, image results), a DICOM series (zip), the augment zip, or the validation report (JSON, HTML); by ?format= or Accept',
        params: JobIdParams,
        querystring: ResultQuery,
        produces: ['application/gzip', 'application/zip', 'application/json', 'text/html'],
        response: { 200: { description: 'the result in the format asked for', type: 'string', format: 'binary' }, ...errorResponses },
      },
    },
    async (request, reply) => {
      const job = await requireJob((request.params as { id: string }).id);
      const query = (request.query as { format?: ResultQueryFormat }).format;
      if (job.state !== 'succeeded') {
        throw new VoxshiftError('JOB_NOT_FINISHED', `job ${job.id} is ${job.state}; a result exists once it has succeeded`, { param: 'id', details: { state: job.state } });
      }
      const format = chooseFormat(await resultFormats(job, store), query, request.headers.accept);
      return sendResult(reply, job, store, format);
    },
  );

  app.get(
    '/v1/jobs/:id/volumes/:name',
    {
      schema: {
        summary: "One of the viewer's volumes as NIfTI: the job's source (its input), result (validate: the synthetic input), difference (result − source) or findings (flagged regions' ids)",
        params: VolumeParams,
        produces: ['application/gzip'],
        response: { 200: { description: 'NIfTI-1 (gzipped unless the upload was a plain .nii)', type: 'string', format: 'binary' }, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { id, name } = request.params as { id: string; name: VolumeName };
      const job = await requireJob(id);
      if (name !== 'source' && job.state !== 'succeeded') {
        throw new VoxshiftError('JOB_NOT_FINISHED', `job ${job.id} is ${job.state}; its ${name} volume exists once it has succeeded`, { param: 'id', details: { state: job.state } });
      }
      const synthetic = job.kind === 'validate' && job.inputs?.synthetic ? await jobInputPath(kinds, job.inputs.synthetic, 'inputs.synthetic').catch(() => undefined) : undefined;
      const file = await volumeFile(job, name, store, synthetic);
      return reply
        .type(file.endsWith('.gz') ? 'application/gzip' : 'application/octet-stream')
        .header('content-disposition', `inline; filename="${name}.nii${file.endsWith('.gz') ? '.gz' : ''}"`)
        .send(createReadStream(file));
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

  registerViewer(app);
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  app.get('/docs', { schema: { hide: true } }, async (_request, reply) => reply.type('text/html').send(docsPage(app.swagger() as Parameters<typeof docsPage>[0])));

  const gcOptions = { uploadTtlMs: opts.uploadTtlMs ?? 24 * 3600_000, jobRetentionMs: opts.jobRetentionMs ?? 7 * 24 * 3600_000 };
  const gc = (): void => {
    void collectGarbage(store, jobs, gcOptions).then(
      (r) => {
        if (r.jobs.length + r.uploads.length > 0) app.log.info({ removed: r }, 'garbage collection');
      },
      (err: unknown) => app.log.error({ err }, 'garbage collection failed'),
    );
  };
  let gcTimer: NodeJS.Timeout | undefined;
  app.addHook('onReady', async () => {
    await jobs.start();
    gc();
    const every = opts.gcIntervalMs ?? 600_000;
    if (every > 0) gcTimer = setInterval(gc, every).unref();
  });
  app.addHook('onClose', async () => {
    clearInterval(gcTimer);
    await jobs.close();
  });
  return app;
}
