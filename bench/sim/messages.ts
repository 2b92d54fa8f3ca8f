// What the bench and its sim workers (worker.ts) say to each other over the
// child-process IPC channel.

/** One agent to run: the cluster's index (for its shape) and its token. */
export interface AgentSpec {
  index: number;
  token: string;
}

export type ToWorker =
  /** hubCaPem: the CA each agent starts with in its state, as after its first link; absent, each fetches it through the pin. */
  | { type: 'init'; hubUrl: string; caHash: string; hubCaPem?: string; logFile: string; helmDir: string }
  /** Start these agents, `perSecond` of them a second. */
  | { type: 'add'; agents: AgentSpec[]; perSecond: number }
  /** Stop `count` linked agents (a drained link, as on SIGTERM) and start a fresh agent for each of their clusters. */
  | { type: 'churn'; count: number }
  /** Stop every agent; answered with 'stopped'. */
  | { type: 'stopAll' }
  /** Answered with 'linkTimes'. */
  | { type: 'linkTimes' };

/** Link attempts by result, as uplink_agent_link_attempts_total counts them. */
export type AttemptCounts = Record<string, number>;

export interface WorkerStats {
  type: 'stats';
  agents: number;
  linked: number;
  /** Links that closed under a running agent. */
  drops: number;
  /** Agents whose run() ended on an error, with the first few messages. */
  gaveUp: number;
  failures: string[];
  attempts: AttemptCounts;
  heartbeats: number;
  rssBytes: number;
}

export type FromWorker =
  | WorkerStats
  | { type: 'stopped' }
  /** For each agent in start order: when its current link opened (epoch ms), or null while unlinked. */
  | { type: 'linkTimes'; since: (number | null)[] };
