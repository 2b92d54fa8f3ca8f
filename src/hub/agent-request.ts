// Asking a cluster's agent to start something over its link (a rollback or
// sync of an add-on, an upgrade of the agent itself): the agent answers 202
// with an operation id at once, and the outcome arrives later in what it
// reports. Turns every way that can go wrong into the HttpError to answer
// with: 503 when the agent is not linked, the agent's own 4xx (code and
// message), 504 when it did not answer in time, 502 for anything else.
import { LinkRequestError, type LinkResponse } from '../link/hub-session.ts';
import { agentAnswerError, HttpError, linkFailureCode } from './errors.ts';

/** Longest operation id, error code and agent message passed on to the caller. */
const MAX_OPERATION_ID_CHARS = 253;
const MAX_CODE_CHARS = 64;
const MAX_AGENT_MESSAGE_CHARS = 500;

/** What forwarding needs of a link; HubSession is one. */
export interface OperationLink {
  readonly isOpen: boolean;
  requestJson<T>(method: string, path: string, body?: unknown, timeoutMs?: number): Promise<LinkResponse<T>>;
}

export interface AgentOperationRequest {
  /** The cluster's live link, undefined when its agent is not linked. */
  link: OperationLink | undefined;
  /** The cluster's name, for messages. */
  cluster: string;
  path: string;
  body: unknown;
  timeoutMs: number;
  /** How messages name the request. */
  words: {
    /** Why the agent must be linked: `a sync runs on the agent`. */
    offline: string;
    /** What it did not accept in time: `the rollback of 'web'`. */
    timedOut: string;
    /** What it accepted without an id: `the rollback`. */
    accepted: string;
    /** What it could not do: `run the rollback`. */
    failed: string;
  };
}

/** The operation id of the agent's 202; throws the HttpError to answer with otherwise. */
export async function startAgentOperation(request: AgentOperationRequest): Promise<{ operationId: string }> {
  const { link, cluster, words, timeoutMs } = request;
  if (link?.isOpen !== true) {
    throw new HttpError('CLUSTER_OFFLINE', `cluster '${cluster}' is offline: its agent is not linked to the hub, and ${words.offline}`);
  }
  let answer: LinkResponse<unknown>;
  try {
    answer = await link.requestJson<unknown>('POST', request.path, request.body, timeoutMs);
  } catch (error) {
    if (error instanceof LinkRequestError && error.code === 'LINK_TIMEOUT') {
      throw new HttpError('LINK_TIMEOUT', `cluster '${cluster}': the agent did not accept ${words.timedOut} within ${timeoutMs / 1000} s`, { cause: error });
    }
    throw new HttpError(linkFailureCode(error), `cluster '${cluster}': ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  const body = answer.body as { operationId?: unknown; error?: { code?: unknown; message?: unknown } } | undefined;
  if (answer.status === 202) {
    const id = body?.operationId;
    if (typeof id === 'string' && id !== '' && id.length <= MAX_OPERATION_ID_CHARS) return { operationId: id };
    throw new HttpError('LINK_BAD_RESPONSE', `cluster '${cluster}': the agent accepted ${words.accepted} without a usable operationId`);
  }
  const code = typeof body?.error?.code === 'string' ? body.error.code.slice(0, MAX_CODE_CHARS) : undefined;
  const message = typeof body?.error?.message === 'string' ? body.error.message.slice(0, MAX_AGENT_MESSAGE_CHARS)
    : `the agent of cluster '${cluster}' answered ${answer.status}`;
  if (answer.status >= 400 && answer.status < 500) throw agentAnswerError(code, message);
  throw agentAnswerError(code, `the agent of cluster '${cluster}' could not ${words.failed}: ${message}`);
}
