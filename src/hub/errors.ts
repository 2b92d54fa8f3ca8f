// One place that maps error codes to HTTP statuses for the hub's API.
import { UplinkError } from '../util/errors.ts';

/** A request the hub refuses, with the status to answer. */
export class HttpError extends UplinkError {
  readonly status: number;

  constructor(status: number, code: string, message: string, options?: ErrorOptions) {
    super(code, message, options);
    this.status = status;
  }
}

const STATUS_BY_CODE: Record<string, number> = {
  STORE_CONFLICT: 409,
  // The write did not happen: never a success, and the message says so.
  STORE_FULL: 507,
  STORE_UNAVAILABLE: 503,
  CONFIG_INVALID: 400,
  ADDON_SPEC_INVALID: 400,
  LINK_CLOSED: 502,
  LINK_TIMEOUT: 504,
  LINK_BAD_RESPONSE: 502,
};

export interface ErrorBody {
  error: { code: string; message: string };
}

/** The status and JSON body for any error; unknown errors become a 500 that reveals nothing. */
export function toHttpError(error: unknown): { status: number; body: ErrorBody } {
  if (error instanceof HttpError) return { status: error.status, body: { error: { code: error.code, message: error.message } } };
  if (error instanceof UplinkError && STATUS_BY_CODE[error.code] !== undefined) {
    return { status: STATUS_BY_CODE[error.code] ?? 500, body: { error: { code: error.code, message: error.message } } };
  }
  const fastifyError = error as { statusCode?: number; code?: string; message?: string; validation?: unknown };
  if (fastifyError.validation !== undefined || (fastifyError.statusCode !== undefined && fastifyError.statusCode < 500)) {
    return {
      status: fastifyError.statusCode ?? 400,
      body: { error: { code: fastifyError.code ?? 'BAD_REQUEST', message: fastifyError.message ?? 'bad request' } },
    };
  }
  return { status: 500, body: { error: { code: 'INTERNAL', message: 'internal error; see the hub log' } } };
}

export const notFound = (what: string): HttpError => new HttpError(404, 'NOT_FOUND', `${what} not found`);
export const badRequest = (message: string): HttpError => new HttpError(400, 'BAD_REQUEST', message);
