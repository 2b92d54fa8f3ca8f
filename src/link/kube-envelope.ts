// Request heads too long for one HTTP/2 header block. The API server takes up
// to 1 MiB of request line and headers (exec commands and selectors travel
// in the query), but on the link the head is one HTTP/2 header list, which
// both ends accept up to MAX_HEADER_LIST_BYTES (64 KiB): measured here, a
// 70,000-character `:path` reset its stream and closed the link, every
// stream of the cluster with it. So a head above
// KUBE_ENVELOPE_THRESHOLD_BYTES never travels as headers: the hub sends
// POST AGENT_PATHS.kubeEnvelope with no head of its own, and the stream's
// body starts with the envelope,
//
//   4 bytes  length N of the head, unsigned big-endian, 1..MAX_KUBE_ENVELOPE_HEAD_BYTES
//   N bytes  the head: UTF-8 JSON {"method", "target", "headers"}
//
// followed by the request body (or, for an upgrade, the client's bytes). The
// agent reads exactly N bytes, checks the head as strictly as it checks an
// ordinary request's, and goes on as for one. Only agents that say so on
// their link (AGENT_FEATURES.kubeEnvelope) are sent envelopes.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { UplinkError } from '../util/errors.ts';

/**
 * A request head larger than this, counted as HTTP/2 counts a header list
 * (linkHeadBytes), goes in an envelope. Well inside the 64 KiB header list
 * both ends of the link accept, and above the heads kubectl sends for
 * anything but long exec commands and selectors.
 */
export const KUBE_ENVELOPE_THRESHOLD_BYTES = 16 * 1024;
/**
 * Longest envelope head: the hub's own bound on a request line and headers
 * (1 MiB + 4 KiB) with room for the JSON around them and the impersonation.
 */
export const MAX_KUBE_ENVELOPE_HEAD_BYTES = 1024 * 1024 + 64 * 1024;
/** How long the agent waits for a whole envelope head; the hub writes it at once. */
export const KUBE_ENVELOPE_READ_TIMEOUT_MS = 30_000;
/**
 * Largest response head the agent sends back over the link (status aside),
 * counted as linkHeadBytes: below the 64 KiB header list the hub accepts,
 * so no answer can reset a stream or end the session. A larger one is
 * answered 502.
 */
export const MAX_LINK_RESPONSE_HEAD_BYTES = 48 * 1024;

const LENGTH_PREFIX_BYTES = 4;
/** Distinct header names in an envelope, and values of one name: far above what kubectl sends. */
const MAX_ENVELOPE_HEADER_NAMES = 256;
const MAX_ENVELOPE_HEADER_VALUES = 64;
/** What HTTP/2 adds per header field when it counts a header list (RFC 9113, 6.5.2). */
const HTTP2_FIELD_OVERHEAD = 32;
// RFC 9110 token characters; header names lower-case, as HTTP/2 carries them.
const METHOD = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,32}$/;
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9a-z]{1,256}$/;
// What Node's HTTP client writes as a header value: tab, visible ASCII, obs-text.
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** The head of a kubectl request: what an ordinary link request carries in `:method`, `:path` and headers. */
export interface KubeEnvelopeHead {
  method: string;
  /** The API server path and query, as after AGENT_PATHS.kube in an ordinary request. */
  target: string;
  /** The forwarded headers, names in lower case. */
  headers: Record<string, string | string[]>;
}

/** An envelope that is truncated, oversized or not a head; `message` says which without echoing it. */
export class KubeEnvelopeError extends UplinkError {
  constructor(message: string) {
    super('KUBE_ENVELOPE_INVALID', message);
  }
}

/** A header list's size as HTTP/2 counts it: each field's name and value bytes plus 32. */
export function linkHeadBytes(headers: OutgoingHttpHeaders | IncomingHttpHeaders): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) bytes += name.length + String(item).length + HTTP2_FIELD_OVERHEAD;
  }
  return bytes;
}

/** The envelope for `head`: length prefix and JSON. Throws KubeEnvelopeError when the head is over MAX_KUBE_ENVELOPE_HEAD_BYTES. */
export function encodeKubeEnvelope(head: KubeEnvelopeHead): Buffer {
  const json = Buffer.from(JSON.stringify({ method: head.method, target: head.target, headers: head.headers }), 'utf8');
  if (json.length > MAX_KUBE_ENVELOPE_HEAD_BYTES) {
    throw new KubeEnvelopeError(`the request head takes ${json.length} bytes in an envelope, more than ${MAX_KUBE_ENVELOPE_HEAD_BYTES}`);
  }
  const prefix = Buffer.alloc(LENGTH_PREFIX_BYTES);
  prefix.writeUInt32BE(json.length);
  return Buffer.concat([prefix, json]);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseHeaderValue(name: string, value: unknown): string | string[] {
  const values = Array.isArray(value) ? value as unknown[] : [value];
  if (values.length === 0 || values.length > MAX_ENVELOPE_HEADER_VALUES) {
    throw new KubeEnvelopeError(`header ${name} must have 1 to ${MAX_ENVELOPE_HEADER_VALUES} values`);
  }
  for (const item of values) {
    if (typeof item !== 'string' || !HEADER_VALUE.test(item)) throw new KubeEnvelopeError(`header ${name} has a value that is not header text`);
  }
  return value as string | string[];
}

/**
 * Reads an envelope head (the JSON after the length prefix). Fields a newer
 * hub adds are dropped; a missing or mistyped field, a method that is not an
 * HTTP token, a header name that is not a lower-case token or a value with
 * characters a header cannot hold is refused with KubeEnvelopeError. The
 * target and headers are checked further by the caller, as for an ordinary
 * request (parseKubeApiPath, impersonationProblem, the header allow-list).
 */
export function parseKubeEnvelopeHead(json: Buffer): KubeEnvelopeHead {
  let value: unknown;
  try {
    value = JSON.parse(json.toString('utf8'));
  } catch {
    throw new KubeEnvelopeError('the envelope head is not JSON');
  }
  if (!isRecord(value)) throw new KubeEnvelopeError('the envelope head must be a JSON object');
  const { method, target, headers } = value;
  if (typeof method !== 'string' || !METHOD.test(method)) throw new KubeEnvelopeError('method must be an HTTP method');
  if (typeof target !== 'string' || !target.startsWith('/')) throw new KubeEnvelopeError('target must be an API path');
  if (!isRecord(headers)) throw new KubeEnvelopeError('headers must be an object');
  const names = Object.keys(headers);
  if (names.length > MAX_ENVELOPE_HEADER_NAMES) throw new KubeEnvelopeError(`headers must have at most ${MAX_ENVELOPE_HEADER_NAMES} names`);
  const parsed: Record<string, string | string[]> = {};
  for (const name of names) {
    if (!HEADER_NAME.test(name)) throw new KubeEnvelopeError('a header name is not a lower-case HTTP token');
    parsed[name] = parseHeaderValue(name, headers[name]);
  }
  return { method, target, headers: parsed };
}

/**
 * Reads the envelope at the start of `stream` and resolves with its head,
 * leaving the stream at the first byte after it (the request body), paused.
 * Reads exactly the announced length, never past it. Rejects with
 * KubeEnvelopeError when the length is 0 or over MAX_KUBE_ENVELOPE_HEAD_BYTES
 * (before reading the head), when the stream ends or fails inside the
 * envelope, when the head does not parse, or after `timeoutMs`.
 */
export function readKubeEnvelope(stream: Readable, timeoutMs = KUBE_ENVELOPE_READ_TIMEOUT_MS): Promise<KubeEnvelopeHead> {
  return new Promise((resolve, reject) => {
    let length: number | undefined;
    let settled = false;
    const settle = (error: Error | undefined, head?: KubeEnvelopeHead): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      stream.off('readable', onReadable);
      stream.off('end', onEnd);
      stream.off('error', onError);
      if (head !== undefined) resolve(head);
      else reject(error ?? new KubeEnvelopeError('the envelope could not be read'));
    };
    const truncated = (): void => { settle(new KubeEnvelopeError('the request ended inside its envelope')); };
    // read(n) hands out exactly n bytes once they are buffered, or what is
    // left when the stream has ended: a shorter buffer means a cut envelope.
    const onReadable = (): void => {
      if (length === undefined) {
        const prefix = stream.read(LENGTH_PREFIX_BYTES) as Buffer | null;
        if (prefix === null) return;
        if (prefix.length < LENGTH_PREFIX_BYTES) {
          truncated();
          return;
        }
        length = prefix.readUInt32BE(0);
        if (length === 0 || length > MAX_KUBE_ENVELOPE_HEAD_BYTES) {
          settle(new KubeEnvelopeError(`the envelope head must be 1 to ${MAX_KUBE_ENVELOPE_HEAD_BYTES} bytes, not ${length}`));
          return;
        }
      }
      const json = stream.read(length) as Buffer | null;
      if (json === null) return;
      if (json.length < length) {
        truncated();
        return;
      }
      try {
        settle(undefined, parseKubeEnvelopeHead(json));
      } catch (error) {
        settle(error as Error);
      }
    };
    const onEnd = truncated;
    const onError = (): void => { settle(new KubeEnvelopeError('the request failed inside its envelope')); };
    const timer = setTimeout(() => { settle(new KubeEnvelopeError(`the envelope did not arrive within ${timeoutMs} ms`)); }, timeoutMs);
    stream.on('readable', onReadable);
    stream.once('end', onEnd);
    stream.once('error', onError);
  });
}
