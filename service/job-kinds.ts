/**
 * The server's side of the job kinds: `prepareJob` checks a create-job body for its kind (params
 * against the kind's schema, the model, the inputs) before anything is persisted, so every mistake is
 * a 4xx with a stable code; `buildTask` turns a stored job into the worker's task (run-task.ts),
 * resolving its inputs to files at run time; `jobInputPath` resolves one input reference.
 *
 * Inputs: `upload` is the main input (the image to translate, harmonize or augment; the source of a
 * validation). Other inputs go by role in `inputs` — augment: `label`; validate: `synthetic`
 * (required) and `reference` — each `{ upload }` or `{ job }` (the NIfTI result of a finished
 * translate or harmonize job). A validate job without `upload` whose synthetic is a job takes that
 * job's upload as its source.
 */
import { Value } from '@sinclair/typebox/value';
import { buildPipeline } from '../augment/export/sample.ts';
import { VoxshiftError } from '../volumes/errors.ts';
import type { JobStore } from './job-store.ts';
import type { ModelRegistry } from './models.ts';
import type { HarmonizeTask, TranslateTask, ValidateTask, WorkerTask } from './run-task.ts';
import { PARAMS_BY_KIND, type AugmentParams, type CreateJobBody, type InputRef, type Job, type JobInputs, type JobKind, type UploadInfo } from './schemas.ts';

export interface KindContext {
  store: JobStore;
  models: ModelRegistry;
  getJob: (id: string) => Promise<Job | undefined>;
}

/** A checked job, ready to persist. */
export interface NewJob {
  kind: JobKind;
  model: string;
  params: Record<string, unknown>;
  upload: UploadInfo;
  inputs?: JobInputs;
}

const ROLES_BY_KIND: Record<JobKind, readonly string[]> = { translate: [], harmonize: [], augment: ['label'], validate: ['synthetic', 'reference'] };

function checkParams(kind: JobKind, params: Record<string, unknown>): void {
  const schema = PARAMS_BY_KIND[kind];
  const first = Value.Errors(schema, params).First();
  if (!first) return;
  const path = first.path.replace(/^\//, '').replace(/\//g, '.');
  throw new VoxshiftError('INVALID_ARGUMENT', `params${path ? `.${path}` : ''} ${first.message} (got ${JSON.stringify(first.value)?.slice(0, 100) ?? 'nothing'}) for a ${kind} job`, {
    param: path ? `params.${path}` : 'params',
    details: { kind },
  });
}

/** The finished image-result job `id` named at `param`, or a 4xx. */
async function imageJob(ctx: KindContext, id: string, param: string): Promise<Job> {
  const job = await ctx.getJob(id);
  if (!job) throw new VoxshiftError('NOT_FOUND', `no job ${id}`, { param });
  if (job.kind !== 'translate' && job.kind !== 'harmonize') {
    throw new VoxshiftError('INVALID_ARGUMENT', `job ${id} is a ${job.kind} job; only translate and harmonize results are images`, { param, details: { kind: job.kind } });
  }
  if (job.state !== 'succeeded') throw new VoxshiftError('JOB_NOT_FINISHED', `job ${id} is ${job.state}; its result can be used once it has succeeded`, { param, details: { state: job.state } });
  return job;
}

async function checkRef(ctx: KindContext, ref: InputRef, param: string): Promise<void> {
  if ('upload' in ref) {
    if (!(await ctx.store.getUpload(ref.upload))) throw new VoxshiftError('NOT_FOUND', `no upload ${ref.upload}`, { param });
  } else await imageJob(ctx, ref.job, param);
}

export async function prepareJob(body: CreateJobBody, ctx: KindContext): Promise<NewJob> {
  const kind = body.kind;
  const params = body.params ?? {};
  checkParams(kind, params);
  const inputs = body.inputs ?? {};
  for (const role of Object.keys(inputs)) {
    if (!ROLES_BY_KIND[kind].includes(role)) {
      throw new VoxshiftError('INVALID_ARGUMENT', `a ${kind} job takes no input ${JSON.stringify(role)}; accepted: ${ROLES_BY_KIND[kind].join(', ') || 'none (only upload)'}`, {
        param: `inputs.${role}`,
        details: { accepted: ROLES_BY_KIND[kind] },
      });
    }
  }
  let model: string;
  if (kind === 'translate' || kind === 'harmonize') {
    if (body.model === undefined) throw new VoxshiftError('INVALID_ARGUMENT', `a ${kind} job needs a model (an id from GET /v1/models)`, { param: 'model' });
    if (kind === 'translate') await ctx.models.resolve(body.model);
    else await ctx.models.resolveHarmonizer(body.model);
    model = body.model;
  } else {
    if (body.model !== undefined) throw new VoxshiftError('INVALID_ARGUMENT', `a ${kind} job takes no model, got ${JSON.stringify(body.model)}`, { param: 'model' });
    if (kind === 'augment') {
      const p = params as AugmentParams;
      if ((p.preset === undefined) === (p.pipeline === undefined)) {
        throw new VoxshiftError('INVALID_ARGUMENT', 'an augment job needs exactly one of params.preset (ct, mr) and params.pipeline', { param: 'params.preset' });
      }
      if (p.preset !== undefined) model = `preset:${p.preset}`;
      else {
        try {
          buildPipeline({ json: p.pipeline });
        } catch (e) {
          if (e instanceof VoxshiftError) throw new VoxshiftError('INVALID_ARGUMENT', e.message, { param: `params.${e.param ?? 'pipeline'}`, ...(e.details ? { details: e.details } : {}) });
          throw e;
        }
        const n = (p.pipeline as { name?: unknown }).name;
        model = typeof n === 'string' ? n.slice(0, 200) : 'custom';
      }
    } else {
      model = 'consistency';
      if (!inputs.synthetic) throw new VoxshiftError('INVALID_ARGUMENT', 'a validate job needs inputs.synthetic ({ "upload": id } or { "job": id }) or a multipart "synthetic" file', { param: 'inputs.synthetic' });
    }
  }
  for (const [role, ref] of Object.entries(inputs) as [string, InputRef][]) await checkRef(ctx, ref, `inputs.${role}`);
  let uploadId = body.upload;
  if (uploadId === undefined && kind === 'validate' && inputs.synthetic && 'job' in inputs.synthetic) {
    uploadId = (await imageJob(ctx, inputs.synthetic.job, 'inputs.synthetic')).upload;
  }
  if (uploadId === undefined) throw new VoxshiftError('INVALID_ARGUMENT', 'no input: send a multipart "file" or the id of an earlier upload as "upload"', { param: 'upload' });
  const upload = await ctx.store.getUpload(uploadId);
  if (!upload) throw new VoxshiftError('NOT_FOUND', `no upload ${uploadId}`, { param: 'upload' });
  return { kind, model, params, upload, ...(Object.keys(inputs).length > 0 ? { inputs } : {}) };
}

/** The file of an input reference (an upload's file or a job's result), or NOT_FOUND when it is gone. */
export async function jobInputPath(ctx: KindContext, ref: InputRef, param: string): Promise<{ path: string; name: string }> {
  if ('upload' in ref) {
    const up = await ctx.store.getUpload(ref.upload);
    if (!up) throw new VoxshiftError('NOT_FOUND', `the upload ${ref.upload} (${param}) of this job is gone`, { param });
    return { path: ctx.store.uploadFile(up), name: up.name };
  }
  const job = await ctx.getJob(ref.job);
  if (!job || job.state !== 'succeeded') throw new VoxshiftError('NOT_FOUND', `the result of job ${ref.job} (${param}) is gone`, { param });
  return { path: ctx.store.resultFile(job.id), name: `${job.id}.nii.gz` };
}

/** The worker's task for `job`; NOT_FOUND when an input or the model went away since it was accepted. */
export async function buildTask(job: Job, ctx: KindContext & { threads?: number }): Promise<WorkerTask> {
  const upload = await ctx.store.getUpload(job.upload);
  if (!upload) throw new VoxshiftError('NOT_FOUND', `the upload ${job.upload} of this job is gone`, { param: 'upload' });
  const base = { jobId: job.id, outDir: ctx.store.jobDir(job.id), ...(ctx.threads !== undefined ? { threads: ctx.threads } : {}) };
  const input = ctx.store.uploadFile(upload);
  const inputs = job.inputs ?? {};
  switch (job.kind) {
    case 'translate':
      return { ...base, kind: 'translate', input, modelDir: await ctx.models.resolve(job.model), params: job.params as TranslateTask['params'] };
    case 'harmonize':
      return { ...base, kind: 'harmonize', input, modelPath: await ctx.models.resolveHarmonizer(job.model), params: job.params as HarmonizeTask['params'] };
    case 'augment': {
      const label = inputs.label ? await jobInputPath(ctx, inputs.label, 'inputs.label') : undefined;
      return {
        ...base,
        kind: 'augment',
        input,
        inputName: upload.name,
        ...(label ? { label: label.path, labelName: label.name } : {}),
        params: job.params as AugmentParams,
      };
    }
    case 'validate': {
      if (!inputs.synthetic) throw new VoxshiftError('INVALID_ARGUMENT', 'a validate job needs inputs.synthetic', { param: 'inputs.synthetic' });
      const synthetic = await jobInputPath(ctx, inputs.synthetic, 'inputs.synthetic');
      const reference = inputs.reference ? await jobInputPath(ctx, inputs.reference, 'inputs.reference') : undefined;
      return { ...base, kind: 'validate', source: input, synthetic: synthetic.path, ...(reference ? { reference: reference.path } : {}), params: job.params as ValidateTask['params'] };
    }
  }
}
