/**
 * TypeBox schemas of every body, query, parameter and response of the service; Fastify validates
 * requests and serialises responses with them, and @fastify/swagger turns them into /openapi.json.
 */
import { Type, type Static } from '@sinclair/typebox';

export const ErrorBody = Type.Object(
  {
    code: Type.String({ description: 'stable code, VOXSHIFT_E_...' }),
    message: Type.String(),
    param: Type.Optional(Type.String()),
    file: Type.Optional(Type.String()),
    details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { $id: 'Error' },
);
export type ErrorBody = Static<typeof ErrorBody>;

/** Job and upload ids are UUIDs: nothing else ever reaches a file path. */
export const Id = Type.String({ pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' });

export const JOB_KINDS = ['translate', 'harmonize', 'augment', 'validate'] as const;
/** The kinds this service runs today. */
export const SERVED_KINDS: readonly JobKind[] = ['translate'];
export const JobKind = Type.Union(JOB_KINDS.map((k) => Type.Literal(k)));
export type JobKind = (typeof JOB_KINDS)[number];

export const JOB_STATES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export const JobState = Type.Union(JOB_STATES.map((k) => Type.Literal(k)));
export type JobState = (typeof JOB_STATES)[number];

export const TranslateParams = Type.Object(
  {
    direction: Type.Optional(Type.Union([Type.Literal('AtoB'), Type.Literal('BtoA')])),
    runtime: Type.Optional(Type.Union([Type.Literal('auto'), Type.Literal('onnx'), Type.Literal('tfjs')])),
    allowModalityMismatch: Type.Optional(Type.Boolean()),
    overlap: Type.Optional(Type.Number({ minimum: 0, exclusiveMaximum: 1 })),
  },
  { additionalProperties: false },
);
export type TranslateParams = Static<typeof TranslateParams>;

export const CreateJobBody = Type.Object(
  {
    kind: JobKind,
    model: Type.String({ minLength: 1, maxLength: 200, pattern: '^[A-Za-z0-9._-]+$', description: 'a model id from GET /v1/models' }),
    upload: Type.Optional(Id),
    params: Type.Optional(TranslateParams),
  },
  {
    additionalProperties: false,
    description:
      'JSON with `upload` (the id of an earlier upload), or multipart/form-data with a `file` part (NIfTI, NRRD/MHA or a zip of one DICOM series) and the fields kind, model and params (a JSON string)',
  },
);
export type CreateJobBody = Static<typeof CreateJobBody>;

export const Warning = Type.Object({ code: Type.String(), message: Type.String() });

export const UploadInfo = Type.Object(
  {
    id: Id,
    name: Type.String(),
    format: Type.String({ description: 'nifti, nrrd, mha or zip (DICOM series)' }),
    bytes: Type.Integer(),
    createdAt: Type.String(),
  },
  { $id: 'Upload' },
);
export type UploadInfo = Static<typeof UploadInfo>;

export const Job = Type.Object(
  {
    id: Id,
    kind: JobKind,
    model: Type.String(),
    params: TranslateParams,
    state: JobState,
    progress: Type.Number({ minimum: 0, maximum: 1 }),
    upload: Id,
    createdAt: Type.String(),
    startedAt: Type.Optional(Type.String()),
    finishedAt: Type.Optional(Type.String()),
    timings: Type.Object({
      queuedMs: Type.Optional(Type.Number()),
      runMs: Type.Optional(Type.Number()),
    }),
    attempts: Type.Integer({ description: 'how many times a worker started this job' }),
    warnings: Type.Array(Warning),
    error: Type.Optional(ErrorBody),
    result: Type.Optional(Type.Object({ bytes: Type.Integer(), format: Type.Literal('nifti') })),
  },
  { $id: 'Job' },
);
export type Job = Static<typeof Job>;

export const JobList = Type.Object({ jobs: Type.Array(Job) });

export const JobIdParams = Type.Object({ id: Id });
export const ResultQuery = Type.Object({ format: Type.Optional(Type.Literal('nifti')) }, { additionalProperties: false });
export const ListJobsQuery = Type.Object(
  { state: Type.Optional(JobState), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })) },
  { additionalProperties: false },
);

export const ModelInfo = Type.Object({
  id: Type.String(),
  source: Type.Union([Type.Literal('shipped'), Type.Literal('models-dir')]),
  manifest: Type.Record(Type.String(), Type.Unknown(), { description: "the checkpoint's manifest.json" }),
});
export type ModelInfo = Static<typeof ModelInfo>;
export const ModelList = Type.Object({ models: Type.Array(ModelInfo) });

export const Health = Type.Object({ status: Type.Literal('ok') });
export const Ready = Type.Object({
  ready: Type.Boolean(),
  queue: Type.Object({ waiting: Type.Integer(), running: Type.Integer(), capacity: Type.Integer() }),
  worker: Type.String({ description: 'starting, idle, busy or down' }),
});
