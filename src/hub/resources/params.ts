// What the live-resource routes accept: typebox schemas for their path and
// query parameters (every string bounded), the checks a schema cannot state,
// and the query string the hub passes on to the agent.
import Type from 'typebox';
import { LOG_LIMITS, MAX_LIST_LIMIT, type KindInfo } from '../../link/resources.ts';
import { badRequest } from '../errors.ts';
import { DNS_LABEL_PATTERN, DNS_SUBDOMAIN_PATTERN, MAX_DNS_LABEL_CHARS, MAX_DNS_SUBDOMAIN_CHARS, MAX_LABEL_SELECTOR_CHARS } from '../../domain/kube-names.ts';

/** Longest label selector passed on: the one bound every part of Uplink applies. */
export const MAX_SELECTOR_LENGTH = MAX_LABEL_SELECTOR_CHARS;
/** Longest continue token passed on; the agent's tokens are short and opaque. */
export const MAX_CONTINUE_LENGTH = 4096;
/** Most lines `tailLines` may ask for (the agent's bound too). */
export const MAX_TAIL_LINES = 1_000_000;
/** Furthest back `sinceSeconds` may reach: ten years (the agent's bound too). */
export const MAX_SINCE_SECONDS = 10 * 365 * 24 * 3600;
/** Namespace of a log request that names none, as kubectl does. */
export const DEFAULT_LOG_NAMESPACE = 'default';


const Namespace = Type.String({ minLength: 1, maxLength: MAX_DNS_LABEL_CHARS, pattern: DNS_LABEL_PATTERN });
const Selector = Type.String({ minLength: 1, maxLength: MAX_SELECTOR_LENGTH });
/** A substring of object names to match. */
const NameFilter = Type.String({ minLength: 1, maxLength: 253 });
/** Plural, singular, Kind or short name, optionally group-qualified (`deployments.apps`). */
const Kind = Type.String({ minLength: 1, maxLength: 253, pattern: '^[A-Za-z0-9][-A-Za-z0-9.]*$' });
/** Object names: most are DNS subdomains, but RBAC names may hold `:` and more. */
const ObjectName = Type.String({ minLength: 1, maxLength: 253 });

export const ClusterParams = Type.Object({ cluster: Type.String({ minLength: 1, maxLength: 63 }) });
export const KindParams = Type.Object({ cluster: ClusterParams.properties.cluster, kind: Kind });
export const ObjectParams = Type.Object({ cluster: ClusterParams.properties.cluster, kind: Kind, name: ObjectName });
export type ClusterParams = Type.Static<typeof ClusterParams>;
export type KindParams = Type.Static<typeof KindParams>;
export type ObjectParams = Type.Static<typeof ObjectParams>;

export const ListQuery = Type.Object({
  namespace: Type.Optional(Namespace),
  labelSelector: Type.Optional(Selector),
  name: Type.Optional(NameFilter),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_LIST_LIMIT })),
  continue: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_CONTINUE_LENGTH })),
});
export type ListQuery = Type.Static<typeof ListQuery>;

export const ObjectQuery = Type.Object({ namespace: Type.Optional(Namespace) });
export type ObjectQuery = Type.Static<typeof ObjectQuery>;

export const WatchQuery = Type.Object({
  namespace: Type.Optional(Namespace),
  labelSelector: Type.Optional(Selector),
  name: Type.Optional(NameFilter),
});
export type WatchQuery = Type.Static<typeof WatchQuery>;

export const NoQuery = Type.Object({});

export const LogsQuery = Type.Object({
  namespace: Type.Optional(Namespace),
  pod: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_DNS_SUBDOMAIN_CHARS, pattern: DNS_SUBDOMAIN_PATTERN })),
  labelSelector: Type.Optional(Selector),
  container: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_DNS_LABEL_CHARS, pattern: DNS_LABEL_PATTERN })),
  follow: Type.Optional(Type.Boolean()),
  tailLines: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_TAIL_LINES })),
  sinceSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_SINCE_SECONDS })),
  previous: Type.Optional(Type.Boolean()),
  timestamps: Type.Optional(Type.Boolean()),
  maxPods: Type.Optional(Type.Integer({ minimum: 1, maximum: LOG_LIMITS.maxPods })),
});
export type LogsQuery = Type.Static<typeof LogsQuery>;

/** Fastify's `querystring/limit must be >= 1` as `query parameter 'limit' must be >= 1`. */
export function validationMessage(message: string): string {
  const match = /^(querystring|params)\/(\w+) (.*)$/s.exec(message);
  if (!match) return message;
  return `${match[1] === 'params' ? 'path parameter' : 'query parameter'} '${match[2] ?? ''}' ${match[3] ?? ''}`;
}

/**
 * The request's query after fastify validated it against `schema` (routes
 * use attachValidation, so a failure arrives here): throws a 400 naming the
 * parameter, also for parameters the schema does not name, so a typo such as
 * `selector=` fails loudly instead of being ignored.
 */
export function checkedQuery<S extends Type.TObject>(req: { validationError?: Error; query: unknown }, schema: S): Type.Static<S> {
  if (req.validationError) throw badRequest(validationMessage(req.validationError.message));
  const allowed = Object.keys(schema.properties);
  for (const key of Object.keys(req.query as object)) {
    if (!allowed.includes(key)) {
      throw badRequest(`unknown query parameter '${key}'${allowed.length > 0 ? ` (allowed: ${allowed.join(', ')})` : ''}`);
    }
  }
  return req.query as Type.Static<S>;
}

/** The checks of a log request its schema cannot state; throws a 400 naming the parameter. */
export function checkLogsQuery(query: LogsQuery): void {
  if ((query.pod === undefined) === (query.labelSelector === undefined)) {
    throw badRequest('logs need exactly one of the query parameters pod and labelSelector');
  }
  if (query.maxPods !== undefined && query.labelSelector === undefined) {
    throw badRequest('maxPods applies only with labelSelector');
  }
}

/**
 * Whether a kind name, as a caller typed it, means Secrets: `secrets`,
 * `secret` or `Secret`, case-insensitively, optionally group-qualified
 * (`secrets.v1`). Answers are checked again by the KindInfo the agent
 * resolved (isSecretKind), so an alias this misses still cannot leak.
 */
export function namesSecrets(kind: string): boolean {
  const base = kind.toLowerCase().split('.')[0];
  return base === 'secrets' || base === 'secret';
}

/** Whether a kind the agent resolved is the core Secret. */
export function isSecretKind(kind: Pick<KindInfo, 'group' | 'resource'>): boolean {
  return kind.group === '' && kind.resource === 'secrets';
}

/** `path?query` for the agent, with the parameters that are set. */
export function agentPath(path: string, params: Record<string, string | number | boolean | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined) search.set(key, String(value));
  }
  const text = search.toString();
  return text === '' ? path : `${path}?${text}`;
}
