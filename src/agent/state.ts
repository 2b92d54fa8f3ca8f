// What the agent must remember across restarts: a rotated cluster token and
// the hub CA it fetched through its pin. Kept in a Secret of its own
// namespace when it runs in a cluster, or a 0600 file outside one.
import { UplinkError } from '../util/errors.ts';
import type { KubeClient } from './kube.ts';
import { OwnSecret, readOptionalFile, writePrivateFile } from './own-storage.ts';

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

  // eslint-disable-next-line @typescript-eslint/require-await -- async so that every failure is a rejection
  async load(): Promise<AgentState> {
    let text: string | undefined;
    try {
      text = readOptionalFile(this.path);
    } catch (error) {
      throw new StateError(`cannot read agent state ${this.path}: ${(error as Error).message}`, { cause: error });
    }
    if (text === undefined) return {};
    try {
      return clean(JSON.parse(text) as AgentState);
    } catch (error) {
      throw new StateError(`agent state ${this.path} is not JSON; fix or remove it`, { cause: error });
    }
  }

  /** Writes atomically (temp file + rename) with mode 0600. */
  // eslint-disable-next-line @typescript-eslint/require-await -- async so that every failure is a rejection
  async save(state: AgentState): Promise<void> {
    try {
      writePrivateFile(this.path, JSON.stringify(clean(state)));
    } catch (error) {
      throw new StateError(`cannot write agent state ${this.path}: ${(error as Error).message}`, { cause: error });
    }
  }
}

const SECRET_KEYS = { token: 'token', hubCaPem: 'hub-ca.crt' } as const;

export class SecretStateStore implements StateStore {
  private readonly secret: OwnSecret;

  constructor(kube: KubeClient, namespace: string, name: string) {
    this.secret = new OwnSecret(kube, namespace, name);
  }

  describe(): string {
    return this.secret.describe();
  }

  async load(): Promise<AgentState> {
    let data: Record<string, Buffer> | undefined;
    try {
      data = await this.secret.read();
    } catch (error) {
      throw new StateError(`cannot read agent state from ${this.describe()}`, { cause: error });
    }
    return clean({ token: data?.[SECRET_KEYS.token]?.toString('utf8'), hubCaPem: data?.[SECRET_KEYS.hubCaPem]?.toString('utf8') });
  }

  async save(state: AgentState): Promise<void> {
    const cleaned = clean(state);
    const data: Record<string, string> = {};
    if (cleaned.token !== undefined) data[SECRET_KEYS.token] = cleaned.token;
    if (cleaned.hubCaPem !== undefined) data[SECRET_KEYS.hubCaPem] = cleaned.hubCaPem;
    try {
      await this.secret.write(data);
    } catch (error) {
      throw new StateError(`cannot write agent state to ${this.describe()}`, { cause: error });
    }
  }
}
