// A standby's watch on the leader Lease, so that a released Lease (SIGTERM
// on the leader, a rolling update) is taken at once rather than at the
// standby's next retry: client-go's standbys poll, and a handover then takes
// up to a retry period (2 s) plus jitter. The watch only wakes the elector;
// every decision is still the elector's, on a read and a conditional write,
// so a lost or late event costs speed, never safety. Bounded: one watch, ended
// by the API server after WATCH_TIMEOUT_SECONDS, reopened after a pause that
// doubles on failures up to MAX_PAUSE_MS, each event line at most
// MAX_EVENT_BYTES; restarts are counted.
import { setTimeout as sleep } from 'node:timers/promises';
import { NdjsonDecoder } from '../link/ndjson.ts';
import type { Logger } from '../util/logger.ts';
import type { KubeClient } from './kube.ts';
import { parseLease } from './lease-api.ts';

const WATCH_TIMEOUT_SECONDS = 300;
/** A Lease is a few hundred bytes; anything near this is not one. */
const MAX_EVENT_BYTES = 64 * 1024;
const MIN_PAUSE_MS = 1_000;
const MAX_PAUSE_MS = 30_000;

export interface LeaseWatchOptions {
  kube: KubeClient;
  namespace: string;
  name: string;
  log: Logger;
  /** Called when the Lease is seen released (no holder) or deleted. */
  onReleased: () => void;
  /** Counts each reopening of the watch, by reason (ended, error). */
  onRestart?: (reason: 'ended' | 'error') => void;
}

/** What one watch event says of the Lease: released, held, or nothing usable. */
export function releasedByEvent(event: unknown): boolean {
  if (typeof event !== 'object' || event === null) return false;
  const { type, object } = event as { type?: unknown; object?: unknown };
  if (type === 'DELETED') return true;
  if (type !== 'ADDED' && type !== 'MODIFIED') return false;
  try {
    return parseLease(object).record.holderIdentity === '';
  } catch {
    return false;
  }
}

/** Watches the Lease until `signal` aborts; never rejects. */
export async function watchLease(options: LeaseWatchOptions, signal: AbortSignal): Promise<void> {
  const { kube, namespace, name, log } = options;
  const path = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases`
    + `?watch=1&fieldSelector=${encodeURIComponent(`metadata.name=${name}`)}&timeoutSeconds=${WATCH_TIMEOUT_SECONDS}&allowWatchBookmarks=false`;
  let pause = MIN_PAUSE_MS;
  while (!signal.aborted) {
    try {
      const res = await kube.open(path, { signal, describe: `watch lease ${namespace}/${name}` });
      if (res.statusCode !== 200) {
        res.resume();
        throw new Error(`the API server answered ${String(res.statusCode)} to the watch`);
      }
      const decoder = new NdjsonDecoder(MAX_EVENT_BYTES);
      for await (const chunk of res as AsyncIterable<Buffer>) {
        for (const event of decoder.push(chunk)) if (releasedByEvent(event)) options.onReleased();
      }
      pause = MIN_PAUSE_MS;
      options.onRestart?.('ended');
    } catch (error) {
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- the signal can abort during the await
      if (signal.aborted) return;
      log.debug({ err: error, pauseMs: pause }, 'the watch on the leader lease failed; reopening it');
      options.onRestart?.('error');
      pause = Math.min(pause * 2, MAX_PAUSE_MS);
    }
    try {
      await sleep(pause === MIN_PAUSE_MS ? 0 : pause, undefined, { signal });
    } catch {
      return;
    }
  }
}
