// The error hierarchy: every failure Kairos reports carries a stable code, mapped once to a CLI exit code and once to an HTTP status.

/** Stable error codes. Add new codes at the end; never renumber exit codes. */
export type ErrorCode =
  | 'USAGE' // the command line or config is malformed
  | 'VALIDATION' // input data breaks the data contract
  | 'NOT_FOUND' // a file, customer, run or model does not exist
  | 'STORE' // the DuckDB store failed
  | 'CONVERGENCE' // a model fit did not converge
  | 'INSUFFICIENT_DATA' // too few customers / repeat buyers to fit or evaluate
  | 'INTERNAL' // a bug: please report it
  | 'BUSY' // another process held the store longer than the command would wait (--wait)
  | 'UNAUTHORIZED' // the API request has no valid key (kairos serve)
  | 'FORBIDDEN' // the API key's scope does not allow the request
  | 'RATE_LIMITED' // too many API requests with one key in the window
  | 'TOO_LARGE' // the API request's body is over the server's limit
  | 'INTERRUPTED'; // a scoring run was stopped before it was published (server shutdown): the store is as before it

/** Process exit code per error code (0 = success). Stable: scripts rely on them. */
export const EXIT_CODES: Readonly<Record<ErrorCode, number>> = {
  USAGE: 2,
  VALIDATION: 3,
  NOT_FOUND: 4,
  STORE: 5,
  CONVERGENCE: 6,
  INSUFFICIENT_DATA: 7,
  INTERNAL: 70,
  BUSY: 8,
  UNAUTHORIZED: 9,
  FORBIDDEN: 10,
  RATE_LIMITED: 11,
  TOO_LARGE: 12,
  INTERRUPTED: 13,
};

/** HTTP status per error code, for `kairos serve` (src/server). */
export const HTTP_STATUSES: Readonly<Record<ErrorCode, number>> = {
  USAGE: 400,
  VALIDATION: 400,
  NOT_FOUND: 404,
  STORE: 500,
  CONVERGENCE: 422,
  INSUFFICIENT_DATA: 422,
  INTERNAL: 500,
  BUSY: 503,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  RATE_LIMITED: 429,
  TOO_LARGE: 413,
  INTERRUPTED: 503,
};

/** Base class: a message for people, a code for machines, optional details and a hint ("what to try"). */
export class KairosError extends Error {
  readonly code: ErrorCode;
  readonly details: Readonly<Record<string, unknown>>;
  readonly hint: string | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: { details?: Record<string, unknown>; hint?: string; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'KairosError';
    this.code = code;
    this.details = options.details ?? {};
    this.hint = options.hint;
  }

  /** Plain record for `--json` output and logs. */
  toJSON(): { code: ErrorCode; message: string; hint?: string; details: Readonly<Record<string, unknown>> } {
    return this.hint === undefined
      ? { code: this.code, message: this.message, details: this.details }
      : { code: this.code, message: this.message, hint: this.hint, details: this.details };
  }
}

/** A store (SQL) failure: wraps the statement, its bound parameters and the cause. */
export class StoreError extends KairosError {
  constructor(message: string, sql: string, params: readonly unknown[], cause: unknown) {
    super('STORE', message, { details: { sql, params: params.map(String) }, cause });
    this.name = 'StoreError';
  }
}

/** Turns anything thrown into a KairosError (unknown errors become INTERNAL). */
export function asKairosError(err: unknown): KairosError {
  if (err instanceof KairosError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new KairosError('INTERNAL', message, { cause: err });
}

/** The exit code for anything thrown. */
export function exitCodeOf(err: unknown): number {
  return EXIT_CODES[asKairosError(err).code];
}
