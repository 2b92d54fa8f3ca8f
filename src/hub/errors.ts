// The hub's errors and the one place that turns any error into its HTTP
// answer. Codes and their statuses come from the catalogue
// (src/domain/error-codes.ts); the body is always `{ error: { code, message } }`.
import { CodedError, ERROR_CODES, isErrorCode, type ErrorCode } from '../domain/error-codes.ts';
import { UplinkError } from '../util/errors.ts';

/** A request the hub refuses; its status is the code's, from the catalogue. */
export class HttpError extends CodedError {}

export interface ErrorBody {
  error: { code: string; message: string };
}

/**
 * An agent's error answer, passed on: its code when the catalogue knows it
 * (an agent of this version answers no other), else AGENT_ERROR, so the hub
 * never answers a code that is not in the catalogue.
 */
export function agentAnswerError(code: unknown, message: string, options?: ErrorOptions): HttpError {
  return new HttpError(agentCode(code), message, options);
}

/** The code to pass an agent's answer on with: its own when the catalogue has it, else AGENT_ERROR. */
export function agentCode(code: unknown): ErrorCode {
  return typeof code === 'string' && isErrorCode(code) ? code : 'AGENT_ERROR';
}

/** The code of a failed link request: its own when the catalogue has it (LINK_TIMEOUT, LINK_BAD_RESPONSE), else LINK_CLOSED. */
export function linkFailureCode(error: unknown): ErrorCode {
  return error instanceof UplinkError && isErrorCode(error.code) && error.code.startsWith('LINK_') ? error.code : 'LINK_CLOSED';
}

/** Fastify's own refusals (validation, body size, media type), by status. */
const CODE_BY_FASTIFY_STATUS: Record<number, ErrorCode> = {
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  413: 'BODY_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
};

/** The status and JSON body for any error; unknown errors become a 500 that reveals nothing. */
export function toHttpError(error: unknown): { status: number; body: ErrorBody } {
  const answer = (code: ErrorCode, message: string): { status: number; body: ErrorBody } => ({ status: ERROR_CODES[code].status, body: { error: { code, message } } });
  if (error instanceof UplinkError && isErrorCode(error.code)) return answer(error.code, error.message);
  const fastifyError = error as { statusCode?: number; message?: string; validation?: unknown };
  if (fastifyError.validation !== undefined || (fastifyError.statusCode !== undefined && fastifyError.statusCode < 500)) {
    return answer(CODE_BY_FASTIFY_STATUS[fastifyError.statusCode ?? 400] ?? 'BAD_REQUEST', fastifyError.message ?? 'bad request');
  }
  return answer('INTERNAL', 'internal error; see the hub log');
}

export const notFound = (what: string): HttpError => new HttpError('NOT_FOUND', `${what} not found`);
export const badRequest = (message: string): HttpError => new HttpError('BAD_REQUEST', message);
