// Settings of `uplink hub` (flags > environment > config file > default).
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Type } from '../util/setting-schema.ts';
import { SettingTypes, setting, type SettingsOf } from '../util/settings.ts';

export const DEFAULT_HUB_PORT = 8443;
/** Where the agent chart is installed from unless the operator says otherwise. */
export const DEFAULT_AGENT_CHART = 'oci://ghcr.io/uplink-dev/charts/uplink-agent';
/** A cluster name (63) and a dot in front of the kube domain still fit a DNS name's 253 characters. */
const KUBE_DOMAIN_MAX_CHARS = 253 - 64;

export const HUB_SETTINGS = {
  listen: setting({
    schema: SettingTypes.listen(), flag: 'listen', env: 'UPLINK_HUB_LISTEN', default: `:${DEFAULT_HUB_PORT}`,
    help: 'address to serve the API, the agent endpoint and the dashboard on (host:port)',
  }),
  dataDir: setting({
    schema: Type.String({ minLength: 1 }), flag: 'data-dir', env: 'UPLINK_HUB_DATA_DIR',
    default: join(process.env.XDG_DATA_HOME ?? join(homedir(), '.local/share'), 'uplink/hub'),
    help: 'directory for the database, TLS files and the first admin token',
  }),
  insecureHttp: setting({
    schema: Type.Boolean(), flag: 'insecure-http', env: 'UPLINK_HUB_INSECURE_HTTP', default: false,
    help: 'serve plain HTTP, only behind a proxy that terminates TLS',
  }),
  tlsCertFile: setting({
    schema: Type.String({ minLength: 1 }), flag: 'tls-cert-file', env: 'UPLINK_HUB_TLS_CERT_FILE', optional: true,
    help: 'PEM certificate chain to serve instead of the generated one',
  }),
  tlsKeyFile: setting({
    schema: Type.String({ minLength: 1 }), flag: 'tls-key-file', env: 'UPLINK_HUB_TLS_KEY_FILE', optional: true,
    help: 'PEM private key of --tls-cert-file',
  }),
  tlsSan: setting({
    schema: SettingTypes.stringList(), flag: 'tls-san', env: 'UPLINK_HUB_TLS_SAN', default: [],
    help: 'extra DNS names or IPs for the generated certificate (comma-separated or repeated)',
  }),
  publicUrl: setting({
    schema: SettingTypes.url(['https', 'http']), flag: 'public-url', env: 'UPLINK_HUB_PUBLIC_URL', optional: true,
    help: 'the URL agents and users reach the hub at (default: derived from --listen and the host name)',
  }),
  kubeDomain: setting({
    schema: SettingTypes.dnsName(KUBE_DOMAIN_MAX_CHARS), flag: 'kube-domain', env: 'UPLINK_HUB_KUBE_DOMAIN', optional: true,
    help: 'route kubectl by host too: https://<cluster>.<domain> serves that cluster\'s API with the API server\'s own paths '
      + '(needs wildcard DNS for *.<domain> to the hub; the generated certificate gets *.<domain>)',
  }),
  gatewayDomain: setting({
    schema: SettingTypes.dnsName(KUBE_DOMAIN_MAX_CHARS), flag: 'gateway-domain', env: 'UPLINK_HUB_GATEWAY_DOMAIN', optional: true,
    help: 'serve exposed Services by host too: https://<exposure>--<cluster>.<domain> (needs wildcard DNS for *.<domain> to the hub; '
      + 'the generated certificate gets *.<domain>); without it they are at https://HUB/gw/<cluster>/<exposure>/ only',
  }),
  offlineAfter: setting({
    schema: SettingTypes.seconds(5, 3600), flag: 'offline-after', env: 'UPLINK_HUB_OFFLINE_AFTER', default: 45,
    help: 'seconds without a heartbeat after which a linked cluster counts as offline',
  }),
  agentChart: setting({
    schema: Type.String({ minLength: 1 }), flag: 'agent-chart', env: 'UPLINK_HUB_AGENT_CHART', default: DEFAULT_AGENT_CHART,
    help: 'chart reference printed in install commands',
  }),
  maxPendingHandshakes: setting({
    schema: Type.Integer({ minimum: 1, maximum: 100_000 }), flag: 'max-pending-handshakes', env: 'UPLINK_HUB_MAX_PENDING_HANDSHAKES',
    default: 256, help: 'agent connections authenticated at once; beyond this the hub answers 503 with Retry-After',
  }),
  kubeMaxRequests: setting({
    schema: Type.Integer({ minimum: 1, maximum: 10_000 }), flag: 'kube-max-requests', env: 'UPLINK_HUB_KUBE_MAX_REQUESTS', default: 64,
    help: 'concurrent unary kubectl requests per cluster; beyond this the client gets 429',
  }),
  kubeMaxStreams: setting({
    schema: Type.Integer({ minimum: 1, maximum: 10_000 }), flag: 'kube-max-streams', env: 'UPLINK_HUB_KUBE_MAX_STREAMS', default: 128,
    help: 'concurrent streaming kubectl requests (watch, logs -f, exec, attach, port-forward) per cluster; beyond this 429',
  }),
  kubeUserShare: setting({
    schema: Type.Integer({ minimum: 1, maximum: 100 }), flag: 'kube-user-share', env: 'UPLINK_HUB_KUBE_USER_SHARE', default: 25,
    help: 'percent of a cluster\'s unary and of its streaming slots one user may hold at once (100: no share); beyond it that user gets 429',
  }),
  fleetWatchMaxPerUser: setting({
    schema: Type.Integer({ minimum: 1, maximum: 256 }), flag: 'fleet-watch-max-per-user', env: 'UPLINK_HUB_FLEET_WATCH_MAX_PER_USER', default: 8,
    help: 'live fleet feeds (dashboards) one user may hold open at once, of the hub\'s 256; beyond it 429',
  }),
  maxConnections: setting({
    schema: Type.Integer({ minimum: 16, maximum: 1_000_000 }), flag: 'max-connections', env: 'UPLINK_HUB_MAX_CONNECTIONS', default: 10_000,
    help: 'open connections in all (agents, users, dashboards); beyond this new ones are closed at once. Keep it below ulimit -n',
  }),
  maxConnectionsPerAddress: setting({
    schema: Type.Integer({ minimum: 0, maximum: 1_000_000 }), flag: 'max-connections-per-address', env: 'UPLINK_HUB_MAX_CONNECTIONS_PER_ADDRESS',
    default: 1024,
    help: 'open connections from one remote address; agents behind one NAT or a proxy in front of the hub share one (0: no cap)',
  }),
  tlsHandshakeTimeout: setting({
    schema: SettingTypes.seconds(1, 120), flag: 'tls-handshake-timeout', env: 'UPLINK_HUB_TLS_HANDSHAKE_TIMEOUT', default: 10,
    help: 'seconds a new connection has to complete its TLS handshake',
  }),
  headersTimeout: setting({
    schema: SettingTypes.seconds(1, 300), flag: 'headers-timeout', env: 'UPLINK_HUB_HEADERS_TIMEOUT', default: 20,
    help: 'seconds a connection has to send a request\'s headers (from the connection or the previous answer)',
  }),
  requestTimeout: setting({
    schema: SettingTypes.seconds(1, 3600), flag: 'request-timeout', env: 'UPLINK_HUB_REQUEST_TIMEOUT', default: 120,
    help: 'seconds to receive a whole request, headers and body; answers (watches, logs -f), upgrades (exec, agent links) and the body of a kubectl request being forwarded are not limited',
  }),
  keepaliveTimeout: setting({
    schema: SettingTypes.seconds(1, 600), flag: 'keepalive-timeout', env: 'UPLINK_HUB_KEEPALIVE_TIMEOUT', default: 5,
    help: 'seconds an idle keep-alive connection stays open between requests',
  }),
  auditRetentionDays: setting({
    schema: Type.Number({ minimum: 1, maximum: 3650 }), flag: 'audit-retention-days', env: 'UPLINK_HUB_AUDIT_RETENTION_DAYS', default: 30,
    help: 'days to keep audit records of proxied requests',
  }),
  databaseUrl: setting({
    schema: SettingTypes.url(['postgres', 'postgresql']), flag: 'database-url', env: 'UPLINK_DATABASE_URL', optional: true,
    help: 'keep state in this PostgreSQL database (postgres://user@host:5432/db) instead of SQLite in --data-dir; '
      + 'needed to run several hub replicas. Put the password in --database-password-file rather than in the URL',
  }),
  databasePasswordFile: setting({
    schema: Type.String({ minLength: 1 }), flag: 'database-password-file', env: 'UPLINK_DATABASE_PASSWORD_FILE', optional: true,
    help: 'file holding the PostgreSQL password (e.g. a mounted Secret); read at start and on every new connection',
  }),
  secretsKeyFile: setting({
    schema: Type.String({ minLength: 1 }), flag: 'secrets-key-file', env: 'UPLINK_HUB_SECRETS_KEY_FILE', optional: true,
    help: 'with --database-url: file holding the key (32 to 4096 bytes, e.g. openssl rand -base64 48) that seals the hub CA\'s private key in the database; '
      + 'every replica needs the same file (a mounted Secret)',
  }),
  replicaId: setting({
    schema: Type.String({ pattern: '^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$' }), flag: 'replica-id', env: 'UPLINK_HUB_REPLICA_ID', optional: true,
    help: 'this replica\'s name among the hub\'s replicas (default: the host name); with --database-url only',
  }),
  peerListen: setting({
    schema: SettingTypes.listen(), flag: 'peer-listen', env: 'UPLINK_HUB_PEER_LISTEN', default: ':8444',
    help: 'address the other hub replicas relay requests to (mutual TLS with a certificate from the hub\'s CA); with --database-url only',
  }),
  peerUrl: setting({
    schema: SettingTypes.url(['https']), flag: 'peer-url', env: 'UPLINK_HUB_PEER_URL', optional: true,
    help: 'the URL the other replicas reach --peer-listen at (default: https://<host name>:<peer port>)',
  }),
  drainTimeout: setting({
    schema: SettingTypes.seconds(0, 3600), flag: 'drain-timeout', env: 'UPLINK_HUB_DRAIN_TIMEOUT', default: 30,
    help: 'with --database-url: seconds a stopping replica (SIGTERM) waits for requests in flight after it stopped taking new ones and sent its agents to the other replicas',
  }),
  logLevel: setting({
    schema: SettingTypes.logLevel(), flag: 'log-level', env: 'UPLINK_LOG_LEVEL', default: 'info', help: 'log level',
  }),
};

export type HubSettings = SettingsOf<typeof HUB_SETTINGS>;
