// kubectl passthrough, agent side: a request the hub sent under
// AGENT_PATHS.kube goes to the API server with the agent's own credentials
// and the hub's impersonation, and the answer streams back chunk by chunk.
// Upgrades (exec, attach, port-forward) are spliced as raw bytes after the
// API server's 101; any other answer to an upgrade is relayed as is.
import http from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import { allowedRequestHeaders, forwardedResponseHeaders, impersonationProblem, kubeStatus } from '../kube/headers.ts';
import { AGENT_PATHS, KUBE_UPGRADE_HEADERS } from '../link/protocol.ts';
import {
  KubeEnvelopeError, linkHeadBytes, MAX_LINK_RESPONSE_HEAD_BYTES, readKubeEnvelope, type KubeEnvelopeHead,
} from '../link/kube-envelope.ts';
import { parseKubeRequest } from '../kube/request-info.ts';
import { KubeApiPathError, parseKubeApiPath } from '../kube/api-path.ts';
import type { Logger } from '../util/logger.ts';
import { spliceRaw } from '../util/splice-raw.ts';
import type { KubeClient } from './kube.ts';

export interface KubeProxyOptions {
  kube: KubeClient;
  log: Logger;
}

const http2Internal = 2; // NGHTTP2_INTERNAL_ERROR

function refuse(res: Http2ServerResponse, status: number, reason: string, message: string): void {
  if (res.headersSent) {
    res.stream.close(http2Internal);
    return;
  }
  res.writeHead(status, { 'content-type': 'application/json' }).end(kubeStatus(status, reason, message));
}

/**
 * Headers for the API server: the allow-listed ones the hub sent (a hub of
 * another version, or one that forwarded more, cannot pass anything else) and
 * the impersonation impersonationProblem has checked.
 */
function apiRequestHeaders(headers: IncomingHttpHeaders): http.OutgoingHttpHeaders {
  return {
    ...allowedRequestHeaders(headers),
    'impersonate-user': headers['impersonate-user'],
    'impersonate-group': headers['impersonate-group'],
  };
}

/**
 * The response headers to send back over the link, or undefined (the answer
 * refused 502) when they are more than the link's header list takes.
 */
function linkResponseHeaders(res: Http2ServerResponse, apiHeaders: IncomingHttpHeaders, extra: http.OutgoingHttpHeaders = {}): http.OutgoingHttpHeaders | undefined {
  const headers = { ...forwardedResponseHeaders(apiHeaders), ...extra };
  const bytes = linkHeadBytes(headers);
  if (bytes <= MAX_LINK_RESPONSE_HEAD_BYTES) return headers;
  refuse(res, 502, 'BadGateway', `the API server answered with ${bytes} bytes of headers; the link carries at most ${MAX_LINK_RESPONSE_HEAD_BYTES}`);
  return undefined;
}

/** After the API server's 101: bytes both ways until either side ends. */
function splice(res: Http2ServerResponse, req: Http2ServerRequest, apiRes: http.IncomingMessage, socket: Duplex, head: Buffer): void {
  if (res.headersSent || res.stream.destroyed) {
    socket.destroy(); // the hub gave up on this request meanwhile
    return;
  }
  const headers = linkResponseHeaders(res, apiRes.headers, {
    [KUBE_UPGRADE_HEADERS.switched]: '1',
    [KUBE_UPGRADE_HEADERS.upgrade]: apiRes.headers.upgrade ?? '',
  });
  if (headers === undefined) {
    socket.destroy();
    return;
  }
  res.writeHead(200, headers); // sent at once: the bytes below go on the stream itself
  if (head.length > 0) res.stream.write(head);
  // The raw HTTP/2 stream, not the compatibility response: each turn's chunks
  // go to nghttp2 in one writev, with none of the response's per-write work.
  spliceRaw({ from: socket, to: res.stream });
  spliceRaw({ from: req, to: socket });
  socket.on('error', () => { res.stream.close(http2Internal); });
  res.on('close', () => { socket.destroy(); });
}

/** What a kubectl request asks, from an ordinary link request's `:method`, `:path` and headers or from an envelope. */
type KubeRequestHead = Pick<KubeEnvelopeHead, 'method' | 'target'> & { headers: IncomingHttpHeaders };

export function createKubeProxy(options: KubeProxyOptions): (req: Http2ServerRequest, res: Http2ServerResponse) => void {
  const forward = createForwarder(options);
  return (req, res) => {
    if (req.url !== AGENT_PATHS.kubeEnvelope) {
      forward(req, res, { method: req.method, target: req.url.slice(AGENT_PATHS.kube.length) || '/', headers: req.headers });
      return;
    }
    readKubeEnvelope(req).then((head) => { forward(req, res, head); }, (error: unknown) => {
      const message = error instanceof KubeEnvelopeError ? error.message : 'the request envelope could not be read';
      options.log.warn({ problem: message }, 'refused a kubectl request with a bad envelope');
      refuse(res, 400, 'BadRequest', message);
      req.resume(); // whatever the hub still sends of the request is not wanted
    }).catch((error: unknown) => {
      options.log.error({ err: error }, 'a kubectl request failed inside the agent');
      if (!res.headersSent && !res.stream.destroyed) refuse(res, 500, 'InternalError', 'the agent failed to handle this request; see its log');
    });
  };
}

/** Forwards one request, its body being what is left of `req`. */
function createForwarder(options: KubeProxyOptions): (req: Http2ServerRequest, res: Http2ServerResponse, head: KubeRequestHead) => void {
  const { kube, log } = options;
  const transport = kube.server.protocol === 'http:' ? http : https;
  return (req, res, head) => {
    const problem = impersonationProblem(head.headers);
    if (problem !== undefined) {
      log.warn({ problem }, 'refused a kubectl request without the hub impersonation');
      refuse(res, 403, 'Forbidden', problem);
      return;
    }
    let path: string;
    try {
      path = parseKubeApiPath(head.target).target;
    } catch (error) {
      if (!(error instanceof KubeApiPathError)) throw error;
      log.warn({ problem: error.message }, 'refused a kubectl request with an unacceptable path');
      refuse(res, 400, 'BadRequest', error.message);
      return;
    }
    const upgrade = head.headers[KUBE_UPGRADE_HEADERS.upgrade];
    const headers = apiRequestHeaders(head.headers);
    if (typeof upgrade === 'string' && upgrade !== '') {
      headers.connection = 'Upgrade';
      headers.upgrade = upgrade;
    }
    const isUpgrade = headers.upgrade !== undefined;
    const streaming = parseKubeRequest(head.method, path).streaming;
    kube.requestOptions(head.method, path, headers, streaming).then((requestOptions) => {
      // An upgraded connection leaves the pool anyway; a fresh one keeps the pool clean.
      const apiReq = transport.request(isUpgrade ? { ...requestOptions, agent: false } : requestOptions);
      apiReq.on('upgrade', (apiRes, socket, upgradeHead) => { splice(res, req, apiRes, socket, upgradeHead); });
      let complete = false;
      apiReq.on('response', (apiRes) => {
        if (res.headersSent || res.stream.destroyed) {
          apiRes.destroy(); // the hub gave up on this request meanwhile
          return;
        }
        const responseHeaders = linkResponseHeaders(res, apiRes.headers);
        if (responseHeaders === undefined) {
          apiRes.destroy();
          return;
        }
        res.writeHead(apiRes.statusCode ?? 502, responseHeaders);
        apiRes.pipe(res);
        apiRes.on('end', () => { complete = true; });
        apiRes.on('error', () => { res.stream.close(http2Internal); });
      });
      apiReq.on('error', (error) => {
        log.debug({ err: error, path }, 'API server request failed');
        // Only the error code travels back: the full text can hold addresses.
        const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
        refuse(res, 502, 'ServiceUnavailable', `the agent could not reach the API server (${code})`);
      });
      // The hub cancelled (kubectl went away): abort the watch or stream upstream.
      // A complete response keeps its connection for reuse.
      res.on('close', () => { if (!complete && !isUpgrade) apiReq.destroy(); });
      if (isUpgrade) apiReq.end();
      else req.pipe(apiReq);
    }, (error: unknown) => {
      refuse(res, 500, 'InternalError', `the agent could not prepare credentials: ${(error as Error).message}`);
    }).catch((error: unknown) => {
      // A request the API server client refused to build must not end the agent.
      log.error({ err: error }, 'a kubectl request failed inside the agent');
      if (!res.headersSent && !res.stream.destroyed) refuse(res, 500, 'InternalError', 'the agent failed to handle this request; see its log');
    });
  };
}
