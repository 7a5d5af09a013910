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
export const SERVED_KINDS: readonly JobKind[] = ['translate', 'harmonize', 'augment', 'validate'];
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
    validate: Type.Optional(Type.Boolean({ description: 'also run the segmentation-consistency check on the result (source vs synthetic); the job then carries a verdict' })),
  },
  { additionalProperties: false, $id: 'TranslateParams' },
);
export type TranslateParams = Static<typeof TranslateParams>;

export const HarmonizeParams = Type.Object(
  { site: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: "the input's site (CycleGAN harmonizers with several source sites)" })) },
  { additionalProperties: false, $id: 'HarmonizeParams' },
);
export type HarmonizeParams = Static<typeof HarmonizeParams>;

/** Most samples one augment job makes. */
export const MAX_AUGMENT_COUNT = 64;
export const AugmentParams = Type.Object(
  {
    preset: Type.Optional(Type.Union([Type.Literal('ct'), Type.Literal('mr')], { description: 'a ready-made pipeline (augment/presets.ts); or give `pipeline`' })),
    pipeline: Type.Optional(
      Type.Union([Type.Array(Type.Record(Type.String(), Type.Unknown())), Type.Record(Type.String(), Type.Unknown())], {
        description: 'a pipeline as `voxshift augment --pipeline` reads it: an array of steps or { name?, transforms }',
      }),
    ),
    seed: Type.Optional(Type.Integer({ minimum: 0, maximum: 4294967295, description: 'default 0; same seed, same samples' })),
    count: Type.Integer({ minimum: 1, maximum: MAX_AUGMENT_COUNT, description: 'samples to make' }),
  },
  { additionalProperties: false, $id: 'AugmentParams' },
);
export type AugmentParams = Static<typeof AugmentParams>;

const ModalityHint = Type.Union([Type.Literal('MR'), Type.Literal('CT')]);
export const ValidateParams = Type.Object(
  {
    modalities: Type.Optional(
      Type.Object(
        { source: Type.Optional(ModalityHint), synthetic: Type.Optional(ModalityHint), reference: Type.Optional(ModalityHint) },
        { additionalProperties: false, description: "which segmenter each input needs when its file does not say (NIfTI): default source MR, synthetic and reference CT" },
      ),
    ),
    thresholds: Type.Optional(
      Type.Object(
        {
          minVolumeMm3: Type.Optional(Type.Number({ minimum: 0 })),
          toleranceVoxels: Type.Optional(Type.Integer({ minimum: 0, maximum: 5 })),
          openingVoxels: Type.Optional(Type.Integer({ minimum: 0, maximum: 5 })),
          minDice: Type.Optional(Type.Union([Type.Number({ minimum: 0, maximum: 1 }), Type.Null()])),
          maxVolumeChangePercent: Type.Optional(Type.Union([Type.Number({ minimum: 0 }), Type.Null()])),
          maxMaeHu: Type.Optional(Type.Union([Type.Number({ minimum: 0 }), Type.Null()])),
        },
        { additionalProperties: false, description: 'validation thresholds (validation/report DEFAULT_VALIDATION_THRESHOLDS)' },
      ),
    ),
  },
  { additionalProperties: false, $id: 'ValidateParams' },
);
export type ValidateParams = Static<typeof ValidateParams>;

/** The params schema of each kind (checked after the body schema, with errors naming `params.<field>`). */
export const PARAMS_BY_KIND = { translate: TranslateParams, harmonize: HarmonizeParams, augment: AugmentParams, validate: ValidateParams } as const;

/** An input of a job: an earlier upload, or the image result of an earlier job. */
export const InputRef = Type.Union([Type.Object({ upload: Id }, { additionalProperties: false }), Type.Object({ job: Id }, { additionalProperties: false })], {
  description: '{ "upload": id } or { "job": id } (the result of a finished translate or harmonize job)',
});
export type InputRef = Static<typeof InputRef>;
export const INPUT_ROLES = ['label', 'synthetic', 'reference'] as const;
export type InputRole = (typeof INPUT_ROLES)[number];
export const JobInputs = Type.Object(
  { label: Type.Optional(InputRef), synthetic: Type.Optional(InputRef), reference: Type.Optional(InputRef) },
  { additionalProperties: false, description: 'augment: label; validate: synthetic (required) and reference' },
);
export type JobInputs = Static<typeof JobInputs>;

export const CreateJobBody = Type.Object(
  {
    kind: JobKind,
    model: Type.Optional(Type.String({ minLength: 1, maxLength: 200, pattern: '^[A-Za-z0-9._-]+$', description: 'a model id from GET /v1/models (translate: a translation checkpoint; harmonize: a harmonizer)' })),
    upload: Type.Optional(Id),
    inputs: Type.Optional(JobInputs),
    params: Type.Optional(
      Type.Record(Type.String(), Type.Unknown(), { description: 'per kind: TranslateParams, HarmonizeParams, AugmentParams or ValidateParams (components of this document)' }),
    ),
  },
  {
    additionalProperties: false,
    description:
      'JSON with `upload` (the id of an earlier upload: the image to translate, harmonize or augment, or the source of a validation) and `inputs` (other inputs by role), or multipart/form-data with a `file` part (NIfTI, NRRD/MHA or a zip of one DICOM series), optional `label`, `synthetic` and `reference` file parts, and the fields kind, model, params and inputs (JSON strings). validate without `upload` takes the source of the job named in inputs.synthetic.',
  },
);
export type CreateJobBody = Static<typeof CreateJobBody>;

export const Warning = Type.Object({ code: Type.String(), message: Type.String() });

export const Verdict = Type.Object(
  {
    verdict: Type.Union([Type.Literal('pass'), Type.Literal('fail')]),
    reasons: Type.Array(Type.String()),
    findings: Type.Integer({ description: 'flagged regions (hallucinated or removed anatomy)' }),
  },
  { description: 'the segmentation-consistency verdict (validate jobs; translate jobs with params.validate)' },
);
export type Verdict = Static<typeof Verdict>;

export const RESULT_FORMATS = ['nifti', 'zip', 'report'] as const;
export const JobResult = Type.Object({
  bytes: Type.Integer({ description: 'size of the main result file' }),
  format: Type.Union(RESULT_FORMATS.map((f) => Type.Literal(f)), { description: 'nifti (translate, harmonize), zip (augment), report (validate)' }),
  files: Type.Optional(Type.Array(Type.String(), { description: 'every file the job wrote (names)' })),
  modality: Type.Optional(Type.String({ description: 'image results: the modality (CT for MR→CT synthesis), used for the DICOM series' })),
});
export type JobResult = Static<typeof JobResult>;

export const ProgressDetail = Type.Object(
  {
    stage: Type.String({ description: 'translate: reading, translating, writing, validating; harmonize: reading, harmonizing, writing; augment: sampling, zipping; validate: reading, checking, writing' }),
    done: Type.Optional(Type.Integer({ description: 'translate: slices or windows; augment: samples' })),
    total: Type.Optional(Type.Integer()),
  },
  { description: 'what a running job is doing' },
);
export type ProgressDetail = Static<typeof ProgressDetail>;

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
    model: Type.String({ description: 'translate, harmonize: the model id; augment: the pipeline (preset:NAME or its name); validate: "consistency"' }),
    params: Type.Record(Type.String(), Type.Unknown()),
    state: JobState,
    progress: Type.Number({ minimum: 0, maximum: 1 }),
    progressDetail: Type.Optional(ProgressDetail),
    upload: Id,
    inputs: Type.Optional(JobInputs),
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
    result: Type.Optional(JobResult),
    verdict: Type.Optional(Verdict),
  },
  { $id: 'Job' },
);
export type Job = Static<typeof Job>;

export const JobList = Type.Object({ jobs: Type.Array(Job) });

export const JobIdParams = Type.Object({ id: Id });
export const RESULT_QUERY_FORMATS = ['nifti', 'dicom', 'zip', 'json', 'html'] as const;
export type ResultQueryFormat = (typeof RESULT_QUERY_FORMATS)[number];
export const ResultQuery = Type.Object(
  {
    format: Type.Optional(
      Type.Union(RESULT_QUERY_FORMATS.map((f) => Type.Literal(f)), {
        description: 'nifti (image results; default), dicom (a zip of a DICOM series), zip (augment), json or html (the validation report); overrides Accept',
      }),
    ),
  },
  { additionalProperties: false },
);
export const VOLUME_NAMES = ['source', 'result', 'difference', 'findings'] as const;
export type VolumeName = (typeof VOLUME_NAMES)[number];
export const VolumeParams = Type.Object({ id: Id, name: Type.Union(VOLUME_NAMES.map((n) => Type.Literal(n))) });
export const ListJobsQuery = Type.Object(
  { state: Type.Optional(JobState), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })) },
  { additionalProperties: false },
);

export const ModelInfo = Type.Object({
  id: Type.String(),
  type: Type.Union([Type.Literal('translation'), Type.Literal('harmonizer')], { description: 'translation: for translate jobs; harmonizer: for harmonize jobs' }),
  source: Type.Union([Type.Literal('shipped'), Type.Literal('models-dir')]),
  manifest: Type.Record(Type.String(), Type.Unknown(), { description: "the checkpoint's manifest.json, or the harmonizer model without its parameters" }),
});
export type ModelInfo = Static<typeof ModelInfo>;
export const ModelList = Type.Object({ models: Type.Array(ModelInfo) });

export const Health = Type.Object({ status: Type.Literal('ok') });
export const Ready = Type.Object({
  ready: Type.Boolean(),
  queue: Type.Object({ waiting: Type.Integer(), running: Type.Integer(), capacity: Type.Integer() }),
  worker: Type.String({ description: 'starting, idle, busy or down' }),
});
