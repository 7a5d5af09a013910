/**
 * One error class for the whole toolkit. `code` is stable (tests, the service and scripts match on
 * it); `status` is the HTTP status the service answers with; `file` names the input at fault.
 */
export const ERROR_CODES = {
  // Input files
  FILE_NOT_FOUND: 404,
  FILE_UNREADABLE: 400,
  UNSUPPORTED_FORMAT: 415,
  TRUNCATED_FILE: 400,
  MALFORMED_HEADER: 400,
  NOT_DICOM: 415,
  NOT_NIFTI: 415,
  NO_PIXEL_DATA: 422,
  MISSING_TAG: 422,
  UNSUPPORTED_TRANSFER_SYNTAX: 415,
  CODEC_FAILED: 422,
  NO_SERIES: 422,
  MULTIPLE_SERIES: 409,
  INCONSISTENT_SERIES: 422,
  GANTRY_TILT: 422,
  UNEVEN_SPACING: 422,
  UNSUPPORTED_IMAGE: 422,
  ZIP_INVALID: 400,
  ZIP_BOMB: 413,
  // Parameters and data
  INVALID_ARGUMENT: 400,
  INVALID_VOLUME: 422,
  GEOMETRY_MISMATCH: 422,
  NON_FINITE_VALUES: 422,
  SIZE_LIMIT: 413,
  WRITE_FAILED: 500,
  EXTERNAL_TOOL_FAILED: 500,
  // Models and jobs
  INCOMPATIBLE_CHECKPOINT: 409,
  CORRUPT_CHECKPOINT: 422,
  CANCELLED: 499,
  // Service (HTTP API)
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  JOB_NOT_FINISHED: 409,
  RATE_LIMITED: 429,
  QUEUE_FULL: 503,
  INTERRUPTED: 500,
  // Compute engine
  BACKEND_UNAVAILABLE: 503,
  OUT_OF_MEMORY: 507,
  INTERNAL: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface VoxshiftErrorOptions {
  /** The file (or folder) the error is about, when there is one. */
  file?: string;
  /** The parameter the error is about, when there is one. */
  param?: string;
  /** Extra machine-readable facts (expected/received values). */
  details?: Record<string, unknown>;
  cause?: unknown;
}

export class VoxshiftError extends Error {
  readonly code: `VOXSHIFT_E_${ErrorCode}`;
  readonly shortCode: ErrorCode;
  readonly status: number;
  readonly file?: string;
  readonly param?: string;
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: VoxshiftErrorOptions = {}) {
    const where = options.file ? `${options.file}: ` : '';
    super(`${where}${message}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'VoxshiftError';
    this.shortCode = code;
    this.code = `VOXSHIFT_E_${code}`;
    this.status = ERROR_CODES[code];
    if (options.file !== undefined) this.file = options.file;
    if (options.param !== undefined) this.param = options.param;
    if (options.details !== undefined) this.details = options.details;
  }

  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      ...(this.file !== undefined ? { file: this.file } : {}),
      ...(this.param !== undefined ? { param: this.param } : {}),
      ...(this.details !== undefined ? { details: this.details } : {}),
    };
  }
}

export function isVoxshiftError(e: unknown, code?: ErrorCode): e is VoxshiftError {
  return e instanceof VoxshiftError && (code === undefined || e.shortCode === code);
}

/** Runs `fn`; anything it throws that is not already a VoxshiftError is wrapped with `code`. */
export function wrapErrors<T>(code: ErrorCode, message: string, options: VoxshiftErrorOptions, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof VoxshiftError) throw e;
    const reason = e instanceof Error ? e.message : String(e);
    throw new VoxshiftError(code, `${message}: ${reason}`, { ...options, cause: e });
  }
}

export async function wrapErrorsAsync<T>(
  code: ErrorCode,
  message: string,
  options: VoxshiftErrorOptions,
  fn: () => Promise<T>,
): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof VoxshiftError) throw e;
    const reason = e instanceof Error ? e.message : String(e);
    throw new VoxshiftError(code, `${message}: ${reason}`, { ...options, cause: e });
  }
}
