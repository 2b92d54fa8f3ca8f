// How a kubectl request's head (method, API path and query, forwarded
// headers) travels to the agent: as the HTTP/2 stream's own headers when it
// is short, in an envelope at the start of the stream's body when it is long
// (see src/link/kube-envelope.ts for why), and not at all to an agent that
// does not read envelopes: the hub never sends such an agent a head it
// could only drop or cut, since a request missing its label selector would
// turn `delete -l` into a delete of everything.
import type { OutgoingHttpHeaders } from 'node:http';
import type http2 from 'node:http2';
import type { HubSession } from '../../link/hub-session.ts';
import {
  encodeKubeEnvelope, KUBE_ENVELOPE_THRESHOLD_BYTES, KubeEnvelopeError, linkHeadBytes, type KubeEnvelopeHead,
} from '../../link/kube-envelope.ts';
import { AGENT_PATHS } from '../../link/protocol.ts';

/** The link stream's headers, and the envelope to write first when the head travels in one. */
export interface LinkHead {
  headers: OutgoingHttpHeaders;
  /** Set when the head travels in an envelope; the forwarder writes it first and then drops it. */
  envelope: Buffer | undefined;
}

/** A head that cannot travel to this agent; `message` says why and what to do, for a 431 Status. */
export interface LinkHeadRefusal {
  tooLong: string;
}

export interface PlanLinkHeadInput {
  method: string;
  /** The checked API path and query. */
  apiPath: string;
  /** The forwarded headers, impersonation and upgrade marker included. */
  headers: OutgoingHttpHeaders;
  /** Whether the cluster's agent reads envelopes (AGENT_FEATURES.kubeEnvelope). */
  envelopes: boolean;
  clusterName: string;
}

function envelopeHeaders(headers: OutgoingHttpHeaders): KubeEnvelopeHead['headers'] {
  const out: KubeEnvelopeHead['headers'] = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.map(String) : String(value);
  }
  return out;
}

/** Decides how the head of one request travels; see the file comment. */
export function planLinkHead(input: PlanLinkHeadInput): LinkHead | LinkHeadRefusal {
  const headers = { ':method': input.method, ':path': `${AGENT_PATHS.kube}${input.apiPath}`, ...input.headers };
  const bytes = linkHeadBytes(headers);
  if (bytes <= KUBE_ENVELOPE_THRESHOLD_BYTES) return { headers, envelope: undefined };
  if (!input.envelopes) {
    return {
      tooLong: `this request's path, query and headers take ${bytes} bytes; the agent of cluster "${input.clusterName}" takes at most `
        + `${KUBE_ENVELOPE_THRESHOLD_BYTES} over its link: upgrade the agent (uplink clusters upgrade-agent) for requests as long as the API server takes`,
    };
  }
  try {
    const envelope = encodeKubeEnvelope({ method: input.method, target: input.apiPath, headers: envelopeHeaders(input.headers) });
    return { headers: { ':method': 'POST', ':path': AGENT_PATHS.kubeEnvelope }, envelope };
  } catch (error) {
    if (!(error instanceof KubeEnvelopeError)) throw error;
    return { tooLong: `this request's path, query and headers are too long to forward: ${error.message}` };
  }
}

/**
 * Opens the link stream of a planned request and writes its envelope, if
 * any, ahead of everything else; `endStream` when nothing follows the head.
 * Throws as HubSession.request does when the link is closed.
 */
export function openLinkStream(target: { session: HubSession; link: LinkHead }, endStream: boolean): http2.ClientHttp2Stream {
  const { envelope } = target.link;
  const stream = target.session.request(target.link.headers, { endStream: endStream && envelope === undefined });
  if (envelope !== undefined) {
    // Written once; the request may live for hours (a watch) and need not hold it.
    target.link = { headers: target.link.headers, envelope: undefined };
    if (endStream) stream.end(envelope);
    else stream.write(envelope);
  }
  return stream;
}
