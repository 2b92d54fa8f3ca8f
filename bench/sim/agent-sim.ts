// One simulated agent: the real Agent of src/agent/agent.ts (dial, TLS pin,
// HTTP/2 session, events stream with heartbeats every 15 s, add-on sweep
// reports, reconnect backoff with jitter and Retry-After) over a cluster
// that is not there (fake-cluster.ts). Only the Kubernetes side is fake.
import { Agent } from '../../src/agent/agent.ts';
import { AGENT_SETTINGS, type AgentSettings } from '../../src/agent/config.ts';
import { AddonEngine, DesiredAddons, HelmRunner, KindResolver } from '../../src/agent/addons/index.ts';
import type { AgentMetrics } from '../../src/agent/metrics.ts';
import { AgentSelfUpgrade } from '../../src/agent/self-upgrade.ts';
import type { Logger } from '../../src/util/logger.ts';
import { loadSettings } from '../../src/util/settings.ts';
import { MemoryDesiredAddonsStore, MemoryStateStore, fakeInventory, fakeKube, type FakeClusterShape } from './fake-cluster.ts';

/** What the agents of one worker share: settings, metrics, logger, and helm that is never run. */
export interface SimShared {
  settings: AgentSettings;
  /** The hub CA as an agent keeps it after its first link; undefined makes each agent fetch it through the pin. */
  hubCaPem: string | undefined;
  metrics: AgentMetrics;
  log: Logger;
  helm: HelmRunner;
  selfUpgrade: AgentSelfUpgrade;
}

/**
 * The settings of `uplink agent --hub-url URL --hub-ca-hash PIN`, through the
 * agent's own loader, so the defaults (15 s heartbeats, 1-30 s backoff) are
 * the real ones. RBAC bindings are a Kubernetes call, and there is none.
 */
export function simShared(options: {
  hubUrl: string; caHash: string; hubCaPem: string | undefined; metrics: AgentMetrics; log: Logger; helmDir: string;
}): SimShared {
  // BENCH_LINK_TRANSPORT sets --link-transport where the agent has it (a flag it does not know is ignored).
  const transport = process.env.BENCH_LINK_TRANSPORT;
  const settings = loadSettings({
    table: AGENT_SETTINGS, env: {},
    flags: {
      hubUrl: options.hubUrl, hubCaHash: options.caHash, manageRbac: false, helm: '/nonexistent/helm',
      ...(transport === undefined ? {} : { linkTransport: transport }),
    },
  });
  const helm = new HelmRunner({ binary: settings.helm, stateDir: options.helmDir });
  const selfUpgrade = new AgentSelfUpgrade({ setup: { unavailable: 'a simulated agent has no release' }, helm, log: options.log });
  return { settings, hubCaPem: options.hubCaPem, metrics: options.metrics, log: options.log, helm, selfUpgrade };
}

function refuseCharts(): Promise<never> {
  return Promise.reject(new Error('a simulated agent installs no charts'));
}

export class SimAgent {
  readonly token: string;
  /** When the current link opened (as seen by poll()), undefined while unlinked. */
  linkedSince: number | undefined;
  /** Links that closed under this agent. */
  drops = 0;
  /** Set when run() ended on an error: the agent gave up. */
  failure: string | undefined;
  private readonly agent: Agent;
  private readonly engine: AddonEngine<never[]>;
  private readonly controller = new AbortController();
  private running: Promise<void> | undefined;
  private stopping = false;

  constructor(shared: SimShared, shape: FakeClusterShape, token: string) {
    this.token = token;
    const kube = fakeKube(shape);
    const { log, metrics, helm } = shared;
    this.engine = new AddonEngine<never[]>({
      helm, log, metrics, kube, resolver: new KindResolver({ kube }),
      resolveChart: refuseCharts,
      objects: { parse: () => [], health: refuseCharts },
    });
    this.agent = new Agent({
      settings: shared.settings, log, kube, metrics,
      state: new MemoryStateStore(shared.hubCaPem === undefined ? {} : { hubCaPem: shared.hubCaPem }),
      desiredAddons: new DesiredAddons({ store: new MemoryDesiredAddonsStore(), log }),
      addons: this.engine,
      inventory: fakeInventory(shape),
      selfUpgrade: shared.selfUpgrade,
      configuredToken: token,
    });
  }

  start(): void {
    this.running = this.agent.run(this.controller.signal).catch((error: unknown) => {
      this.failure = error instanceof Error ? error.message : String(error);
    });
  }

  /** Updates linkedSince and drops from the agent's state; call often. */
  poll(now: number): void {
    const linked = this.agent.linked;
    if (linked && this.linkedSince === undefined) this.linkedSince = now;
    if (!linked && this.linkedSince !== undefined) {
      this.linkedSince = undefined;
      if (!this.stopping) this.drops += 1;
    }
  }

  get linked(): boolean {
    return this.agent.linked;
  }

  /** As on SIGTERM: the link drains (GOAWAY, events stream ended, close 1000). */
  async stop(): Promise<void> {
    this.stopping = true;
    this.controller.abort();
    await this.running;
    await this.engine.stop(0);
  }
}
