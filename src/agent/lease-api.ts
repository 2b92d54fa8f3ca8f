// The Lease (coordination.k8s.io/v1) the agent's replicas elect their leader
// on, read and written through the agent's own API client. The elector
// (leader-election.ts) sees only the narrow LeaseApi interface, so its logic
// runs in unit tests against an in-memory Lease.
import { apiError, KubeApiError, type KubeClient } from './kube.ts';

/** The leader election record a Lease's spec holds, as client-go's LeaderElectionRecord. */
export interface LeaseRecord {
  /** Who holds the lease; empty when nobody does (never acquired, or released). */
  holderIdentity: string;
  /** How long the holder's claim lasts after the last change anyone observed. */
  leaseDurationSeconds: number;
  /** When the current holder acquired it (RFC 3339 with microseconds), if ever. */
  acquireTime?: string | undefined;
  /** When the holder last renewed it. */
  renewTime?: string | undefined;
  /** How many times the lease changed hands. */
  leaseTransitions: number;
}

/** A Lease as last read or written: its record and what an update must carry. */
export interface LeaseSnapshot {
  /** For optimistic concurrency: an update carrying an older one is refused with 409. */
  resourceVersion: string;
  record: LeaseRecord;
  /** Labels and annotations, kept so that a full-object update does not drop them. */
  labels?: Record<string, string> | undefined;
  annotations?: Record<string, string> | undefined;
}

/**
 * The three calls leader election needs. Each rejects with KubeApiError: status
 * 409 when the write lost a race (create: it exists; update: the resourceVersion
 * is stale), 0 when the API server did not answer within `timeoutMs`.
 */
export interface LeaseApi {
  /** The Lease, or undefined when it does not exist. */
  get(timeoutMs: number): Promise<LeaseSnapshot | undefined>;
  create(record: LeaseRecord, timeoutMs: number): Promise<LeaseSnapshot>;
  /** Replaces the record of `previous`, refused unless the Lease is still at its resourceVersion. */
  update(previous: LeaseSnapshot, record: LeaseRecord, timeoutMs: number): Promise<LeaseSnapshot>;
}

/** Longest holder identity accepted from a Lease: a pod name (253) with a suffix, with room to spare. */
const MAX_HOLDER_IDENTITY = 1024;
/** Lease durations and transition counts are int32 in the API. */
const MAX_INT32 = 2 ** 31 - 1;
const MAX_TIME_LENGTH = 64;

/** A time as the API's MicroTime: RFC 3339 with exactly six fractional digits, which the API server requires. */
export function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

function boundedInt(value: unknown, field: string): number {
  if (value === undefined || value === null) return 0;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_INT32) {
    throw new Error(`spec.${field} is not an integer from 0 to ${MAX_INT32}`);
  }
  return value;
}

function optionalTime(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value.length > MAX_TIME_LENGTH) throw new Error(`spec.${field} is not a time`);
  return value;
}

function stringMap(value: unknown): Record<string, string> | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const entries = Object.entries(value as Record<string, unknown>);
  return entries.every(([, v]) => typeof v === 'string') ? Object.fromEntries(entries) as Record<string, string> : undefined;
}

/**
 * A Lease object from the API server, checked: anything else than a Lease
 * with a resourceVersion and a spec of the right types throws Error naming
 * the field. Missing fields read as client-go reads them (empty, zero).
 */
export function parseLease(body: unknown): LeaseSnapshot {
  if (typeof body !== 'object' || body === null) throw new Error('not a JSON object');
  const { metadata, spec } = body as { metadata?: unknown; spec?: unknown };
  if (typeof metadata !== 'object' || metadata === null) throw new Error('no metadata');
  const meta = metadata as { resourceVersion?: unknown; labels?: unknown; annotations?: unknown };
  if (typeof meta.resourceVersion !== 'string' || meta.resourceVersion === '' || meta.resourceVersion.length > 64) {
    throw new Error('metadata.resourceVersion is missing');
  }
  const fields = (typeof spec === 'object' && spec !== null ? spec : {}) as Record<string, unknown>;
  const holder = fields.holderIdentity ?? '';
  if (typeof holder !== 'string' || holder.length > MAX_HOLDER_IDENTITY) throw new Error(`spec.holderIdentity is not a string of at most ${MAX_HOLDER_IDENTITY} characters`);
  return {
    resourceVersion: meta.resourceVersion,
    record: {
      holderIdentity: holder,
      leaseDurationSeconds: boundedInt(fields.leaseDurationSeconds, 'leaseDurationSeconds'),
      acquireTime: optionalTime(fields.acquireTime, 'acquireTime'),
      renewTime: optionalTime(fields.renewTime, 'renewTime'),
      leaseTransitions: boundedInt(fields.leaseTransitions, 'leaseTransitions'),
    },
    labels: stringMap(meta.labels),
    annotations: stringMap(meta.annotations),
  };
}

/** The Lease `namespace/name` through the agent's API client. */
export class KubeLeaseApi implements LeaseApi {
  private readonly kube: KubeClient;
  private readonly namespace: string;
  private readonly name: string;

  constructor(options: { kube: KubeClient; namespace: string; name: string }) {
    this.kube = options.kube;
    this.namespace = options.namespace;
    this.name = options.name;
  }

  describe(): string {
    return `lease ${this.namespace}/${this.name}`;
  }

  private path(withName = true): string {
    const base = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(this.namespace)}/leases`;
    return withName ? `${base}/${encodeURIComponent(this.name)}` : base;
  }

  async get(timeoutMs: number): Promise<LeaseSnapshot | undefined> {
    const response = await this.kube.request('GET', this.path(), undefined, timeoutMs);
    if (response.status === 404) return undefined;
    return this.parsed('GET', this.path(), response);
  }

  async create(record: LeaseRecord, timeoutMs: number): Promise<LeaseSnapshot> {
    const body = this.object(record, undefined);
    const response = await this.kube.request('POST', this.path(false), body, timeoutMs);
    return this.parsed('POST', this.path(false), response);
  }

  async update(previous: LeaseSnapshot, record: LeaseRecord, timeoutMs: number): Promise<LeaseSnapshot> {
    const response = await this.kube.request('PUT', this.path(), this.object(record, previous), timeoutMs);
    return this.parsed('PUT', this.path(), response);
  }

  private object(record: LeaseRecord, previous: LeaseSnapshot | undefined): unknown {
    const { acquireTime, renewTime, ...rest } = record;
    return {
      apiVersion: 'coordination.k8s.io/v1', kind: 'Lease',
      metadata: {
        name: this.name, namespace: this.namespace,
        ...(previous ? { resourceVersion: previous.resourceVersion } : {}),
        labels: previous?.labels ?? { 'app.kubernetes.io/managed-by': 'uplink-agent' },
        ...(previous?.annotations ? { annotations: previous.annotations } : {}),
      },
      spec: { ...rest, ...(acquireTime !== undefined ? { acquireTime } : {}), ...(renewTime !== undefined ? { renewTime } : {}) },
    };
  }

  private parsed(method: string, path: string, response: { status: number; body: unknown }): LeaseSnapshot {
    if (response.status < 200 || response.status > 299) throw apiError(method, path, response);
    try {
      return parseLease(response.body);
    } catch (error) {
      throw new KubeApiError(response.status, `${method} ${path}: the API server answered a malformed Lease: ${(error as Error).message}`, { cause: error });
    }
  }
}
