// The bearer token of a request to the hub's kubectl endpoint. Clients send
// `Authorization: Bearer <token>`. A browser's WebSocket cannot set headers,
// so, as the API server does, an upgrade may carry the token as the
// subprotocol `base64url.bearer.authorization.k8s.io.<base64url token>`; the
// header wins when both are sent. headers.ts strips that subprotocol before
// anything is forwarded, and it is never logged.
import type { IncomingHttpHeaders } from 'node:http';

/** Prefix of the WebSocket subprotocol that carries a bearer token (the API server's, kubernetes#47740). */
export const BEARER_SUBPROTOCOL_PREFIX = 'base64url.bearer.authorization.k8s.io.';
/** Longest token accepted, in characters, in either form; Uplink's tokens are far shorter. */
export const MAX_BEARER_CHARS = 256;
/** Longest Sec-WebSocket-Protocol value read for a token: a few protocol names and one encoded token. */
const MAX_PROTOCOL_HEADER_CHARS = 1024;
const TOKEN = /^\S+$/;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** Whether `protocol` is a bearer subprotocol, so it can be stripped before a request is forwarded. */
export function isBearerSubprotocol(protocol: string): boolean {
  return protocol.startsWith(BEARER_SUBPROTOCOL_PREFIX);
}

/**
 * The token of a request: from `Authorization: Bearer`, else (upgrades only)
 * from one bearer subprotocol. Undefined when there is none, or when what
 * was sent is malformed: over-long, not base64url, not one token, or more
 * than one bearer subprotocol (the API server refuses those too).
 */
export function bearerTokenOf(headers: IncomingHttpHeaders): string | undefined {
  const header = headers.authorization;
  if (header !== undefined) {
    const token = /^Bearer (\S+)$/.exec(header)?.[1];
    return token !== undefined && token.length <= MAX_BEARER_CHARS ? token : undefined;
  }
  if (headers.upgrade === undefined) return undefined;
  const raw = headers['sec-websocket-protocol'];
  const value = Array.isArray(raw) ? raw.join(',') : raw ?? '';
  if (value.length > MAX_PROTOCOL_HEADER_CHARS) return undefined;
  const bearers = value.split(',').map((p) => p.trim()).filter(isBearerSubprotocol);
  if (bearers.length !== 1) return undefined;
  const encoded = (bearers[0] ?? '').slice(BEARER_SUBPROTOCOL_PREFIX.length);
  // Unpadded base64url of at most MAX_BEARER_CHARS bytes.
  if (encoded.length === 0 || encoded.length > Math.ceil(MAX_BEARER_CHARS * 4 / 3) || !BASE64URL.test(encoded)) return undefined;
  const token = Buffer.from(encoded, 'base64url').toString('utf8');
  return token.length <= MAX_BEARER_CHARS && TOKEN.test(token) ? token : undefined;
}
