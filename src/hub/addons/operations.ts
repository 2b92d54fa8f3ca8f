// Manual operations on an add-on (a rollback to a revision, or a sync that
// applies the desired spec now), asked of the cluster's agent over its link.
// The agent queues the operation and answers at once with its id; the outcome
// arrives later as the add-on's status (`lastOperation.id`), so a caller
// waits by watching the status, never by holding this request open.
import { ADDON_PATHS, type AddonOperationAccepted, type AddonOperationRequest } from '../../link/addons.ts';
import { LinkRequestError, type LinkResponse } from '../../link/hub-session.ts';
import { UplinkError } from '../../util/errors.ts';
import { HttpError } from '../errors.ts';

/** How long the agent may take to accept (not to finish) an operation. */
export const ADDON_OPERATION_TIMEOUT_MS = 15_000;
/** Helm stores revisions as int32. */
const MAX_REVISION = 2 ** 31 - 1;
/** Longest operation id and agent error message passed on to the caller. */
const MAX_OPERATION_ID_CHARS = 253;
const MAX_AGENT_MESSAGE_CHARS = 500;

export type AddonAction = AddonOperationRequest['action'];

/** How forwarding an operation ended, for the metric: a closed set. */
export type AddonOperationOutcome = 'accepted' | 'refused' | 'offline' | 'failed';

/** What forwarding needs of a link; HubSession is one. */
export interface OperationLink {
  readonly isOpen: boolean;
  requestJson<T>(method: string, path: string, body?: unknown, timeoutMs?: number): Promise<LinkResponse<T>>;
}

export interface ForwardOperation {
  /** The cluster's live link, undefined when its agent is not linked. */
  link: OperationLink | undefined;
  /** The cluster's name, for messages. */
  cluster: string;
  request: AddonOperationRequest;
  timeoutMs?: number;
}

const invalid = (message: string): HttpError => new HttpError(400, 'ADDON_OPERATION_INVALID', message);

/** The revision of a rollback body `{"revision": N}`; a 400 naming the field otherwise. */
export function parseRollbackBody(body: unknown): number {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalid('the body must be {"revision": N}, the revision to roll back to');
  const unknown = Object.keys(body).find((key) => key !== 'revision');
  if (unknown !== undefined) throw invalid(`unknown field '${unknown.slice(0, 80)}' (known: revision)`);
  const { revision } = body as { revision?: unknown };
  if (revision === undefined) throw invalid('revision is required: the release revision to roll back to (see the add-on\'s history)');
  if (typeof revision !== 'number' || !Number.isInteger(revision) || revision < 1 || revision > MAX_REVISION) {
    throw invalid(`revision must be a whole number from 1 to ${MAX_REVISION}, got ${JSON.stringify(revision).slice(0, 80)}`);
  }
  return revision;
}

/** A sync takes no parameters: no body, or `{}`. */
/** A sync's body: none, `{}`, or `{allowOutsideWindow: true|false}`; returns whether it may run outside the sync window. */
export function checkSyncBody(body: unknown): boolean {
  if (body === undefined || body === null) return false;
  if (typeof body !== 'object' || Array.isArray(body)) throw invalid('a sync takes no body, {} or {"allowOutsideWindow": true}');
  const { allowOutsideWindow, ...rest } = body as Record<string, unknown>;
  if (Object.keys(rest).length > 0) throw invalid(`a sync takes only allowOutsideWindow, not ${Object.keys(rest).join(', ')}`);
  if (allowOutsideWindow !== undefined && typeof allowOutsideWindow !== 'boolean') throw invalid('allowOutsideWindow must be true or false');
  return allowOutsideWindow === true;
}

/** Which outcome an error of forwardAddonOperation counts as. */
export function operationOutcomeOf(error: unknown): AddonOperationOutcome {
  if (!(error instanceof HttpError)) return 'failed';
  if (error.status === 503) return 'offline';
  return error.status >= 400 && error.status < 500 ? 'refused' : 'failed';
}

/**
 * Asks the agent to run the operation. Resolves with its id once the agent
 * accepted it (202). Throws an HttpError to answer with: 503 when the
 * cluster's agent is not linked, the agent's own 4xx (code and message), 504
 * when it did not answer in time, 502 for anything else.
 */
export async function forwardAddonOperation(options: ForwardOperation): Promise<AddonOperationAccepted> {
  const { link, cluster, request } = options;
  if (link?.isOpen !== true) {
    throw new HttpError(503, 'CLUSTER_OFFLINE', `cluster '${cluster}' is offline: its agent is not linked to the hub, and a ${request.action} runs on the agent`);
  }
  const timeoutMs = options.timeoutMs ?? ADDON_OPERATION_TIMEOUT_MS;
  let answer: LinkResponse<unknown>;
  try {
    answer = await link.requestJson<unknown>('POST', ADDON_PATHS.operations, request, timeoutMs);
  } catch (error) {
    if (error instanceof LinkRequestError && error.code === 'LINK_TIMEOUT') {
      throw new HttpError(504, 'LINK_TIMEOUT', `cluster '${cluster}': the agent did not accept the ${request.action} of '${request.addon}' within ${timeoutMs / 1000} s`, { cause: error });
    }
    const code = error instanceof UplinkError ? error.code : 'LINK_CLOSED';
    throw new HttpError(502, code, `cluster '${cluster}': ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  const body = answer.body as { operationId?: unknown; error?: { code?: unknown; message?: unknown } } | undefined;
  if (answer.status === 202) {
    const id = body?.operationId;
    if (typeof id === 'string' && id !== '' && id.length <= MAX_OPERATION_ID_CHARS) return { operationId: id };
    throw new HttpError(502, 'LINK_BAD_RESPONSE', `cluster '${cluster}': the agent accepted the ${request.action} without a usable operationId`);
  }
  const code = typeof body?.error?.code === 'string' ? body.error.code.slice(0, 64) : 'AGENT_ERROR';
  const message = typeof body?.error?.message === 'string' ? body.error.message.slice(0, MAX_AGENT_MESSAGE_CHARS)
    : `the agent of cluster '${cluster}' answered ${answer.status}`;
  if (answer.status >= 400 && answer.status < 500) throw new HttpError(answer.status, code, message);
  throw new HttpError(502, code, `the agent of cluster '${cluster}' could not run the ${request.action}: ${message}`);
}
