// What bench/link.ts (the hub side) and bench/link-agent.ts (the agent side)
// agree on: the paths the agent serves, the bytes it sends and the messages
// between the two processes.

/** Paths of the agent side's handler, the same on the link and on plain HTTP/2. */
export const BENCH_PATHS = {
  /** A small JSON answer, about the size of a small Kubernetes object's status. */
  small: '/bench/small',
  /** `?bytes=N`: N bytes of octet-stream. */
  bulk: '/bench/bulk',
  /** Bytes until the reader cancels the stream. */
  flood: '/bench/flood',
} as const;

/** What every sender writes at a time: 64 KiB, what a Node stream pipe moves. */
export const CHUNK = Buffer.alloc(64 * 1024, 0x61);

export const SMALL_BODY = Buffer.from(JSON.stringify({
  kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', message: 'x'.repeat(120),
}));

/** Hub side to agent side: the hub's URL and TLS material (the agent pins `caPem`). */
export interface AgentStart {
  type: 'start';
  hubUrl: string;
  caPem: string;
  certPem: string;
  keyPem: string;
}

/** Agent side to hub side: linked, and the ports of the direct paths. */
export interface AgentReady {
  type: 'ready';
  /** Raw TCP byte server: send "N\n", get N bytes. */
  tcpPort: number;
  /** The same over TLS (the hub's certificate). */
  tlsPort: number;
  /** The link's HTTP/2 server and handler, cleartext (h2c). */
  h2Port: number;
  /** The same over TLS (h2). */
  h2TlsPort: number;
}

/** Nearest-rank percentile. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(0, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[rank] ?? Number.NaN;
}

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}
