// Every error code the hub's API and the agent's link endpoints answer, with
// its HTTP status and what it means: the one catalogue, as fastify keeps its
// FST_ERR_* codes in one file. Each answer's body is `{ error: { code,
// message } }` (the resource routes add the cluster beside it). Errors are
// made with a code from here, and the status comes from here, so a code
// cannot be answered with two statuses. docs/errors.md is generated from
// this table (errorCodeTable), and a test keeps the two in step.
//
// Not here: the kubectl endpoint (`/k8s/clusters/...`), which answers as the
// API server does, with Kubernetes `Status` objects and their reasons.

import { UplinkError } from '../util/errors.ts';

export interface ErrorCodeInfo {
  status: number;
  /** One line: when it is answered. */
  meaning: string;
}

export const ERROR_CODES = {
  // 400
  BAD_REQUEST: { status: 400, meaning: 'a parameter, query or body field is missing, malformed or out of its bounds; the message names it' },
  NAME_LOOKS_LIKE_ID: { status: 400, meaning: 'a new cluster or user name has the shape of an id (c_…, u_…), which would make references ambiguous' },
  CONFIG_INVALID: { status: 400, meaning: 'a setting has an invalid value' },
  ADDON_SPEC_INVALID: { status: 400, meaning: 'an add-on spec is refused; the message names the field' },
  ADDON_OPERATION_INVALID: { status: 400, meaning: 'a rollback or sync request is malformed' },
  AGENT_UPGRADE_INVALID: { status: 400, meaning: 'an agent upgrade request is malformed (the version is not an exact SemVer, …)' },
  DESIRED_ADDONS_INVALID: { status: 400, meaning: 'agent: the desired add-on set the hub pushed does not parse' },
  BAD_QUERY: { status: 400, meaning: 'agent: a query parameter is missing, repeated or too long' },
  BAD_LIMIT: { status: 400, meaning: 'a list limit is not a positive whole number in range' },
  BAD_SELECTOR: { status: 400, meaning: 'a label selector does not parse; the message says where' },
  BAD_CONTINUE: { status: 400, meaning: 'a continue token is not one this inventory issued, or has expired' },
  BAD_FORWARD: { status: 400, meaning: 'a forward names no valid target: kind, namespace, name or port is missing or malformed' },
  BAD_LOG_REQUEST: { status: 400, meaning: 'a log request is malformed (namespace, pod, container, since, tail, …)' },
  EXPOSURE_INVALID: { status: 400, meaning: 'an exposure is refused: namespace, service, port, name or minRole is missing or malformed; the message names it' },
  DESIRED_EXPOSURES_INVALID: { status: 400, meaning: 'agent: the exposure set the hub pushed does not parse or holds more than it accepts' },
  // 401, 403
  UNAUTHORIZED: { status: 401, meaning: 'no API token, or one that is unknown, revoked or expired' },
  FORBIDDEN: { status: 403, meaning: 'the caller\'s role (or the cluster\'s RBAC for the caller) does not allow this' },
  EXPOSURE_UNKNOWN: { status: 403, meaning: 'agent: a gateway stream names no exposure the hub pushed to it (unknown, deleted or malformed id)' },
  // 404, 405
  NOT_FOUND: { status: 404, meaning: 'no such cluster, user, token, add-on, object or route (also a cluster the caller has no role on)' },
  UNKNOWN_KIND: { status: 404, meaning: 'a kind the cluster\'s inventory does not cache' },
  NO_FORWARD_ENDPOINT: { status: 404, meaning: 'agent: a forward\'s Service, pod or Deployment does not exist, has no ready endpoint, or no such port' },
  NO_MATCHING_POD: { status: 404, meaning: 'no pod matches a log request\'s selector' },
  NO_CA: { status: 404, meaning: 'the hub serves plain HTTP behind a TLS terminator and has no CA to give' },
  ADDON_NOT_FOUND: { status: 404, meaning: 'agent: it holds no add-on of that name (yet)' },
  NO_DESIRED_ADDONS: { status: 404, meaning: 'agent: it holds no desired add-on set yet' },
  METHOD_NOT_ALLOWED: { status: 405, meaning: 'the path does not answer this method' },
  // 409
  STORE_CONFLICT: { status: 409, meaning: 'the name is taken, or the record changed meanwhile' },
  LAST_ADMIN: { status: 409, meaning: 'the change would leave the hub without a fleet-wide admin' },
  ADDON_LIMIT: { status: 409, meaning: 'the cluster has the most add-ons allowed' },
  ADDON_HAS_DEPENDENTS: { status: 409, meaning: 'other add-ons depend on the one to delete' },
  ADDON_DELETED: { status: 409, meaning: 'the add-on is deleted and being uninstalled; put it again first' },
  EXPOSURE_EXISTS: { status: 409, meaning: 'the cluster already has an exposure of that name' },
  EXPOSURE_LIMIT: { status: 409, meaning: 'the cluster has the most exposures allowed' },
  DESIRED_EXPOSURES_STALE: { status: 409, meaning: 'agent: it holds a newer generation of the exposure set than the one pushed' },
  REVISION_NOT_FOUND: { status: 409, meaning: 'the release has no such revision to roll back to (or no release)' },
  DESIRED_ADDONS_STALE: { status: 409, meaning: 'agent: it holds a newer generation of the desired set than the one pushed' },
  SELF_UPGRADE_UNAVAILABLE: { status: 409, meaning: 'agent: it was not installed by its chart, so it cannot upgrade itself' },
  AGENT_UPGRADE_RUNNING: { status: 409, meaning: 'agent: an upgrade to another version is already running' },
  // 413, 415, 429, 431
  BODY_TOO_LARGE: { status: 413, meaning: 'the request body is larger than the route accepts' },
  DESIRED_ADDONS_TOO_LARGE: { status: 413, meaning: 'agent: the desired add-on set is larger than it accepts' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, meaning: 'the body\'s content type is not JSON' },
  TOO_MANY_REQUESTS: { status: 429, meaning: 'the cluster\'s concurrency limit, or the caller\'s share of it, is full; retry after Retry-After' },
  TOO_MANY_WATCHERS: { status: 429, meaning: 'the hub\'s or the caller\'s limit of fleet feeds is reached' },
  TOO_MANY_FORWARDS: { status: 429, meaning: 'agent: its limit of open TCP forwards is reached' },
  TOO_MANY_GATEWAY_STREAMS: { status: 429, meaning: 'agent: its limit of open gateway streams is reached' },
  TOO_MANY_WATCHES: { status: 429, meaning: 'agent: its limit of live resource feeds is reached' },
  GATEWAY_HEADERS_TOO_LARGE: { status: 431, meaning: 'a request through the Service gateway has more header bytes than it passes on (64 KiB)' },
  // 500
  INTERNAL: { status: 500, meaning: 'a failure inside the hub or the agent; the message says where to look (its log)' },
  DESIRED_ADDONS_STORE_FAILED: { status: 500, meaning: 'agent: the desired add-on set could not be stored' },
  TOKEN_STORE_FAILED: { status: 500, meaning: 'agent: a rotated cluster token could not be stored' },
  // 502
  AGENT_ERROR: { status: 502, meaning: 'the agent answered with something the hub cannot pass on (no known code)' },
  LINK_CLOSED: { status: 502, meaning: 'the link to the cluster closed during the request' },
  LINK_BAD_RESPONSE: { status: 502, meaning: 'the agent\'s answer was not what the protocol says' },
  TOKEN_NOT_STORED: { status: 502, meaning: 'a rotated cluster token was minted but the agent did not store it' },
  FORWARD_UNREACHABLE: { status: 502, meaning: 'agent: no endpoint of a forward\'s target accepted a connection, or each was an address it never dials' },
  GATEWAY_UNREACHABLE: { status: 502, meaning: 'agent: no endpoint of an exposed Service accepted a connection, or each was an address it never dials' },
  KUBE_UNREACHABLE: { status: 502, meaning: 'agent: its API server did not answer' },
  PEER_UNREACHABLE: { status: 502, meaning: 'the hub replica holding the cluster\'s link refused the relay, closed it before answering, or is not a replica of this hub' },
  // 503, 504, 507
  CLUSTER_OFFLINE: { status: 503, meaning: 'the cluster\'s agent is not linked to the hub' },
  STORE_UNAVAILABLE: { status: 503, meaning: 'the hub\'s store cannot be reached; nothing was written' },
  ACCESS_REVIEW_FAILED: { status: 503, meaning: 'agent: the API server could not say whether the caller may read this' },
  AGENT_STOPPING: { status: 503, meaning: 'agent: it is shutting down' },
  GATEWAY_NO_ENDPOINT: { status: 503, meaning: 'agent: an exposed Service does not exist, lacks the port, or has no ready endpoint' },
  PEER_BUSY: { status: 503, meaning: 'the hub relays the most requests it allows to the replica holding the cluster\'s link; retry after Retry-After' },
  CLUSTER_MOVED: { status: 503, meaning: 'the cluster\'s link moved off the replica a request was relayed to; retry' },
  LINK_TIMEOUT: { status: 504, meaning: 'the agent did not answer in time' },
  PEER_TIMEOUT: { status: 504, meaning: 'the hub replica holding the cluster\'s link did not take the relay\'s connection in time' },
  STORE_FULL: { status: 507, meaning: 'the hub\'s disk is full; nothing was written' },
} as const satisfies Record<string, ErrorCodeInfo>;

export type ErrorCode = keyof typeof ERROR_CODES;

export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERROR_CODES, code);
}

/** The status a code is answered with. */
export function statusOf(code: ErrorCode): number {
  return ERROR_CODES[code].status;
}

/** An error answered with its code's status: what the hub's and the agent's refusals are made of. */
export class CodedError extends UplinkError {
  declare readonly code: ErrorCode;
  readonly status: number;

  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options);
    this.status = statusOf(code);
  }
}

/** The catalogue as the Markdown table docs/errors.md holds. */
export function errorCodeTable(): string {
  const rows = Object.entries(ERROR_CODES).map(([code, info]) => `| \`${code}\` | ${info.status} | ${info.meaning} |`);
  return ['| code | status | meaning |', '|---|---|---|', ...rows].join('\n');
}
