// An exposure: one port of one Service of a cluster, published by an admin
// through the hub's Service gateway at `/gw/<cluster>/<name>/`. What the API
// takes (parseExposureInput, the boundary parser) and the record the store
// keeps. The agent reaches the Service only by the exposure's opaque id, so
// nothing a gateway request carries can name another address.
import { randomBytes } from 'node:crypto';
import { CodedError } from './error-codes.ts';
import { isDnsLabel, isPortName, MAX_DNS_LABEL_CHARS } from './kube-names.ts';

/** Which roles on the cluster may open an exposure: this one and those above it. */
export type ExposureRole = 'view' | 'edit' | 'admin';

/** The roles from least to most. */
export const EXPOSURE_ROLES: readonly ExposureRole[] = ['view', 'edit', 'admin'];

/** Longest exposure name: it becomes part of a host name, `<name>--<cluster>.<domain>`. */
export const MAX_EXPOSURE_NAME_CHARS = 40;

/** A published Service port, as the store keeps it and the API answers it (with `url`). */
export interface Exposure {
  /** Random and opaque (EXPOSURE_ID): what the hub sends the agent, never an address. */
  id: string;
  clusterId: string;
  /** A DNS label of at most 40 characters; unique per cluster. */
  name: string;
  namespace: string;
  service: string;
  /** The Service's port: its number or its name. */
  port: number | string;
  /** The least role on the cluster that may open it. */
  minRole: ExposureRole;
  /** The name of the user who published it. */
  createdBy: string;
  /** ISO 8601. */
  createdAt: string;
}

/** What a caller asks for: the body of `POST …/exposures`, checked, with defaults filled in. */
export interface ExposureInput {
  name: string;
  namespace: string;
  service: string;
  port: number | string;
  minRole: ExposureRole;
}

/** `ex_` and 20 lowercase base32 characters (100 random bits). */
const EXPOSURE_ID = /^ex_[a-z2-7]{20}$/;
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';
const PORT_NUMBER = /^[1-9][0-9]{0,4}$/;
const FIELDS: ReadonlySet<string> = new Set(['name', 'namespace', 'service', 'port', 'minRole']);

/** A new random exposure id. */
export function newExposureId(): string {
  return `ex_${[...randomBytes(20)].map((byte) => BASE32.charAt(byte & 31)).join('')}`;
}

/** Whether `value` has the form of an exposure id (bounded: anything else is refused before any lookup). */
export function isExposureId(value: unknown): value is string {
  return typeof value === 'string' && value.length === 23 && EXPOSURE_ID.test(value);
}

/** Whether `role` may open an exposure that needs `minRole`. */
export function roleAllows(role: ExposureRole, minRole: ExposureRole): boolean {
  return EXPOSURE_ROLES.indexOf(role) >= EXPOSURE_ROLES.indexOf(minRole);
}

/** The path the hub serves an exposure at. */
export function exposurePath(clusterName: string, name: string): string {
  return `/gw/${clusterName}/${name}/`;
}

/** A port in a body: a whole number from 1 to 65535, the same as decimal text, or a port name. Undefined when it is none. */
export function parseExposurePort(value: unknown): number | string | undefined {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 1 && value <= 65_535 ? value : undefined;
  if (typeof value !== 'string') return undefined;
  if (PORT_NUMBER.test(value)) {
    const port = Number(value);
    return port <= 65_535 ? port : undefined;
  }
  return isPortName(value) ? value : undefined;
}

function invalid(message: string): CodedError {
  return new CodedError('EXPOSURE_INVALID', message);
}

function quoted(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value.slice(0, 80)) : typeof value;
}

/** A required DNS label field of the body. */
function labelField(body: Record<string, unknown>, field: 'namespace' | 'service', what: string): string {
  const value = body[field];
  if (value === undefined || value === '') throw invalid(`${field} is required: ${what}`);
  if (typeof value !== 'string' || value.length > MAX_DNS_LABEL_CHARS || !isDnsLabel(value)) {
    throw invalid(`${field} must be a DNS label (${what}), got ${quoted(value)}`);
  }
  return value;
}

/**
 * Checks the body of `POST /api/v1/clusters/:c/exposures`: `{name?, namespace,
 * service, port, minRole?}`. `name` defaults to the Service's name and
 * `minRole` to `view`; unknown fields are refused (a typo must not publish
 * something else than meant). Throws CodedError EXPOSURE_INVALID naming the
 * first bad field.
 */
export function parseExposureInput(body: unknown): ExposureInput {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalid('the body must be a JSON object {name?, namespace, service, port, minRole?}');
  const fields = body as Record<string, unknown>;
  const unknown = Object.keys(fields).find((key) => !FIELDS.has(key));
  if (unknown !== undefined) throw invalid(`unknown field ${JSON.stringify(unknown.slice(0, 40))}; the fields are name, namespace, service, port and minRole`);
  const namespace = labelField(fields, 'namespace', 'the Service\'s namespace');
  const service = labelField(fields, 'service', 'the Service\'s name');
  if (fields.port === undefined) throw invalid('port is required: the Service\'s port number or name');
  const port = parseExposurePort(fields.port);
  if (port === undefined) throw invalid(`port must be a number from 1 to 65535 or a port name, got ${quoted(fields.port)}`);
  const name = fields.name ?? service;
  if (typeof name !== 'string' || name.length > MAX_EXPOSURE_NAME_CHARS || !isDnsLabel(name)) {
    const why = fields.name === undefined ? `the Service's name is longer than ${MAX_EXPOSURE_NAME_CHARS} characters; give name` : `got ${quoted(name)}`;
    throw invalid(`name must be a DNS label of at most ${MAX_EXPOSURE_NAME_CHARS} characters (${why})`);
  }
  const minRole = fields.minRole ?? 'view';
  if (typeof minRole !== 'string' || !(EXPOSURE_ROLES as readonly string[]).includes(minRole)) {
    throw invalid(`minRole must be one of ${EXPOSURE_ROLES.join(', ')}, got ${quoted(minRole)}`);
  }
  return { name, namespace, service, port, minRole: minRole as ExposureRole };
}
