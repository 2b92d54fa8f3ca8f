// Where the agent keeps its desired add-ons across restarts, beside its state
// (state.ts): a Secret of its own namespace in a cluster, or a 0600 file
// outside one. A Secret because values may hold credentials. The Secret holds
// the set as gzipped JSON: Secrets are capped at 1 MiB and values compress
// well; a set too large even so fails to save and the hub retries it.
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { DesiredAddonSet } from '../../link/addons.ts';
import { UplinkError } from '../../util/errors.ts';
import { apiError, type KubeClient } from '../kube.ts';
import { parseDesiredAddonSet } from './desired-set.ts';

/** The Secret's name in the agent's namespace. */
export const DESIRED_ADDONS_SECRET = 'uplink-agent-addons';
/** The file's name, in the state file's directory. */
export const DESIRED_ADDONS_FILE = 'agent-addons.json';
const SECRET_KEY = 'desired.json.gz';

export interface DesiredAddonsStore {
  /** Where the set lives, for logs. */
  describe(): string;
  /** The stored set, or undefined when none was ever stored. */
  load(): Promise<DesiredAddonSet | undefined>;
  /** Resolves once the set is durable. */
  save(set: DesiredAddonSet): Promise<void>;
}

/** Code DESIRED_ADDONS_STORE_FAILED: the set could not be read or written. */
export class DesiredAddonsStoreError extends UplinkError {
  constructor(message: string, options?: ErrorOptions) {
    super('DESIRED_ADDONS_STORE_FAILED', message, options);
  }
}

function decode(text: string, where: string): DesiredAddonSet {
  try {
    return parseDesiredAddonSet(JSON.parse(text));
  } catch (error) {
    throw new DesiredAddonsStoreError(`desired add-ons in ${where} are unreadable (${(error as Error).message}); fix or remove them, the hub sends the set again on the next link`, { cause: error });
  }
}

export class FileDesiredAddonsStore implements DesiredAddonsStore {
  private readonly path: string;

  constructor(path: string) {
    this.path = path;
  }

  describe(): string {
    return `file ${this.path}`;
  }

  // eslint-disable-next-line @typescript-eslint/require-await -- async so that every failure is a rejection
  async load(): Promise<DesiredAddonSet | undefined> {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new DesiredAddonsStoreError(`cannot read ${this.path}: ${(error as Error).message}`, { cause: error });
    }
    return decode(text, this.describe());
  }

  /** Writes atomically (temp file + rename) with mode 0600. */
  save(set: DesiredAddonSet): Promise<void> {
    try {
      mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
      const temp = `${this.path}.${process.pid}.tmp`;
      writeFileSync(temp, JSON.stringify(set), { mode: 0o600 });
      chmodSync(temp, 0o600);
      renameSync(temp, this.path);
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(new DesiredAddonsStoreError(`cannot write ${this.path}: ${(error as Error).message}`, { cause: error }));
    }
  }
}

interface SecretObject {
  data?: Record<string, string>;
}

export class SecretDesiredAddonsStore implements DesiredAddonsStore {
  private readonly kube: KubeClient;
  private readonly namespace: string;
  private readonly name: string;

  constructor(kube: KubeClient, namespace: string, name = DESIRED_ADDONS_SECRET) {
    this.kube = kube;
    this.namespace = namespace;
    this.name = name;
  }

  describe(): string {
    return `secret ${this.namespace}/${this.name}`;
  }

  private path(name = this.name): string {
    return `/api/v1/namespaces/${encodeURIComponent(this.namespace)}/secrets${name ? `/${encodeURIComponent(name)}` : ''}`;
  }

  async load(): Promise<DesiredAddonSet | undefined> {
    const response = await this.kube.request<SecretObject>('GET', this.path());
    if (response.status === 404) return undefined;
    if (response.status !== 200) throw new DesiredAddonsStoreError(`cannot read ${this.describe()}`, { cause: apiError('GET', this.path(), response) });
    const data = response.body.data?.[SECRET_KEY];
    if (data === undefined) return undefined;
    let text: string;
    try {
      text = gunzipSync(Buffer.from(data, 'base64')).toString('utf8');
    } catch (error) {
      throw new DesiredAddonsStoreError(`${this.describe()} does not hold gzipped JSON; remove it, the hub sends the set again on the next link`, { cause: error });
    }
    return decode(text, this.describe());
  }

  async save(set: DesiredAddonSet): Promise<void> {
    const body = {
      apiVersion: 'v1', kind: 'Secret', type: 'Opaque',
      metadata: { name: this.name, namespace: this.namespace, labels: { 'app.kubernetes.io/managed-by': 'uplink-agent' } },
      data: { [SECRET_KEY]: gzipSync(JSON.stringify(set)).toString('base64') },
    };
    // Unconditional replace (no resourceVersion): the agent is the only writer.
    let response = await this.kube.request('PUT', this.path(), body);
    if (response.status === 404) response = await this.kube.request('POST', this.path(''), body);
    if (response.status < 200 || response.status > 299) {
      throw new DesiredAddonsStoreError(`cannot write ${this.describe()}`, { cause: apiError('PUT', this.path(), response) });
    }
  }
}
