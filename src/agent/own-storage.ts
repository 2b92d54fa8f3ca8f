// The two places the agent keeps what must survive a restart (its state,
// its desired add-ons): a Secret of its own namespace, which it alone writes,
// or a 0600 file when it runs outside a cluster. Callers wrap failures in
// their own error types.
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { apiError, type KubeClient } from './kube.ts';

/** A file's text, or undefined when it does not exist; other failures throw. */
export function readOptionalFile(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * A file kept beside the agent's state file and named after it, so that
 * agents whose state files share a directory never share anything else:
 * `/d/prod.json` and `addons` give `/d/prod.addons.json`.
 */
export function stateSiblingFile(stateFile: string, role: string): string {
  return join(dirname(stateFile), `${basename(stateFile).replace(/\.json$/, '')}.${role}.json`);
}

/** Writes atomically (temp file + rename) with mode 0600, in a 0700 directory. */
export function writePrivateFile(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, text, { mode: 0o600 });
  chmodSync(temp, 0o600);
  renameSync(temp, path);
}

/** A Secret the agent owns: read its data, or replace it whole. */
export class OwnSecret {
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

  /** The decoded data, or undefined when the Secret does not exist; an API failure throws KubeApiError. */
  async read(): Promise<Record<string, Buffer> | undefined> {
    const response = await this.kube.request<{ data?: Record<string, string> }>('GET', this.path());
    if (response.status === 404) return undefined;
    if (response.status !== 200) throw apiError('GET', this.path(), response);
    const data: Record<string, Buffer> = {};
    for (const [key, value] of Object.entries(response.body.data ?? {})) data[key] = Buffer.from(value, 'base64');
    return data;
  }

  /**
   * Replaces the data, creating the Secret on first write. A PUT without a
   * resourceVersion is an unconditional update: the agent is the only writer.
   */
  async write(data: Record<string, Buffer | string>): Promise<void> {
    const encoded: Record<string, string> = {};
    for (const [key, value] of Object.entries(data)) encoded[key] = Buffer.from(value).toString('base64');
    const body = {
      apiVersion: 'v1', kind: 'Secret', type: 'Opaque',
      metadata: { name: this.name, namespace: this.namespace, labels: { 'app.kubernetes.io/managed-by': 'uplink-agent' } },
      data: encoded,
    };
    let response = await this.kube.request('PUT', this.path(), body);
    if (response.status === 404) response = await this.kube.request('POST', this.path(''), body);
    if (response.status < 200 || response.status > 299) throw apiError('PUT', this.path(), response);
  }
}
