// The bodies of /api/health/detailed and /api/status/features: the agent's
// state with the age of each part, and what this agent is set up to do.
// Names, states, counts and ages only: no token, key, kubeconfig or URL
// credentials (the hub appears as its host alone).
import type { AgentSettings } from '../config.ts';
import type { ReadinessReport } from '../health-server.ts';
import type { Inventory } from '../inventory/index.ts';
import type { RuntimeState } from './runtime-state.ts';

/** Kinds with an error listed in full at most; the rest are counted. */
const MAX_KIND_ERRORS_SHOWN = 20;

/** What the agent itself reports, beyond what RuntimeState keeps. */
export interface AgentStatusSource {
  readiness(): ReadinessReport;
  /** When the API server last answered (ms since the epoch), 0 before it did. */
  apiAnsweredAt(): number;
}

export interface StatusInputs {
  settings: AgentSettings;
  state: RuntimeState;
  agent: AgentStatusSource;
  inventory: Pick<Inventory, 'freshness' | 'kinds'>;
  startedAt: number;
  now?: () => number;
}

function age(now: number, at: number): number {
  return Math.max(0, Math.round((now - at) / 100) / 10);
}

function iso(at: number): string {
  return new Date(at).toISOString();
}

/** The body of /api/health/detailed. */
export function detailedHealth(inputs: StatusInputs): Record<string, unknown> {
  const now = (inputs.now ?? Date.now)();
  const { state, agent, settings } = inputs;
  const readiness = agent.readiness();
  const apiAt = agent.apiAnsweredAt();
  const freshness = inputs.inventory.freshness();
  const kindErrors = inputs.inventory.kinds().filter((kind) => kind.error !== null);
  const statuses = state.engine?.source.statuses() ?? [];
  const phases: Record<string, number> = {};
  for (const status of statuses) phases[status.phase] = (phases[status.phase] ?? 0) + 1;
  const sweep = state.lastSweep ?? state.engine?.source.lastSweep();
  const sweepAt = sweep ? Date.parse(sweep.lastSweepAt) : Number.NaN;
  const failed = phases.Failed ?? 0;
  return {
    status: readiness.ready ? 'ok' : 'degraded',
    reasons: readiness.reasons,
    now: iso(now),
    uptimeSeconds: age(now, inputs.startedAt),
    link: {
      state: state.link.state, hubHost: new URL(settings.hubUrl).host, since: iso(state.link.since), ageSeconds: age(now, state.link.since),
      ...(state.link.transport === undefined ? {} : { transport: state.link.transport }),
      ...(state.link.problem === undefined ? {} : { problem: state.link.problem }),
    },
    leader: {
      state: readiness.leader ?? 'leader', holder: readiness.holder ?? null, leaderElection: settings.leaderElect,
      term: readiness.term ?? null, terms: state.terms, since: iso(state.leaderSince), ageSeconds: age(now, state.leaderSince),
    },
    apiServer: apiAt === 0 ? { answered: false, lastSuccessAt: null, ageSeconds: null } : { answered: true, lastSuccessAt: iso(apiAt), ageSeconds: age(now, apiAt) },
    inventory: {
      synced: freshness.synced, kinds: freshness.kinds, syncedKinds: freshness.syncedKinds, objects: freshness.objects,
      stalenessSeconds: freshness.stalenessSeconds, syncedAt: freshness.syncedAt,
      syncAgeSeconds: freshness.syncedAt === null ? null : age(now, Date.parse(freshness.syncedAt)),
      kindErrors: kindErrors.slice(0, MAX_KIND_ERRORS_SHOWN).map((kind) => ({ kind: kind.resource, error: kind.error })),
      kindErrorCount: kindErrors.length,
    },
    engine: state.engine
      ? { running: true, addons: statuses.length, phases, since: iso(state.engine.since), ageSeconds: age(now, state.engine.since) }
      : { running: false, addons: 0, phases: {}, since: null, ageSeconds: null },
    lastSweep: sweep && !Number.isNaN(sweepAt)
      ? {
          at: sweep.lastSweepAt, ageSeconds: age(now, sweepAt), outcome: failed === 0 ? 'ok' : `${failed} add-on(s) failed`,
          addonsInspected: sweep.addonsInspected, durationSeconds: sweep.sweepDurationSeconds, intervalSeconds: sweep.intervalSeconds,
        }
      : null,
  };
}

/** How the agent trusts the hub, by name (never the CA itself). */
export function hubTrustMode(settings: AgentSettings): 'pin' | 'caFile' | 'insecure' | 'system' {
  if (settings.insecureSkipTlsVerify) return 'insecure';
  if (settings.hubCaHash !== undefined) return 'pin';
  if (settings.hubCaFile !== undefined) return 'caFile';
  return 'system';
}

/** The body of /api/status/features: what this agent does, from its settings and its inventory's kinds. */
export function agentFeatures(settings: AgentSettings, inventory: Pick<Inventory, 'kinds'>): Record<string, unknown> {
  return {
    link: {
      hubHost: new URL(settings.hubUrl).host, transport: settings.linkTransport, hubTrust: hubTrustMode(settings),
      heartbeatIntervalSeconds: settings.heartbeatInterval, reconnectMinSeconds: settings.reconnectMin, reconnectMaxSeconds: settings.reconnectMax,
    },
    addonEngine: {
      enabled: true, runsOn: settings.leaderElect ? 'the leader' : 'this agent', sweepIntervalSeconds: settings.addonsSweepInterval,
      readWorkers: settings.addonsReadWorkers, writeWorkers: settings.addonsWriteWorkers, helmTimeoutSeconds: settings.addonsHelmTimeout,
      stuckAfterSeconds: settings.addonsStuckAfter, plainHttpRegistries: settings.addonsPlainHttpRegistries?.length ?? 0,
    },
    inventory: {
      kinds: inventory.kinds().map((kind) => kind.resource), discover: settings.inventoryDiscover, maxObjects: settings.inventoryMaxObjects,
      watchTimeoutSeconds: settings.watchTimeout, watchSilenceSeconds: settings.watchSilence,
    },
    access: {
      // The hub's users reach the cluster as themselves: reads are checked with SubjectAccessReviews, kubectl is impersonated.
      userAccess: 'per hub user (SubjectAccessReview, impersonation)', manageRbacBindings: settings.manageRbac,
    },
    leaderElection: {
      enabled: settings.leaderElect, lease: settings.leaderElect ? settings.leaderElectLease : null,
      leaseDurationSeconds: settings.leaderElectLeaseDuration, renewDeadlineSeconds: settings.leaderElectRenewDeadline,
      retryPeriodSeconds: settings.leaderElectRetryPeriod,
    },
    selfUpgrade: { enabled: settings.selfRelease !== undefined, release: settings.selfRelease ?? null },
    kubectlProxy: { enabled: true },
    reportPublicIp: { enabled: settings.reportPublicIp, host: settings.reportPublicIp ? new URL(settings.publicIpUrl).host : null },
  };
}
