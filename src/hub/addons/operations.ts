// Manual operations on an add-on (a rollback to a revision, or a sync that
// applies the desired spec now), asked of the cluster's agent over its link.
// The agent queues the operation and answers at once with its id; the outcome
// arrives later as the add-on's status (`lastOperation.id`), so a caller
// waits by watching the status, never by holding this request open.
import { ADDON_PATHS, type AddonOperationAccepted, type AddonOperationRequest } from '../../link/addons.ts';
import { startAgentOperation, type OperationLink } from '../agent-request.ts';
import { HttpError } from '../errors.ts';

export type { OperationLink } from '../agent-request.ts';

/** How long the agent may take to accept (not to finish) an operation. */
export const ADDON_OPERATION_TIMEOUT_MS = 15_000;
/** Helm stores revisions as int32. */
const MAX_REVISION = 2 ** 31 - 1;

export type AddonAction = AddonOperationRequest['action'];

/** How forwarding an operation ended, for the metric: a closed set. */
export type AddonOperationOutcome = 'accepted' | 'refused' | 'offline' | 'failed';

export interface ForwardOperation {
  /** The cluster's live link, undefined when its agent is not linked. */
  link: OperationLink | undefined;
  /** The cluster's name, for messages. */
  cluster: string;
  request: AddonOperationRequest;
  timeoutMs?: number;
}

const invalid = (message: string): HttpError => new HttpError('ADDON_OPERATION_INVALID', message);

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

/** Asks the agent to run the operation; resolves with its id once the agent accepted it (see startAgentOperation). */
export function forwardAddonOperation(options: ForwardOperation): Promise<AddonOperationAccepted> {
  const { request } = options;
  return startAgentOperation({
    link: options.link, cluster: options.cluster, path: ADDON_PATHS.operations, body: request,
    timeoutMs: options.timeoutMs ?? ADDON_OPERATION_TIMEOUT_MS,
    words: {
      offline: `a ${request.action} runs on the agent`, timedOut: `the ${request.action} of '${request.addon}'`,
      accepted: `the ${request.action}`, failed: `run the ${request.action}`,
    },
  });
}
