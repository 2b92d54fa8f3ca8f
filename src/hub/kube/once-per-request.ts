// What the hub reads from a request's URL and Host (which cluster, which API
// path, whether it must be relayed) is asked for by several steps of one
// request: the router, the relay, the kube proxy, the audit. Each read
// decodes the URL again, so it is done once per request and the answer kept
// with the request object for as long as the request lives.
import type { IncomingMessage } from 'node:http';

/** The parts of a request a reading depends on; a reading is done again if any of them changed. */
export type RequestHead = Pick<IncomingMessage, 'method' | 'url' | 'headers'>;

interface Reading<T> {
  method: string | undefined;
  url: string | undefined;
  host: string | undefined;
  kubeDomain: string | undefined;
  outcome: { value: T } | { error: unknown };
}

/**
 * `read`, done once per request (and kube domain): later calls with the
 * same request give the first answer, or throw the first error, again.
 */
export function oncePerRequest<R extends Partial<RequestHead>, T>(read: (req: R, kubeDomain: string | undefined) => T): (req: R, kubeDomain: string | undefined) => T {
  const readings = new WeakMap<object, Reading<T>>();
  return (req, kubeDomain) => {
    const host = req.headers?.host;
    const seen = readings.get(req);
    if (seen !== undefined && seen.url === req.url && seen.method === req.method && seen.host === host && seen.kubeDomain === kubeDomain) {
      if ('error' in seen.outcome) throw seen.outcome.error;
      return seen.outcome.value;
    }
    let outcome: Reading<T>['outcome'];
    try {
      outcome = { value: read(req, kubeDomain) };
    } catch (error) {
      outcome = { error };
    }
    readings.set(req, { method: req.method, url: req.url, host, kubeDomain, outcome });
    if ('error' in outcome) throw outcome.error;
    return outcome.value;
  };
}
