// The audit rows of streams: kubectl watches, `logs -f`, exec, attach,
// port-forward, and the API's log streams. A stream may outlive its hub (a
// replica killed with SIGKILL, a crash), so its row is written when the
// stream is accepted, `in_progress`, before a byte is forwarded, and the
// stream is refused when that row cannot be stored: nothing runs unaudited.
// The same row is completed in place when the stream ends. Rows whose hub
// died first are marked `interrupted` by the sweeps in audit-sweep.ts.
// Unary requests keep their one row at the end (audit-sink.ts): auditing
// them from the start would double the audit log's writes for no gain.
import { boundAuditRecord } from './audit-sink.ts';
import type { AuditEnd, AuditRecord, Store } from './store/index.ts';

/** Waits before the next try of a completion the store refused; after the last, the row is left to the sweeps. */
export const END_RETRY_DELAYS_MS: readonly number[] = [1_000, 5_000, 30_000];
/** Completions waiting for a retry at once; beyond, a failed one is given up at once. */
export const MAX_RETRYING_ENDS = 10_000;

/** A stream's stored row; end() completes it (once; later calls do nothing). */
export interface OpenStreamRow {
  end(end: AuditEnd): void;
}

/** What the kubectl proxy and the API's log streams need. */
export interface StreamAuditor {
  /** Stores the row of a stream being accepted; rejects (with the store's error) when it cannot. */
  open(record: AuditRecord): Promise<OpenStreamRow>;
}

export interface StreamAuditOptions {
  store: Pick<Store, 'openAudit' | 'endAudit'>;
  /** The replica named in each row, on a database shared by replicas; null on a hub alone. */
  replica: string | null;
  /** A completion was given up: the row stays in progress until a sweep marks it. */
  onEndLost: (error: unknown) => void;
}

export class StreamAudit implements StreamAuditor {
  readonly #options: StreamAuditOptions;
  /** Completions being written now, for settle(). */
  readonly #writing = new Set<Promise<void>>();
  /** Completions waiting for their next try. */
  readonly #retrying = new Map<NodeJS.Timeout, () => void>();
  #closed = false;

  constructor(options: StreamAuditOptions) {
    this.#options = options;
  }

  async open(record: AuditRecord): Promise<OpenStreamRow> {
    const id = await this.#options.store.openAudit(boundAuditRecord({ ...record, replica: this.#options.replica }));
    let ended = false;
    return {
      end: (end) => {
        if (ended) return;
        ended = true;
        this.#end(id, end, 0);
      },
    };
  }

  /**
   * Resolves once the completions being written have settled, trying the
   * waiting ones once more now, within `timeoutMs`; for a hub stopping, so
   * streams that ended are not left in progress.
   */
  async settle(timeoutMs: number): Promise<void> {
    for (const [timer, retry] of this.#retrying) {
      clearTimeout(timer);
      this.#retrying.delete(timer);
      retry();
    }
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => { timer = setTimeout(resolve, timeoutMs); });
    await Promise.race([Promise.allSettled([...this.#writing]), late]);
    clearTimeout(timer);
  }

  /** Stops retrying; completions still failing are given up. */
  close(): void {
    this.#closed = true;
    for (const timer of this.#retrying.keys()) clearTimeout(timer);
    this.#retrying.clear();
  }

  #end(id: number, end: AuditEnd, attempt: number): void {
    const write = this.#options.store.endAudit(id, end).then(() => undefined, (error: unknown) => {
      const delay = END_RETRY_DELAYS_MS[attempt];
      if (delay === undefined || this.#closed || this.#retrying.size >= MAX_RETRYING_ENDS) {
        this.#options.onEndLost(error);
        return;
      }
      const timer = setTimeout(() => {
        this.#retrying.delete(timer);
        this.#end(id, end, attempt + 1);
      }, delay);
      timer.unref();
      this.#retrying.set(timer, () => { this.#end(id, end, attempt + 1); });
    });
    this.#writing.add(write);
    void write.finally(() => { this.#writing.delete(write); });
  }
}
