// Reading an add-on status as an agent sends it on the events stream. An
// agent is not trusted: every field is checked for its type, and a status of
// the wrong shape is refused naming the field. Sizes are bounded without
// refusing: texts longer than their cap are cut (helm's descriptions and
// errors run long), lists are cut to the wire limits keeping their important
// end, fields this hub does not know are dropped (a newer agent may send
// more), and the status as stored must still fit MAX_STORED_STATUS_BYTES.
import {
  MAX_STATUS_MESSAGE_CHARS, MAX_STATUS_OBJECTS, MAX_STATUS_REVISIONS, type AddonHealth, type AddonHealthStatus,
  type AddonDrift, type AddonDriftState, type AddonObjectDrift, type AddonObjectHealth, type AddonOperationReport, type AddonWindowState, type AddonPhase, type AddonRelease, type AddonRevision, type AddonStatus,
} from '../../link/addons.ts';
import { UplinkError } from '../../util/errors.ts';
import { isReleaseName } from '../../domain/kube-names.ts';

/** Largest status stored per add-on, as JSON; a real one is a few KiB. */
export const MAX_STORED_STATUS_BYTES = 64 * 1024;
/** Longest name, kind, version, id or timestamp kept; messages keep MAX_STATUS_MESSAGE_CHARS. */
const MAX_SHORT_CHARS = 253;

// Records over each union, so adding a member to the wire type without
// adding it here fails to compile.
const PHASES = keysOf<AddonPhase>({
  Pending: true, Waiting: true, Installing: true, Upgrading: true, RollingBack: true, Uninstalling: true, Deployed: true, Failed: true,
  Uninstalled: true,
});
const HEALTH_STATUSES = keysOf<AddonHealthStatus>({
  Healthy: true, Progressing: true, Degraded: true, Suspended: true, Missing: true, Unknown: true,
});
const ACTIONS = keysOf<AddonOperationReport['action']>({ install: true, upgrade: true, rollback: true, uninstall: true, heal: true, prune: true });
const TRIGGERS = keysOf<AddonOperationReport['trigger']>({ desired: true, retry: true, manual: true, sweep: true });
const RESULTS = keysOf<AddonOperationReport['result']>({ running: true, succeeded: true, failed: true, cancelled: true });
const DRIFT_STATES = keysOf<AddonDriftState>({ InSync: true, Drifted: true, Missing: true, Unknown: true });
/** Changed paths kept per object. */
const MAX_DRIFT_PATHS = 20;

function keysOf<T extends string>(members: Record<T, true>): readonly T[] {
  return Object.keys(members) as T[];
}

/** A status that is not what the wire type says; `field` is the path at fault, e.g. `health.objects[3].status`. */
export class AddonStatusError extends UplinkError {
  readonly field: string;

  constructor(field: string, message: string) {
    super('ADDON_STATUS_INVALID', message);
    this.field = field;
  }
}

/** One JSON object of a status at a path. Absent and null are the same: nullable fields read them as null. */
class StatusObject {
  readonly #fields: Record<string, unknown>;
  readonly #path: string;

  private constructor(fields: Record<string, unknown>, path: string) {
    this.#fields = fields;
    this.#path = path;
  }

  static read(value: unknown, path: string): StatusObject {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new AddonStatusError(path, `${path || 'status'} must be an object`);
    return new StatusObject(value as Record<string, unknown>, path);
  }

  field(key: string): string {
    return this.#path === '' ? key : `${this.#path}.${key}`;
  }

  #present(key: string): unknown {
    const value = this.#fields[key] ?? undefined;
    if (value === undefined) throw new AddonStatusError(this.field(key), `${this.field(key)} is required`);
    return value;
  }

  #wrong(key: string, expected: string): AddonStatusError {
    return new AddonStatusError(this.field(key), `${this.field(key)} must be ${expected}`);
  }

  #nullable<T>(key: string, read: (key: string) => T): T | null {
    return (this.#fields[key] ?? null) === null ? null : read(key);
  }

  /** A string, cut to `maxChars` (the last kept character becomes '…'). */
  text(key: string, maxChars = MAX_SHORT_CHARS): string {
    const value = this.#present(key);
    if (typeof value !== 'string') throw this.#wrong(key, 'a string');
    return value.length > maxChars ? `${value.slice(0, maxChars - 1)}…` : value;
  }

  textOrNull(key: string, maxChars = MAX_SHORT_CHARS): string | null {
    return this.#nullable(key, (k) => this.text(k, maxChars));
  }

  /**
   * A time as the agent wrote it (RFC 3339 from the agent, helm's own format
   * inside release data); only its type and length are checked, as nothing
   * on the hub computes with it.
   */
  time(key: string): string {
    return this.text(key);
  }

  timeOrNull(key: string): string | null {
    return this.#nullable(key, (k) => this.time(k));
  }

  count(key: string, min = 0): number {
    const value = this.#present(key);
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) throw this.#wrong(key, `a whole number of at least ${min}`);
    return value;
  }

  countOrNull(key: string, min = 0): number | null {
    return this.#nullable(key, (k) => this.count(k, min));
  }

  secondsOrNull(key: string): number | null {
    return this.#nullable(key, (k) => {
      const value = this.#present(k);
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw this.#wrong(k, 'a number of seconds');
      return value;
    });
  }

  flag(key: string): boolean {
    const value = this.#present(key);
    if (typeof value !== 'boolean') throw this.#wrong(key, 'true or false');
    return value;
  }

  oneOf<T extends string>(key: string, members: readonly T[]): T {
    const value = this.#present(key);
    if (!members.includes(value as T)) throw this.#wrong(key, `one of ${members.join(', ')}`);
    return value as T;
  }

  objectOrNull<T>(key: string, read: (object: StatusObject) => T): T | null {
    return this.#nullable(key, (k) => read(StatusObject.read(this.#fields[k], this.field(k))));
  }

  /** A list of strings, cut to `maxItems` (each string to MAX_SHORT_CHARS); absent reads as empty. */
  texts(key: string, maxItems: number): string[] {
    const value = this.#fields[key] ?? [];
    if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) throw this.#wrong(key, 'a list of strings');
    return (value).slice(0, maxItems).map((item) => (item.length > MAX_SHORT_CHARS ? `${item.slice(0, MAX_SHORT_CHARS - 1)}…` : item));
  }

  /** A list, cut to `maxItems` keeping its `keep` end. */
  list<T>(key: string, limit: { maxItems: number; keep: 'first' | 'last' }, read: (object: StatusObject) => T): T[] {
    const value = this.#present(key);
    if (!Array.isArray(value)) throw this.#wrong(key, 'a list');
    const offset = limit.keep === 'last' ? Math.max(0, value.length - limit.maxItems) : 0;
    return value.slice(offset, offset + limit.maxItems)
      .map((item, index) => read(StatusObject.read(item, `${this.field(key)}[${offset + index}]`)));
  }
}

function readRelease(o: StatusObject): AddonRelease {
  return {
    namespace: o.text('namespace'), revision: o.count('revision', 1), status: o.text('status'), chart: o.text('chart'),
    chartVersion: o.text('chartVersion'), appVersion: o.text('appVersion'), updated: o.time('updated'),
    description: o.text('description', MAX_STATUS_MESSAGE_CHARS),
  };
}

function readObjectHealth(o: StatusObject): AddonObjectHealth {
  // Cluster-scoped objects have none; '' is read the same way.
  const namespace = o.textOrNull('namespace') ?? '';
  return {
    kind: o.text('kind'), name: o.text('name'), ...(namespace === '' ? {} : { namespace }),
    status: o.oneOf('status', HEALTH_STATUSES), message: o.text('message', MAX_STATUS_MESSAGE_CHARS),
  };
}

function readHealth(o: StatusObject): AddonHealth {
  return {
    status: o.oneOf('status', HEALTH_STATUSES), message: o.text('message', MAX_STATUS_MESSAGE_CHARS), healthy: o.flag('healthy'),
    // Worst first: the first ones matter.
    objects: o.list('objects', { maxItems: MAX_STATUS_OBJECTS, keep: 'first' }, readObjectHealth), objectCount: o.count('objectCount'), checkedAt: o.time('checkedAt'),
  };
}

function readOperation(o: StatusObject): AddonOperationReport {
  return {
    id: o.text('id'), action: o.oneOf('action', ACTIONS), trigger: o.oneOf('trigger', TRIGGERS), requestedBy: o.textOrNull('requestedBy'),
    targetRevision: o.countOrNull('targetRevision', 1), startedAt: o.time('startedAt'), finishedAt: o.timeOrNull('finishedAt'),
    durationSeconds: o.secondsOrNull('durationSeconds'), result: o.oneOf('result', RESULTS), code: o.textOrNull('code'),
    message: o.text('message', MAX_STATUS_MESSAGE_CHARS), rolledBack: o.flag('rolledBack'), revision: o.countOrNull('revision', 1),
  };
}

function readObjectDrift(o: StatusObject): AddonObjectDrift {
  const namespace = o.textOrNull('namespace') ?? '';
  return {
    apiVersion: o.text('apiVersion'), kind: o.text('kind'), name: o.text('name'), ...(namespace === '' ? {} : { namespace }),
    state: o.oneOf('state', DRIFT_STATES), paths: o.texts('paths', MAX_DRIFT_PATHS), message: o.text('message', MAX_STATUS_MESSAGE_CHARS),
  };
}

function readDrift(o: StatusObject): AddonDrift {
  const state = o.oneOf('state', DRIFT_STATES);
  if (state === 'Missing') throw new AddonStatusError(o.field('state'), `${o.field('state')} must be InSync, Drifted or Unknown`);
  return {
    state, objects: o.list('objects', { maxItems: MAX_STATUS_OBJECTS, keep: 'first' }, readObjectDrift), inspected: o.count('inspected'),
    checkedAt: o.time('checkedAt'), pruned: o.texts('pruned', MAX_STATUS_OBJECTS),
  };
}

function readWindow(o: StatusObject): AddonWindowState {
  return { open: o.flag('open'), opensAt: o.timeOrNull('opensAt'), closesAt: o.timeOrNull('closesAt') };
}

function readRevision(o: StatusObject): AddonRevision {
  return {
    revision: o.count('revision', 1), updated: o.time('updated'), status: o.text('status'), chart: o.text('chart'),
    appVersion: o.text('appVersion'), description: o.text('description', MAX_STATUS_MESSAGE_CHARS),
  };
}

/** The status in `value`, holding exactly the fields of AddonStatus; throws AddonStatusError naming the first bad field. */
export function parseAddonStatus(value: unknown): AddonStatus {
  const o = StatusObject.read(value, '');
  const name = o.text('name');
  if (!isReleaseName(name)) throw new AddonStatusError('name', 'name must be an add-on name (a DNS-1123 label of at most 53 characters)');
  const status: AddonStatus = {
    name, generation: o.count('generation', 1), phase: o.oneOf('phase', PHASES), message: o.text('message', MAX_STATUS_MESSAGE_CHARS),
    inSync: o.flag('inSync'), release: o.objectOrNull('release', readRelease), health: o.objectOrNull('health', readHealth),
    lastOperation: o.objectOrNull('lastOperation', readOperation),
    // Absent from agents before the reconcile loop: read as null.
    drift: o.objectOrNull('drift', readDrift), syncWindow: o.objectOrNull('syncWindow', readWindow),
    // Newest last: the last ones matter.
    history: o.list('history', { maxItems: MAX_STATUS_REVISIONS, keep: 'last' }, readRevision),
    failures: o.count('failures'), nextRetryAt: o.timeOrNull('nextRetryAt'), observedAt: o.time('observedAt'),
  };
  const bytes = Buffer.byteLength(JSON.stringify(status));
  if (bytes > MAX_STORED_STATUS_BYTES) throw new AddonStatusError('', `the status is ${bytes} bytes as JSON, over the ${MAX_STORED_STATUS_BYTES} stored`);
  return status;
}
