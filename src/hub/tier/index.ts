// The tier of hub replicas: the peer certificates replicas prove themselves
// with, the peer port relayed requests arrive on, the relay that sends a
// request to the replica holding its cluster's link, and the rule telling
// which requests need that link. How the hub wires them: docs/ha.md.
export {
  issuePeerCertificate, peerCertificateDue, peerIdOf, renewPeerCredentials, verifiedPeerId, PeerCertificateError, PEER_URI_SCHEME,
  type IssuePeerCertificateOptions, type PeerCredentials, type PeerRenewalOptions,
} from './peer-certificates.ts';
export {
  clientAddressOf, isRelayed, relayedBy, startPeerServer, stripRelayHeaders, RELAYED_FOR_HEADER,
  type PeerRefusal, type PeerServerOptions, type RunningPeerServer,
} from './peer-server.ts';
export { PeerRelay, type PeerRelayMetrics, type PeerRelayOptions } from './peer-relay.ts';
export type { PeerTarget } from './peer-connections.ts';
export type { LocateCluster } from './relay-resume.ts';
export { clusterMoved, refuseRequest, refuseUpgrade, type RelayRefusal } from './relay-answers.ts';
export { agentBoundCluster, answersAsApi, relayRouteOf, type RelayRoute } from './relay-route.ts';
