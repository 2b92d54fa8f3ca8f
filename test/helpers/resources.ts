// Helpers for the live-resources tests: a reader of the hub's server-sent
// event feed, requests with the hub's CA, and bulk object creation straight
// against the test cluster's API server.
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { KubeClient } from '../../src/agent/kube.ts';
import type { ResourceChange } from '../../src/link/resources.ts';
import { kubeconfigPath } from './cluster.ts';
import type { HubHandle } from './uplink.ts';

/** One event of the feed, with the time it arrived (performance.now()). */
export interface FeedEvent {
  change: ResourceChange & Record<string, unknown>;
  arrivedAt: number;
}

/** Reads `GET /api/v1/clusters/C/watch/KIND?...` as server-sent events. */
export class FeedReader {
  readonly events: FeedEvent[] = [];
  raw = '';
  ended = false;
  status = 0;
  private buffer = '';
  private readonly req: ReturnType<typeof https.get>;
  private readonly waiters = new Set<() => void>();

  constructor(hub: HubHandle, path: string) {
    this.req = https.get(`${hub.url}${path}`, {
      ca: hubCa(hub), headers: { authorization: `Bearer ${hub.adminToken}`, accept: 'text/event-stream' },
    }, (res) => {
      this.status = res.statusCode ?? 0;
      res.setEncoding('utf8');
      res.on('data', (text: string) => { this.push(text); });
      res.on('end', () => { this.ended = true; this.wake(); });
      res.on('error', () => { this.ended = true; this.wake(); });
    });
    this.req.on('error', () => { this.ended = true; this.wake(); });
  }

  static open(t: TestContext, hub: HubHandle, path: string): FeedReader {
    const reader = new FeedReader(hub, path);
    t.after(() => { reader.close(); });
    return reader;
  }

  close(): void {
    this.req.destroy();
  }

  /** Resolves with the first event (from index `from`) that matches, or fails after `timeoutMs`. */
  async waitFor(what: string, timeoutMs: number, match: (change: FeedEvent['change']) => boolean, from = 0): Promise<FeedEvent> {
    const deadline = Date.now() + timeoutMs;
    for (let i = from; ; ) {
      for (; i < this.events.length; i += 1) {
        const event = this.events[i];
        if (event && match(event.change)) return event;
      }
      if (this.ended) throw new Error(`the feed ended before ${what} (status ${this.status}): ${this.raw.slice(-500)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, left);
        function done(): void { clearTimeout(timer); resolve(); }
        this.waiters.add(done);
      });
    }
  }

  private push(text: string): void {
    this.raw += text;
    this.buffer += text;
    let end = this.buffer.indexOf('\n\n');
    while (end !== -1) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      const data = block.split('\n').filter((line) => line.startsWith('data:')).map((line) => line.slice(5).trimStart()).join('\n');
      if (data !== '') this.events.push({ change: JSON.parse(data) as FeedEvent['change'], arrivedAt: performance.now() });
      end = this.buffer.indexOf('\n\n');
    }
    this.wake();
  }

  private wake(): void {
    for (const waiter of this.waiters) waiter();
    this.waiters.clear();
  }
}

export function hubCa(hub: HubHandle): string {
  return readFileSync(join(hub.dataDir, 'tls', 'ca.crt'), 'utf8');
}

/** A GET of the hub's API with the admin token, whatever the status; the body as text. */
export function hubGetText(hub: HubHandle, path: string, token = hub.adminToken): Promise<{ status: number; text: string }> {
  return hubRequest(hub, 'GET', path, undefined, token);
}

/** A request to the hub's API (JSON body, if any) with the admin token, whatever the status; the answer as text. */
export function hubRequest(hub: HubHandle, method: string, path: string, body?: unknown, token = hub.adminToken): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (payload !== undefined) headers['content-type'] = 'application/json';
    const req = https.request(`${hub.url}${path}`, { method, ca: hubCa(hub), headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => { text += chunk; });
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, text }); });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** The test cluster's admin API client (closed after the test). */
export async function adminKube(t: TestContext): Promise<KubeClient> {
  const kube = new KubeClient({ kubeconfig: await kubeconfigPath() });
  t.after(() => { kube.close(); });
  return kube;
}

/** Runs `work` over `items` with at most `concurrency` at once. */
export async function inParallel<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < items.length) {
      const item = items[next] as T;
      next += 1;
      await work(item);
    }
  }));
}

/** Creates `count` pods named `<prefix>-<i>` bound round-robin to the kwok nodes (no scheduling wait). */
export async function createPods(kube: KubeClient, options: { namespace: string; prefix: string; count: number; nodes: string[]; labels?: Record<string, string> }): Promise<void> {
  const indexes = Array.from({ length: options.count }, (_, i) => i);
  await inParallel(indexes, 16, async (i) => {
    const pod = {
      apiVersion: 'v1', kind: 'Pod',
      metadata: { name: `${options.prefix}-${i}`, namespace: options.namespace, labels: { app: options.prefix, ...options.labels } },
      spec: { nodeName: options.nodes[i % options.nodes.length], containers: [{ name: 'app', image: 'registry.invalid/app:1' }] },
    };
    const response = await kube.request('POST', `/api/v1/namespaces/${options.namespace}/pods`, pod);
    if (response.status !== 201) throw new Error(`creating pod ${pod.metadata.name}: HTTP ${response.status} ${JSON.stringify(response.body)}`);
  });
}

/** Percentile (0..100) of a list of numbers, nearest-rank. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(0, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[rank] ?? Number.NaN;
}
