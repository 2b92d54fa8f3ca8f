// An in-memory Lease with the API server's optimistic concurrency (a write
// carrying a stale resourceVersion gets 409), and clients that reach it over
// a simulated network which can be down (requests never arrive), deaf
// (writes land, answers are lost) or slow. Timers are the test's mocked ones.
import { KubeApiError } from './kube.ts';
import type { LeaseApi, LeaseRecord, LeaseSnapshot } from './lease-api.ts';

/** One write that landed, for assertions on the Lease's history. */
export interface LeaseWrite {
  at: number;
  by: string;
  record: LeaseRecord;
}

export class FakeLeaseServer {
  private lease: { version: number; record: LeaseRecord } | undefined;
  private version = 0;
  readonly writes: LeaseWrite[] = [];

  /** The Lease now, as a client would read it. */
  read(): LeaseSnapshot | undefined {
    return this.lease && { resourceVersion: String(this.lease.version), record: structuredClone(this.lease.record) };
  }

  /** A write by someone outside the election (kubectl edit, say): any record, a new resourceVersion. */
  overwrite(record: LeaseRecord, by = 'outsider'): void {
    this.store(record, by);
  }

  client(name: string): FakeLeaseClient {
    return new FakeLeaseClient(this, name);
  }

  create(record: LeaseRecord, by: string): LeaseSnapshot {
    if (this.lease) throw new KubeApiError(409, 'leases.coordination.k8s.io already exists');
    return this.store(record, by);
  }

  update(previous: LeaseSnapshot, record: LeaseRecord, by: string): LeaseSnapshot {
    if (!this.lease) throw new KubeApiError(404, 'leases.coordination.k8s.io not found');
    if (previous.resourceVersion !== String(this.lease.version)) {
      throw new KubeApiError(409, 'Operation cannot be fulfilled on leases.coordination.k8s.io: the object has been modified');
    }
    return this.store(record, by);
  }

  private store(record: LeaseRecord, by: string): LeaseSnapshot {
    this.version += 1;
    this.lease = { version: this.version, record: structuredClone(record) };
    this.writes.push({ at: Date.now(), by, record: structuredClone(record) });
    const snapshot = this.read();
    if (!snapshot) throw new Error('unreachable: just stored');
    return snapshot;
  }
}

/** How a client's requests fare: up (arrive and answer), down (never arrive), deaf (arrive, answer lost). */
export type FakeNetwork = 'up' | 'down' | 'deaf';

export class FakeLeaseClient implements LeaseApi {
  private readonly server: FakeLeaseServer;
  readonly name: string;
  network: FakeNetwork = 'up';
  /** Round trip; the request lands halfway, and may land after the caller's timeout. */
  latencyMs = 0;
  calls = 0;

  constructor(server: FakeLeaseServer, name: string) {
    this.server = server;
    this.name = name;
  }

  get(timeoutMs: number): Promise<LeaseSnapshot | undefined> {
    return this.call(timeoutMs, () => this.server.read());
  }

  create(record: LeaseRecord, timeoutMs: number): Promise<LeaseSnapshot> {
    return this.call(timeoutMs, () => this.server.create(record, this.name));
  }

  update(previous: LeaseSnapshot, record: LeaseRecord, timeoutMs: number): Promise<LeaseSnapshot> {
    return this.call(timeoutMs, () => this.server.update(previous, record, this.name));
  }

  private call<T>(timeoutMs: number, op: () => T): Promise<T> {
    // As AbortSignal.timeout in the real client: a fractional timeout is refused.
    if (!Number.isInteger(timeoutMs) || timeoutMs < 0) return Promise.reject(new RangeError(`timeout ${timeoutMs} is not a whole number of ms`));
    this.calls += 1;
    const { network, latencyMs } = this;
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => {
        settled = true;
        reject(new KubeApiError(0, `no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      if (network === 'down') return;
      const arrive = (): void => {
        let outcome: { ok: true; value: T } | { ok: false; error: Error };
        try {
          outcome = { ok: true, value: op() };
        } catch (error) {
          outcome = { ok: false, error: error as Error };
        }
        if (network === 'deaf') return;
        const answer = (): void => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          if (outcome.ok) resolve(outcome.value);
          else reject(outcome.error);
        };
        if (latencyMs === 0) answer();
        else setTimeout(answer, latencyMs / 2);
      };
      if (latencyMs === 0) queueMicrotask(arrive);
      else setTimeout(arrive, latencyMs / 2);
    });
  }
}
