// Settings of `uplink agent` (flags > environment > config file > default).
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Type } from '../util/setting-schema.ts';
import { SettingTypes, setting, type SettingsOf } from '../util/settings.ts';

export const DEFAULT_STATE_SECRET = 'uplink-agent-state';

export const AGENT_SETTINGS = {
  hubUrl: setting({
    schema: SettingTypes.url(['https', 'http']), flag: 'hub-url', env: 'UPLINK_HUB_URL',
    help: 'the hub to link to, e.g. https://hub.example.com:8443',
  }),
  token: setting({
    schema: Type.String({ minLength: 1, maxLength: 256 }), flag: 'token', env: 'UPLINK_TOKEN', optional: true,
    help: 'the cluster token printed by `uplink clusters create` (prefer --token-file)',
  }),
  tokenFile: setting({
    schema: Type.String({ minLength: 1 }), flag: 'token-file', env: 'UPLINK_TOKEN_FILE', optional: true,
    help: 'file holding the cluster token (e.g. a mounted Secret)',
  }),
  hubCaHash: setting({
    schema: Type.String({ pattern: '^sha256:[0-9a-fA-F]{64}$' }), flag: 'hub-ca-hash', env: 'UPLINK_HUB_CA_HASH', optional: true,
    help: 'pin of the hub CA (sha256:...), printed by the hub; the CA is fetched once and then verified',
  }),
  hubCaFile: setting({
    schema: Type.String({ minLength: 1 }), flag: 'hub-ca-file', env: 'UPLINK_HUB_CA_FILE', optional: true,
    help: 'PEM CA bundle to trust for the hub instead of the system CAs',
  }),
  insecureSkipTlsVerify: setting({
    schema: Type.Boolean(), flag: 'insecure-skip-tls-verify', env: 'UPLINK_INSECURE_SKIP_TLS_VERIFY', default: false,
    help: 'do not verify the hub certificate (unsafe; for debugging only)',
  }),
  kubeconfig: setting({
    schema: Type.String({ minLength: 1 }), flag: 'kubeconfig', env: 'UPLINK_KUBECONFIG', optional: true,
    help: 'kubeconfig to use outside a cluster (default: in-cluster ServiceAccount, else ~/.kube/config)',
  }),
  context: setting({
    schema: Type.String({ minLength: 1 }), flag: 'context', env: 'UPLINK_KUBE_CONTEXT', optional: true,
    help: 'kubeconfig context',
  }),
  stateFile: setting({
    schema: Type.String({ minLength: 1 }), flag: 'state-file', env: 'UPLINK_STATE_FILE', optional: true,
    help: `file for the agent's state outside a cluster (default: ${join('~/.config/uplink', 'agent-state.json')})`,
  }),
  stateSecret: setting({
    schema: Type.String({ pattern: '^[a-z0-9-]{1,63}/[a-z0-9.-]{1,253}$' }), flag: 'state-secret', env: 'UPLINK_STATE_SECRET', optional: true,
    help: `namespace/name of the Secret for the agent's state (default in a cluster: <own namespace>/${DEFAULT_STATE_SECRET})`,
  }),
  manageRbac: setting({
    schema: Type.Boolean(), flag: 'manage-rbac', env: 'UPLINK_MANAGE_RBAC', default: true,
    help: 'create the ClusterRoleBindings of the uplink:admin/edit/view groups (off when the chart provides them)',
  }),
  healthListen: setting({
    schema: SettingTypes.listen(), flag: 'health-listen', env: 'UPLINK_HEALTH_LISTEN', default: ':8080',
    help: 'address for /livez, /readyz, /metrics, /version and the read-only runtime endpoints (/api/health/detailed, ..., /dashboard)',
  }),
  heartbeatInterval: setting({
    schema: SettingTypes.seconds(1, 300), flag: 'heartbeat-interval', env: 'UPLINK_HEARTBEAT_INTERVAL', default: 15,
    help: 'seconds between heartbeats',
  }),
  reconnectMin: setting({
    schema: SettingTypes.seconds(0.1, 60), flag: 'reconnect-min', env: 'UPLINK_RECONNECT_MIN', default: 1,
    help: 'first reconnect backoff ceiling in seconds (doubles per failure, full jitter)',
  }),
  linkTransport: setting({
    schema: Type.Union([Type.Literal('auto'), Type.Literal('h2'), Type.Literal('websocket')]),
    flag: 'link-transport', env: 'UPLINK_LINK_TRANSPORT', default: 'auto',
    help: 'how the link runs: h2 (HTTP/2 on the TLS socket after an Upgrade), websocket, or auto (h2, falling back to websocket when the hub or a proxy does not upgrade)',
  }),
  reconnectMax: setting({
    schema: SettingTypes.seconds(1, 600), flag: 'reconnect-max', env: 'UPLINK_RECONNECT_MAX', default: 30,
    help: 'largest reconnect backoff in seconds',
  }),
  inventoryDiscover: setting({
    schema: Type.Boolean(), flag: 'inventory-discover', env: 'UPLINK_INVENTORY_DISCOVER', default: false,
    help: 'also cache every further listable and watchable API resource found by discovery (CRDs, ...), with generic rows',
  }),
  inventoryMaxObjects: setting({
    schema: Type.Integer({ minimum: 100, maximum: 10_000_000 }), flag: 'inventory-max-objects', env: 'UPLINK_INVENTORY_MAX_OBJECTS', default: 200_000,
    help: 'most objects the inventory caches over all kinds; beyond it a kind stops caching new objects and reports an error',
  }),
  watchTimeout: setting({
    schema: SettingTypes.seconds(10, 3600), flag: 'watch-timeout', env: 'UPLINK_WATCH_TIMEOUT', default: 300,
    help: 'seconds the API server keeps an inventory watch open before a planned re-watch (randomised by ±20% per watch)',
  }),
  watchSilence: setting({
    schema: SettingTypes.seconds(5, 3600), flag: 'watch-silence', env: 'UPLINK_WATCH_SILENCE', default: 150,
    help: 'seconds without a byte on a watch (bookmarks arrive about every minute) before the watchdog restarts it',
  }),
  namespace: setting({
    schema: Type.String({ pattern: '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$' }), flag: 'namespace', env: 'UPLINK_NAMESPACE', optional: true,
    help: "the agent's own namespace, where it reads add-on credentials such as Git token Secrets (default: the namespace of --state-secret, the pod's own in a cluster, else uplink-system)",
  }),
  helm: setting({
    schema: Type.String({ minLength: 1 }), flag: 'helm', env: 'UPLINK_HELM', default: 'helm',
    help: 'the helm binary (v4) that installs add-ons: a path, or a name looked up on PATH',
  }),
  addonsReadWorkers: setting({
    schema: Type.Integer({ minimum: 1, maximum: 64 }), flag: 'addons-read-workers', env: 'UPLINK_ADDONS_READ_WORKERS', default: 5,
    help: 'helm reads (history, metadata, manifests) and health checks of add-ons run at once at most',
  }),
  addonsWriteWorkers: setting({
    schema: Type.Integer({ minimum: 1, maximum: 64 }), flag: 'addons-write-workers', env: 'UPLINK_ADDONS_WRITE_WORKERS', default: 5,
    help: 'helm installs, upgrades, rollbacks and uninstalls of add-ons run at once at most',
  }),
  addonsSweepInterval: setting({
    schema: SettingTypes.seconds(5, 3600), flag: 'addons-sweep-interval', env: 'UPLINK_ADDONS_SWEEP_INTERVAL', default: 60,
    help: "seconds between two reads of every add-on's release and health (changes from the hub apply at once)",
  }),
  addonsHelmTimeout: setting({
    schema: SettingTypes.seconds(10, 3600), flag: 'addons-helm-timeout', env: 'UPLINK_ADDONS_HELM_TIMEOUT', default: 300,
    help: "helm's --timeout for add-on installs, upgrades, rollbacks and uninstalls (the helm process is killed 60 s later)",
  }),
  sops: setting({
    schema: Type.String({ minLength: 1 }), flag: 'sops', env: 'UPLINK_SOPS', default: 'sops',
    help: 'the sops binary that decrypts SOPS-encrypted add-on values: a path, or a name looked up on PATH',
  }),
  addonsSopsSecret: setting({
    schema: Type.String({ pattern: '^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$' }), flag: 'addons-sops-secret', env: 'UPLINK_ADDONS_SOPS_SECRET', default: 'uplink-agent-sops',
    help: "Secret in the agent's namespace holding the age key (data key age.agekey or keys.txt) for SOPS-encrypted add-on values",
  }),
  addonsStuckAfter: setting({
    schema: SettingTypes.seconds(10, 86_400), flag: 'addons-stuck-after', env: 'UPLINK_ADDONS_STUCK_AFTER', default: 600,
    help: 'seconds a release may stay pending-install/-upgrade/-rollback before the agent takes it for an interrupted helm run, marks it failed and upgrades it again',
  }),
  addonsPlainHttpRegistries: setting({
    schema: SettingTypes.stringList(), flag: 'addons-plain-http-registries', env: 'UPLINK_ADDONS_PLAIN_HTTP_REGISTRIES', optional: true,
    help: 'comma-separated host[:port] of OCI registries reached over plain HTTP (helm --plain-http), e.g. a registry inside the cluster',
  }),
  reportPublicIp: setting({
    schema: Type.Boolean(), flag: 'report-public-ip', env: 'UPLINK_REPORT_PUBLIC_IP', default: false,
    help: "look up the cluster's egress IP address at --public-ip-url (at most every 10 minutes) and report it in the heartbeat; off: no request at all",
  }),
  publicIpUrl: setting({
    schema: SettingTypes.url(['https', 'http']), flag: 'public-ip-url', env: 'UPLINK_PUBLIC_IP_URL', default: 'https://checkip.amazonaws.com',
    help: 'with --report-public-ip: a URL that answers with the caller\'s IP address as plain text',
  }),
  selfRelease: setting({
    schema: Type.String({ pattern: '^[a-z0-9]([-a-z0-9.]{0,51}[a-z0-9])?$' }), flag: 'self-release', env: 'UPLINK_SELF_RELEASE', optional: true,
    help: "the agent's own Helm release (in --namespace), which the hub may ask it to upgrade; set by the agent chart, and without it upgrades are refused",
  }),
  selfChart: setting({
    schema: Type.String({ minLength: 1, maxLength: 1024 }), flag: 'self-chart', env: 'UPLINK_SELF_CHART', optional: true,
    help: 'the chart the agent upgrades its release from: an oci:// reference, or a chart name with --self-chart-repo',
  }),
  selfChartRepo: setting({
    schema: SettingTypes.url(['https', 'http']), flag: 'self-chart-repo', env: 'UPLINK_SELF_CHART_REPO', optional: true,
    help: 'the Helm chart repository of --self-chart (passed to helm as --repo)',
  }),
  leaderElect: setting({
    schema: Type.Boolean(), flag: 'leader-elect', env: 'UPLINK_LEADER_ELECT', default: false,
    help: 'elect a leader among the agent\'s replicas on a Lease in --namespace: only the leader links to the hub and runs the add-on engine; the others keep their inventory warm and take over when the lease expires or is released',
  }),
  leaderElectLease: setting({
    schema: SettingTypes.dnsName(), flag: 'leader-elect-lease', env: 'UPLINK_LEADER_ELECT_LEASE', default: 'uplink-agent',
    help: 'name of the Lease (coordination.k8s.io/v1) in --namespace that --leader-elect uses; the agent needs get and update on it, and create in the namespace',
  }),
  leaderElectLeaseDuration: setting({
    schema: Type.Integer({ minimum: 2, maximum: 300 }), flag: 'leader-elect-lease-duration', env: 'UPLINK_LEADER_ELECT_LEASE_DURATION', default: 15,
    help: 'seconds a standby waits, after the lease last changed, before taking it from a leader that stopped renewing',
  }),
  leaderElectRenewDeadline: setting({
    schema: SettingTypes.seconds(1, 299), flag: 'leader-elect-renew-deadline', env: 'UPLINK_LEADER_ELECT_RENEW_DEADLINE', default: 10,
    help: 'seconds the leader keeps leading without a successful renewal before it stops linking and stops its engine; shorter than the lease duration',
  }),
  leaderElectRetryPeriod: setting({
    schema: SettingTypes.seconds(0.2, 60), flag: 'leader-elect-retry-period', env: 'UPLINK_LEADER_ELECT_RETRY_PERIOD', default: 2,
    help: 'seconds between attempts to renew (leader) or acquire (standby, +0-20% jitter) the lease; shorter than the renew deadline',
  }),
  logLevel: setting({
    schema: SettingTypes.logLevel(), flag: 'log-level', env: 'UPLINK_LOG_LEVEL', default: 'info', help: 'log level',
  }),
};

export type AgentSettings = SettingsOf<typeof AGENT_SETTINGS>;

export function defaultStateFile(): string {
  return join(process.env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'uplink', 'agent-state.json');
}
