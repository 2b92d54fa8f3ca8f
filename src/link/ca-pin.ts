// Fetching the hub's CA through a pin (kubeadm style): one unverified HTTPS
// request for HUB_CA_PATH, accepted only if a served certificate has the
// pinned SPKI hash and issued the certificate the hub presented on that same
// connection. Callers then verify the hub normally with the returned CA.
import { X509Certificate } from 'node:crypto';
import { request } from 'node:https';
import { TLSSocket } from 'node:tls';
import { readLimited } from '../util/read-limited.ts';
import { HUB_CA_PATH } from './protocol.ts';
import { HubTlsError, PEM_CERTIFICATE_PATTERN, caHashOf, parseCaHash } from './tls.ts';

/** Bound on the whole CA fetch: connect, TLS handshake, response. */
export const DEFAULT_CA_FETCH_TIMEOUT_MS = 10_000;
/** A CA bundle is a few KiB; anything bigger is not what we asked for. */
const MAX_CA_RESPONSE_BYTES = 64 * 1024;

export interface FetchPinnedCaOptions {
  /** The hub's base URL (https: or wss:). */
  url: string;
  /** The expected pin, `sha256:<64 hex>`. */
  caHash: string;
  /** Bound on the whole fetch; DEFAULT_CA_FETCH_TIMEOUT_MS unless set. */
  timeoutMs?: number;
}

interface UnverifiedResponse {
  body: string;
  peerCertificate: X509Certificate | undefined;
}

/**
 * Fetches the hub's CA certificate without TLS verification and returns the
 * PEM of the served certificate whose caHashOf equals the pin. The hub's TLS
 * certificate on the same connection must be signed by that CA, so a man in
 * the middle cannot pass by relaying the real CA file. Callers then use the
 * result as `ca` with normal verification.
 */
export async function fetchPinnedCa(options: FetchPinnedCaOptions): Promise<string> {
  const pin = parseCaHash(options.caHash);
  const url = caUrlOf(options.url);
  const response = await getUnverified(url, options.timeoutMs ?? DEFAULT_CA_FETCH_TIMEOUT_MS);
  const caPem = pickPinned(response.body, pin, url);
  assertIssuedBy(response.peerCertificate, caPem, url);
  return caPem;
}

function caUrlOf(base: string): URL {
  let url: URL;
  try {
    url = new URL(HUB_CA_PATH, base);
  } catch (error) {
    throw new HubTlsError('CA_FETCH_FAILED', `hub URL ${JSON.stringify(base)} is not a valid URL`, error);
  }
  if (url.protocol === 'wss:') url.protocol = 'https:';
  if (url.protocol !== 'https:') {
    throw new HubTlsError('CA_FETCH_FAILED', `hub URL ${base} must be https: or wss: to fetch a pinned CA`);
  }
  return url;
}

function getUnverified(url: URL, timeoutMs: number): Promise<UnverifiedResponse> {
  const signal = AbortSignal.timeout(timeoutMs);
  return new Promise((resolve, reject) => {
    const fail = (what: string, cause?: unknown): void => {
      signal.removeEventListener('abort', onAbort);
      req.destroy();
      reject(new HubTlsError('CA_FETCH_FAILED', `fetching the CA from ${url.href} failed: ${what}`, cause));
    };
    const onAbort = (): void => {
      fail(`no complete answer within ${timeoutMs} ms`, signal.reason);
    };
    // Verification is off only for this request: the pin checked by the caller
    // replaces it. agent: false gives a fresh connection, so the peer
    // certificate read below is the one that carried this response.
    const req = request(url, { rejectUnauthorized: false, agent: false }, (res) => {
      const peerCertificate = res.socket instanceof TLSSocket ? res.socket.getPeerX509Certificate() : undefined;
      if (res.statusCode !== 200) {
        fail(`HTTP status ${res.statusCode ?? 'unknown'}`);
        return;
      }
      readLimited(res, MAX_CA_RESPONSE_BYTES).then(
        (body) => {
          signal.removeEventListener('abort', onAbort);
          resolve({ body, peerCertificate });
        },
        (error: unknown) => {
          fail(error instanceof Error ? error.message : String(error), error);
        },
      );
    });
    signal.addEventListener('abort', onAbort, { once: true });
    req.on('error', (error) => {
      fail(error.message, error);
    });
    req.end();
  });
}

function pickPinned(body: string, pin: string, url: URL): string {
  const served: string[] = [];
  for (const pem of body.match(PEM_CERTIFICATE_PATTERN) ?? []) {
    let hash: string;
    try {
      hash = caHashOf(pem);
    } catch {
      continue;
    }
    if (hash === pin) return `${pem}\n`;
    served.push(hash);
  }
  if (served.length === 0) {
    throw new HubTlsError('CA_FETCH_FAILED', `${url.href} did not answer with a PEM certificate`);
  }
  throw new HubTlsError(
    'CA_HASH_MISMATCH',
    `the CA served by ${url.href} has hash ${served.join(', ')}, not the pinned ${pin}; check the hash, or whether something intercepts the connection`,
  );
}

function assertIssuedBy(peer: X509Certificate | undefined, caPem: string, url: URL): void {
  const ca = new X509Certificate(caPem);
  // The signature only: validity dates are for the normal verification that follows.
  if (peer?.verify(ca.publicKey) === true) return;
  const name = (dn: string): string => dn.replaceAll('\n', ', ');
  throw new HubTlsError(
    'CA_NOT_ISSUER',
    `the TLS certificate presented by ${url.host} (${peer ? `subject ${name(peer.subject)}, issuer ${name(peer.issuer)}` : 'none'}) is not signed by the pinned CA; something may be intercepting the connection to ${url.href}`,
  );
}
