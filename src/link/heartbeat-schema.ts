// The heartbeat as the hub accepts it: every field of ClusterFacts typed and
// bounded, checked before a heartbeat is stored or shown. A heartbeat that
// does not fit is refused whole (the cluster's last good facts stay), so no
// consumer of stored facts (the fleet feed, the map, the CLI, the dashboard)
// ever meets a missing or mistyped field. Fields a newer agent adds are not an
// error: they are dropped, so older hubs keep working with newer agents.
//
// The bounds are far above what an agent sends (label values are at most 63
// characters, a version a few dozen) and only there so that one heartbeat
// cannot make the store, the fleet list and every dashboard carry megabytes.
import { isIP } from 'node:net';
import Type from 'typebox';
import { Compile } from 'typebox/compile';
import { UplinkError } from '../util/errors.ts';
import type { ClusterFacts, HeartbeatEvent } from './protocol.ts';

/** Longest text field in the facts: versions, names of platforms, clouds, regions and zones. */
export const MAX_FACT_TEXT_CHARS = 256;
/** Most distinct zones a heartbeat may name. */
export const MAX_FACT_ZONES = 4096;
/** Longest self-upgrade message (helm's error on a failure). */
export const MAX_UPGRADE_MESSAGE_CHARS = 64 * 1024;
/** Longest heartbeat interval believed: a day. */
export const MAX_HEARTBEAT_INTERVAL_SECONDS = 86_400;

/** RFC 3339 with a `T`, seconds and a zone: what the agent writes (toISOString). */
const RFC_3339 = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,9})?(Z|[+-]\\d{2}:\\d{2})$';

const Text = Type.String({ maxLength: MAX_FACT_TEXT_CHARS });
const Time = Type.String({ maxLength: 40, pattern: RFC_3339 });
const Count = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
const Seconds = Type.Number({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
const Nullable = <T extends Type.TSchema>(schema: T): Type.TUnion<[T, Type.TNull]> => Type.Union([schema, Type.Null()]);

const AgentUpgradeSchema = Type.Object({
  operationId: Type.String({ maxLength: 128 }),
  version: Type.String({ maxLength: 128 }),
  state: Type.Union([Type.Literal('running'), Type.Literal('succeeded'), Type.Literal('failed')]),
  message: Type.String({ maxLength: MAX_UPGRADE_MESSAGE_CHARS }),
  startedAt: Time,
  finishedAt: Nullable(Time),
});

/** ClusterFacts (protocol.ts) as a schema with bounds. */
export const ClusterFactsSchema = Type.Object({
  kubernetesVersion: Text,
  platform: Text,
  distribution: Text,
  cloud: Nullable(Text),
  region: Nullable(Text),
  zones: Type.Array(Text, { maxItems: MAX_FACT_ZONES }),
  nodes: Type.Object({ total: Count, ready: Count }),
  pods: Type.Object({ total: Count, running: Count, pending: Count, succeeded: Count, failed: Count, unknown: Count }),
  apiServer: Type.Object({ livez: Type.Boolean(), readyz: Type.Boolean() }),
  agent: Type.Object({ version: Text, nodeVersion: Text, uptimeSeconds: Seconds, memoryRssBytes: Count }),
  collectedAt: Time,
  inventory: Type.Optional(Type.Object({ synced: Type.Boolean(), objects: Count, kinds: Count, syncedKinds: Count, stalenessSeconds: Seconds })),
  egressIp: Type.Optional(Type.String({ maxLength: 45 })),
  agentUpgrade: Type.Optional(AgentUpgradeSchema),
  leader: Type.Optional(Type.Object({ pod: Text, identity: Text, term: Type.Integer({ minimum: 0, maximum: 2 ** 31 - 1 }), since: Time })),
});

const HeartbeatSchema = Type.Object({
  type: Type.Literal('heartbeat'),
  intervalSeconds: Type.Number({ exclusiveMinimum: 0, maximum: MAX_HEARTBEAT_INTERVAL_SECONDS }),
  facts: ClusterFactsSchema,
});

// The schema and the interface must describe the same thing; this fails to compile when they part.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
export const SCHEMA_MATCHES_PROTOCOL: Same<Type.Static<typeof ClusterFactsSchema>, ClusterFacts> = true;

const heartbeatValidator = Compile(HeartbeatSchema);
const factsValidator = Compile(ClusterFactsSchema);

/** Makes a copy of a value that fits the schema, holding only the properties it names. */
type Pick = (value: unknown) => unknown;

/**
 * A copier for values already checked against `schema`. TypeBox's Clean did
 * the same but walked the schema anew for each value: at 400 heartbeats a
 * second it was the hub's costliest function. Unions must be of scalars
 * (they are: nullable texts, literals), which are taken as they are.
 */
function pickerOf(schema: Type.TSchema): Pick {
  const shape = schema as { type?: unknown; properties?: Record<string, Type.TSchema>; items?: Type.TSchema; anyOf?: Type.TSchema[] };
  if (shape.type === 'object' && shape.properties !== undefined) {
    const fields = Object.entries(shape.properties).map(([name, field]) => [name, pickerOf(field)] as const);
    return (value) => {
      const source = value as Record<string, unknown>;
      const copy: Record<string, unknown> = {};
      for (const [name, pick] of fields) if (source[name] !== undefined) copy[name] = pick(source[name]);
      return copy;
    };
  }
  if (shape.type === 'array' && shape.items !== undefined) {
    const pick = pickerOf(shape.items);
    return (value) => (value as unknown[]).map(pick);
  }
  if (shape.anyOf?.some((branch) => pickerOf(branch) !== scalar) === true) throw new Error('a union of objects or arrays needs a picker of its own');
  return scalar;
}

const scalar: Pick = (value) => value;
const pickHeartbeat = pickerOf(HeartbeatSchema);
const pickFacts = pickerOf(ClusterFactsSchema);

/** A heartbeat that is not what the protocol says; `field` names the first bad one (`facts.region`), never its value. */
export class HeartbeatError extends UplinkError {
  readonly field: string;

  constructor(field: string, message: string) {
    super('HEARTBEAT_INVALID', message);
    this.field = field;
  }
}

/**
 * The heartbeat in `value` (one parsed NDJSON line), holding only the fields
 * the protocol names; throws HeartbeatError. The message names the field and
 * the rule broken, never the value sent.
 */
export function parseHeartbeat(value: unknown): HeartbeatEvent {
  if (!heartbeatValidator.Check(value)) {
    const [error] = heartbeatValidator.Errors(value);
    const field = fieldName(error?.instancePath ?? '', error?.params);
    throw new HeartbeatError(field, `heartbeat ${field === '' ? '' : `field ${field} `}${error?.message ?? 'is malformed'}`);
  }
  if (value.facts.egressIp !== undefined && isIP(value.facts.egressIp) === 0) {
    throw new HeartbeatError('facts.egressIp', 'heartbeat field facts.egressIp must be an IPv4 or IPv6 address');
  }
  return pickHeartbeat(value) as HeartbeatEvent;
}

/**
 * Facts read back from the store: null when they do not fit the schema
 * (stored by an older hub that did not check them), so readers can rely on
 * every field. Never throws.
 */
export function storedFacts(value: unknown): ClusterFacts | null {
  if (!factsValidator.Check(value)) return null;
  if (value.egressIp !== undefined && isIP(value.egressIp) === 0) return null;
  return pickFacts(value) as ClusterFacts;
}

/** `/facts/zones/3` → `facts.zones.3`; a missing property is named after the object holding it. */
function fieldName(instancePath: string, params: unknown): string {
  const path = instancePath.split('/').filter((part) => part !== '');
  const missing = (params as { requiredProperties?: unknown } | undefined)?.requiredProperties;
  if (Array.isArray(missing) && typeof missing[0] === 'string') path.push(missing[0]);
  return path.join('.');
}
