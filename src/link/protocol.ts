// The agent <-> hub wire protocol, in one place.
//
// Shape of the link: the agent opens a WebSocket to the hub at AGENT_CONNECT_PATH
// with subprotocol LINK_SUBPROTOCOL and `Authorization: Bearer <cluster token>`.
// After the upgrade the roles flip: the agent is the HTTP/2 server and the hub
// the HTTP/2 client, both speaking node:http2 over the WebSocket byte stream.
// Everything the hub wants is an HTTP/2 request to the agent (AGENT_PATHS);
// everything the agent pushes travels as NDJSON lines (AgentEvent) on one
// long-lived response to `GET /v1/events` that the hub opens per session.

import type { AddonStatusEvent, AddonSweepEvent } from './addons.ts';

/** WebSocket path on the hub that agents dial. */
export const AGENT_CONNECT_PATH = '/api/v1/agent/connect';
/** WebSocket subprotocol; a new incompatible link version gets a new name. */
export const LINK_SUBPROTOCOL = 'uplink.v1';
/**
 * The other way to link (h2-socket.ts): an HTTP/1.1 Upgrade to this token at
 * AGENT_CONNECT_PATH, after which HTTP/2 runs on the TLS socket itself, with
 * no WebSocket framing. Agents try it first and fall back to WebSocket.
 */
export const LINK_H2_UPGRADE = 'uplink-h2.v1';
/** Public path on the hub that serves its CA certificate (PEM) for pinning. */
export const HUB_CA_PATH = '/api/v1/ca';

/** Headers the agent sends with the WebSocket upgrade. */
export const AGENT_HEADERS = {
  /** The agent's own version, for the fleet view and compatibility checks. */
  version: 'x-uplink-agent-version',
  /**
   * From a leader-elected agent: `TERM IDENTITY`, its term (the Lease's
   * leaseTransitions when it took it) and its identity in the Lease. The hub
   * lets a higher term take the link at once (a handover, not two agents
   * fighting over one token) and refuses a lower one while a higher holds it.
   */
  leader: 'x-uplink-leader',
  /**
   * What this agent understands beyond the first link protocol: a
   * comma-separated list of AGENT_FEATURES values. The hub sends a request
   * form only to agents that list it; an agent that predates the header
   * lists nothing.
   */
  features: 'x-uplink-agent-features',
} as const;

/** Link features an agent can list in AGENT_HEADERS.features. */
export const AGENT_FEATURES = {
  /** Long kubectl request heads arrive in an envelope at AGENT_PATHS.kubeEnvelope (kube-envelope.ts). */
  kubeEnvelope: 'kube-envelope',
} as const;

export type AgentFeature = (typeof AGENT_FEATURES)[keyof typeof AGENT_FEATURES];

const KNOWN_FEATURES: ReadonlySet<string> = new Set(Object.values(AGENT_FEATURES));

/** The known features an agent's AGENT_HEADERS.features value lists; anything else (a newer agent's) is ignored. */
export function parseAgentFeatures(value: string | string[] | undefined): ReadonlySet<AgentFeature> {
  const list = Array.isArray(value) ? value.join(',') : value ?? '';
  return new Set(list.split(',').map((name) => name.trim()).filter((name): name is AgentFeature => KNOWN_FEATURES.has(name)));
}

/**
 * Close codes the hub uses on the WebSocket (4000-4999 is the application
 * range). The agent logs the reason and reconnects with backoff, except where
 * noted.
 */
export const LINK_CLOSE = {
  /** The hub is shutting down or draining; reconnect with backoff. */
  hubShutdown: 4000,
  /** The cluster was deleted on the hub; reconnecting will get 401. */
  clusterDeleted: 4001,
  /** The token was rotated; reconnect with the new token already stored. */
  tokenRotated: 4002,
  /** The peer broke the protocol (bad HTTP/2, oversized frames). */
  protocolError: 4003,
  /** Keepalive failed: no pong or PING ack within the dead-peer limit. */
  peerTimeout: 4004,
  /** Another agent linked with the same cluster token; the newest wins. */
  replaced: 4005,
} as const;

/**
 * Requests the hub makes to the agent over HTTP/2. Paths of a feature with
 * its own types live beside them: RESOURCE_PATHS in resources.ts,
 * ADDON_PATHS (the desired add-ons) in addons.ts, and EXPOSURE_PATHS (the
 * Service gateway's exposure set) in exposures.ts.
 */
export const AGENT_PATHS = {
  /** NDJSON stream of AgentEvent, opened once per session by the hub. */
  events: '/v1/events',
  /** GET: the cluster facts now (same shape as a heartbeat's facts). */
  info: '/v1/info',
  /** POST {token}: store this rotated cluster token; 204 once stored. */
  token: '/v1/token',
  /**
   * Prefix of kubectl passthrough: `/v1/kube/api/v1/pods?watch=1` goes to the
   * API server as `/api/v1/pods?watch=1`, with the agent's own credentials and
   * the Impersonate-User/Group the hub set (the agent refuses any other).
   */
  kube: '/v1/kube',
  /**
   * POST: a kubectl request whose head is too long for HTTP/2 headers; the
   * body is the envelope (kube-envelope.ts: a length-prefixed JSON head) and
   * then the request's own body. Answered as a request under `kube`; 400
   * when the envelope is cut, oversized or malformed. Sent only to agents
   * listing AGENT_FEATURES.kubeEnvelope.
   */
  kubeEnvelope: '/v1/kube-envelope',
  /**
   * POST AgentUpgradeRequest: upgrade the agent's own Helm release to a chart
   * version. 202 AgentUpgradeAccepted once started in the background, the
   * outcome arriving as the heartbeat's `agentUpgrade`; 400
   * AGENT_UPGRADE_INVALID naming a bad field; 409 SELF_UPGRADE_UNAVAILABLE
   * (the agent was not installed by its chart) or AGENT_UPGRADE_RUNNING.
   */
  agentUpgrade: '/v1/agent/upgrade',
  /**
   * POST, a TCP forward (`uplink forward`): the target in FORWARD_HEADERS
   * (forward.ts) and the impersonation as under `kube`. The agent checks the
   * user may create pods/portforward there, finds an endpoint of the target
   * itself and dials it; 200 and then raw bytes both ways, or an error answer
   * (400 BAD_FORWARD, 403, 404, 429, 502 FORWARD_UNREACHABLE).
   */
  forward: '/v1/forward',
  /**
   * POST, a Service gateway stream: only EXPOSURE_HEADER (exposures.ts) with
   * an exposure's id. The agent looks the id up in the set the hub pushed
   * (EXPOSURE_PATHS.desired), dials a ready endpoint of that Service and
   * port, and answers 200 and then raw bytes both ways; or 403
   * EXPOSURE_UNKNOWN, 429 TOO_MANY_GATEWAY_STREAMS, 503 GATEWAY_NO_ENDPOINT,
   * 502 GATEWAY_UNREACHABLE.
   */
  gateway: '/v1/gateway',
} as const;

/**
 * HTTP/1.1 upgrades (exec, attach, port-forward) cannot be expressed in
 * HTTP/2, so the hub sends the original `Upgrade` value in UPGRADE_HEADER; the
 * agent makes the upgrade request to the API server and, on its 101, answers
 * the stream with 200 and SWITCHED_HEADER set (carrying the 101's headers as
 * ordinary headers), after which the stream carries raw bytes both ways. Any
 * other answer is relayed as an ordinary response, so kubectl can fall back.
 */
export const KUBE_UPGRADE_HEADERS = {
  upgrade: 'x-uplink-upgrade',
  switched: 'x-uplink-switched',
} as const;

/** Groups the hub impersonates, one per hub role; the agent binds them to cluster roles. */
export const IMPERSONATION = {
  userPrefix: 'uplink:',
  groups: { admin: 'uplink:admin', edit: 'uplink:edit', view: 'uplink:view' },
} as const;

/** Pods counted by phase in each heartbeat. */
export interface PodCounts {
  total: number;
  running: number;
  pending: number;
  succeeded: number;
  failed: number;
  unknown: number;
}

/**
 * What an agent reports about its cluster. Counts and names only: never a
 * credential, Secret data or object contents.
 */
export interface ClusterFacts {
  /** The API server's gitVersion, e.g. `v1.36.4` or `v1.30.2+k3s1`. */
  kubernetesVersion: string;
  /** From /version, e.g. `linux/amd64`. */
  platform: string;
  /** `k3s`, `rke2`, `eks`, `gke`, `aks`, `kind`, ... or `kubernetes` when unknown. */
  distribution: string;
  /** `aws`, `gcp`, `azure`, ... or null when none is detected. */
  cloud: string | null;
  /** topology.kubernetes.io/region of the nodes, or null. */
  region: string | null;
  /** Distinct topology.kubernetes.io/zone values, sorted. */
  zones: string[];
  nodes: { total: number; ready: number };
  pods: PodCounts;
  /** The API server's own health endpoints, as the agent sees them. */
  apiServer: { livez: boolean; readyz: boolean };
  agent: {
    version: string;
    nodeVersion: string;
    uptimeSeconds: number;
    memoryRssBytes: number;
  };
  /** When the agent gathered these facts (ISO 8601). */
  collectedAt: string;
  /** The inventory's sync state and size (absent from agents that predate it). */
  inventory?: {
    synced: boolean;
    objects: number;
    kinds: number;
    syncedKinds: number;
    stalenessSeconds: number;
  };
  /**
   * The cluster's egress IP address (v4 or v6) as a public echo service saw
   * it; only from agents run with --report-public-ip, and absent while the
   * last lookup failed.
   */
  egressIp?: string;
  /** The agent's last self-upgrade (POST AGENT_PATHS.agentUpgrade); absent before the first. */
  agentUpgrade?: AgentUpgradeReport;
  /** With leader election among the agent's replicas: the pod that leads (the one sending these facts). */
  leader?: AgentLeader;
}

/** Which of the agent's replicas leads, from a leader-elected agent. */
export interface AgentLeader {
  /** The leading pod's name. */
  pod: string;
  /** Its identity in the Lease: the pod name and a suffix unique to the process. */
  identity: string;
  /** The Lease's leaseTransitions when this leader took it: a later leader has a higher term. */
  term: number;
  /** When it took the Lease (ISO 8601). */
  since: string;
}

/**
 * What an upgrade's `version` must be: an exact SemVer 2.0 version (the
 * regular expression from semver.org), at most 128 characters. Ranges are
 * refused: the operator names what the agent becomes.
 */
const AGENT_UPGRADE_VERSION = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;
const AGENT_UPGRADE_MAX_VERSION_CHARS = 128;

/** Why `value` is not a version an upgrade takes (a sentence naming the field), or undefined when it is one. */
export function agentUpgradeVersionProblem(value: unknown): string | undefined {
  if (typeof value !== 'string' || value === '') return 'version is required: the exact chart version to upgrade the agent to, like 1.4.0';
  if (value.length > AGENT_UPGRADE_MAX_VERSION_CHARS || !AGENT_UPGRADE_VERSION.test(value)) {
    return `version must be an exact semantic version like 1.4.0 (no range, no leading v), got ${JSON.stringify(value.slice(0, 80))}`;
  }
  return undefined;
}

/** The body of POST AGENT_PATHS.agentUpgrade. */
export interface AgentUpgradeRequest {
  /** The exact chart version to upgrade to (SemVer 2, no range, no leading `v`). */
  version: string;
  /** The hub user who asked, for the agent's log. */
  requestedBy: string;
}

/** The 202 answer to an upgrade request: the id the heartbeat's `agentUpgrade.operationId` will carry. */
export interface AgentUpgradeAccepted {
  operationId: string;
}

/**
 * The agent's last self-upgrade, as its heartbeat reports it. An agent that
 * restarted in the middle (its pod replaced by the upgrade itself) recovers
 * it from the labels of its own release.
 */
export interface AgentUpgradeReport {
  operationId: string;
  /** The chart version asked for. */
  version: string;
  state: 'running' | 'succeeded' | 'failed';
  /** What happened, helm's error on a failure; safe to show. */
  message: string;
  /** ISO 8601. */
  startedAt: string;
  /** When the agent learned the outcome (ISO 8601); null while running. */
  finishedAt: string | null;
}

/** Sent by the agent on the events stream: the first at once, then every interval. */
export interface HeartbeatEvent {
  type: 'heartbeat';
  /** The agent's heartbeat interval, so the hub can judge staleness. */
  intervalSeconds: number;
  facts: ClusterFacts;
}

/** One NDJSON line on the events stream. Unknown types are ignored by the hub. */
export type AgentEvent = HeartbeatEvent | AddonStatusEvent | AddonSweepEvent;

/** Largest single NDJSON line the hub accepts on the events stream. */
export const MAX_EVENT_LINE_BYTES = 1024 * 1024;
