// The agent's side of the HTTP/2 upgrade (h2-socket.ts), and the choice of
// transport: `h2`, `websocket`, or `auto` (h2 first; WebSocket when the hub
// or a proxy on the way does not upgrade to LINK_H2_UPGRADE).
import http from 'node:http';
import https from 'node:https';
import { agentConnectUrl, dialHub, linkUpgradeHeaders, LinkDialError, refusal, DEFAULT_HANDSHAKE_TIMEOUT_MS, type DialOptions } from './dial.ts';
import { H2LinkSocket, markUpgradedToHttp2 } from './h2-socket.ts';
import { LINK_H2_UPGRADE } from './protocol.ts';
import { trustingCa } from './tls.ts';
import { h2Transport, type LinkTransport } from './transport.ts';

export type LinkTransportChoice = 'auto' | 'h2' | 'websocket';
export const LINK_TRANSPORTS: readonly LinkTransportChoice[] = ['auto', 'h2', 'websocket'];

/** Answers that mean "this hub, or a proxy in front of it, does not do the h2 upgrade": try WebSocket. */
const NOT_UPGRADED = new Set([400, 404, 405, 426, 501, 502]);

/** Opens the link over HTTP/2 on the TLS socket; resolves once the hub answered 101. */
export function dialHubH2(options: DialOptions): Promise<LinkTransport> {
  const url = new URL(agentConnectUrl(options.hubUrl).replace(/^ws/, 'http'));
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.request(url, {
      method: 'GET',
      agent: false,
      headers: {
        connection: 'Upgrade', upgrade: LINK_H2_UPGRADE, ...linkUpgradeHeaders(options),
      },
      timeout: options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
      rejectUnauthorized: options.rejectUnauthorized,
      ...trustingCa(options.ca),
    });
    req.once('upgrade', (res, socket, head) => {
      if (res.headers.upgrade?.toLowerCase() !== LINK_H2_UPGRADE) {
        socket.destroy();
        reject(new LinkDialError('LINK_REFUSED', `the hub upgraded to '${res.headers.upgrade ?? ''}', not ${LINK_H2_UPGRADE}`, { status: 101 }));
        return;
      }
      const takeOver = (): void => {
        socket.setTimeout(0);
        socket.setNoDelay(true);
        if (head.length > 0) socket.unshift(head);
        markUpgradedToHttp2(socket);
        resolve(h2Transport(new H2LinkSocket(socket)));
      };
      // HTTP/2 must not take the socket over while the request's own write is
      // in flight (the hub's side waits the same way, acceptH2Upgrade): on a
      // loaded machine the 101 and the hub's SETTINGS can be read before that
      // write completes, and node's TLS layer then aborts the whole process on
      // HTTP/2's first write ("Assertion failed: !current_write_"). Seen in a
      // failover of 2,000 agents at once (bench/failover.ts).
      if (req.writableFinished) {
        takeOver();
        return;
      }
      const timer = setTimeout(() => { giveUp('the upgrade request was not written in time'); }, options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS);
      const onClose = (): void => { giveUp('the connection closed during the upgrade'); };
      // Node took its own 'error' listener off the upgraded socket: without one, a reset meanwhile would crash the agent.
      const onError = (error: Error): void => { giveUp(error.message); };
      let gaveUp = false;
      function giveUp(message: string): void {
        if (gaveUp) return;
        gaveUp = true;
        clearTimeout(timer);
        req.removeListener('finish', onFinish);
        socket.removeListener('close', onClose);
        // onError stays: the socket may still report the reset that ended it.
        socket.destroy();
        reject(new LinkDialError('LINK_UNREACHABLE', `cannot reach the hub at ${url.href}: ${message}`, { status: 0 }));
      }
      function onFinish(): void {
        clearTimeout(timer);
        socket.removeListener('close', onClose);
        socket.removeListener('error', onError);
        takeOver();
      }
      socket.once('close', onClose);
      socket.on('error', onError);
      req.once('finish', onFinish);
    });
    req.once('response', (res) => {
      reject(refusal(res));
      res.resume();
      req.destroy();
    });
    req.once('timeout', () => { req.destroy(new Error('the upgrade was not answered in time')); });
    req.once('error', (error) => {
      reject(new LinkDialError('LINK_UNREACHABLE', `cannot reach the hub at ${url.href}: ${error.message}`, { status: 0 }, { cause: error }));
    });
    req.end();
  });
}

/**
 * Dials with the chosen transport. `auto` tries h2 and, when the answer says
 * nothing on the way upgrades to it (400, 404, 405, 426, 501, 502, or 101 to
 * something else), dials WebSocket and reports that `onFallback`, so the
 * caller can stay on WebSocket.
 */
export async function dialLink(options: DialOptions & { transport: LinkTransportChoice; onFallback?: (why: string) => void }): Promise<LinkTransport> {
  if (options.transport === 'websocket') return dialHub(options);
  if (options.transport === 'h2') return dialHubH2(options);
  try {
    return await dialHubH2(options);
  } catch (error) {
    if (!(error instanceof LinkDialError) || !(NOT_UPGRADED.has(error.status) || (error.status === 101 && error.code === 'LINK_REFUSED'))) throw error;
    options.onFallback?.(error.message);
    return dialHub(options);
  }
}
