// What the agent must remember across restarts: a rotated cluster token and
// the hub CA it fetched through its pin. Kept in a Secret of its own
// namespace when it runs in a cluster, or a 0600 file outside one.
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { UplinkError } from '../util/errors.ts';
import { apiError, type KubeClient } from './kube.ts';

export interface AgentState {
  /** The cluster token last delivered by a rotation; wins over the configured one. */
  token?: string;
  /** The hub's CA certificate (PEM), fetched once and checked against the pin. */
  hubCaPem?: string;
}

export interface StateStore {
  /** Where the state lives, for logs. */
  describe(): string;
  load(): Promise<AgentState>;
  save(state: AgentState): Promise<void>;
}

export class StateError extends UplinkError {
  constructor(message: string, options?: ErrorOptions) {
    super('AGENT_STATE_FAILED', message, options);
  }
}

function clean(state: AgentState): AgentState {
  const out: AgentState = {};
  if (typeof state.token === 'string' && state.token !== '') out.token = state.token;
  if (typeof state.hubCaPem === 'string' && state.hubCaPem !== '') out.hubCaPem = state.hubCaPem;
  return out;
}

export class FileStateStore implements StateStore {
  private readonly path: string;

  constructor(path: string) {
    this.path = path;
  }

  describe(): string {
    return `file ${this.path}`;
  }

  load(): Promise<AgentState> {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return Promise.resolve({});
      return Promise.reject(new StateError(`cannot read agent state ${this.path}: ${(error as Error).message}`, { cause: error }));
    }
    try {
      return Promise.resolve(clean(JSON.parse(text) as AgentState));
    } catch (error) {
      return Promise.reject(new StateError(`agent state ${this.path} is not JSON; fix or remove it`, { cause: error }));
    }
  }

  /** Writes atomically (temp file + rename) with mode 0600. */
  save(state: AgentState): Promise<void> {
    try {
      mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
      const temp = `${this.path}.${process.pid}.tmp`;
      writeFileSync(temp, JSON.stringify(clean(state)), { mode: 0o600 });
      chmodSync(temp, 0o600);
      renameSync(temp, this.path);
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(new StateError(`cannot write agent state ${this.path}: ${(error as Error).message}`, { cause: error }));
    }
  }
}

const SECRET_KEYS = { token: 'token', hubCaPem: 'hub-ca.crt' } as const;

interface SecretObject {
  metadata?: { resourceVersion?: string };
  data?: Record<string, string>;
}

export class SecretStateStore implements StateStore {
  private readonly kube: KubeClient;
  private readonly namespace: string;
  private readonly name: string;

  constructor(kube: KubeClient, namespace: string, name: string) {
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

  async load(): Promise<AgentState> {
    const response = await this.kube.request<SecretObject>('GET', this.path());
    if (response.status === 404) return {};
    if (response.status !== 200) throw new StateError(`cannot read agent state from ${this.describe()}`, { cause: apiError('GET', this.path(), response) });
    const data = response.body.data ?? {};
    const decode = (key: string): string | undefined => (data[key] === undefined ? undefined : Buffer.from(data[key], 'base64').toString('utf8'));
    return clean({ token: decode(SECRET_KEYS.token), hubCaPem: decode(SECRET_KEYS.hubCaPem) });
  }

  async save(state: AgentState): Promise<void> {
    const data: Record<string, string> = {};
    const cleaned = clean(state);
    if (cleaned.token !== undefined) data[SECRET_KEYS.token] = Buffer.from(cleaned.token).toString('base64');
    if (cleaned.hubCaPem !== undefined) data[SECRET_KEYS.hubCaPem] = Buffer.from(cleaned.hubCaPem).toString('base64');
    const body = {
      apiVersion: 'v1', kind: 'Secret', type: 'Opaque',
      metadata: { name: this.name, namespace: this.namespace, labels: { 'app.kubernetes.io/managed-by': 'uplink-agent' } },
      data,
    };
    // Replace, creating on first save. A PUT without resourceVersion is an
    // unconditional update: the agent is the only writer of this Secret.
    let response = await this.kube.request('PUT', this.path(), body);
    if (response.status === 404) response = await this.kube.request('POST', this.path(''), body);
    if (response.status < 200 || response.status > 299) {
      throw new StateError(`cannot write agent state to ${this.describe()}`, { cause: apiError('PUT', this.path(), response) });
    }
  }
}
