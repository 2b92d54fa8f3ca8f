// Kept-alive connections to exposed services, so a page's small requests do
// not each open a link stream and make the agent dial: one http.Agent per
// exposure and user (a connection is never shared between users, so a
// service that ties state to a connection cannot mix them up) on the link
// it was opened over. An idle connection is closed after a few seconds,
// before a service's own keep-alive timeout would (Node's is 5 s), so a
// request is rarely sent on a connection the service is closing.
import http from 'node:http';
import type { Duplex } from 'node:stream';
import type { HubSession } from '../../link/hub-session.ts';

/** An idle kept-alive connection is closed after this long. */
export const IDLE_CONNECTION_MS = 4_000;
/** Idle connections kept per exposure and user. */
export const MAX_IDLE_PER_AGENT = 4;
/** Agents kept at once; the least recently used goes (with its idle connections) beyond. */
export const MAX_AGENTS = 1024;

/** What the agent pool needs of a link stream used as a socket: the methods http.Agent calls on sockets it keeps. */
function asPooledSocket(stream: Duplex): Duplex {
  const socket = stream as Duplex & Partial<Record<'setKeepAlive' | 'ref' | 'unref', () => unknown>>;
  // A link stream has no TCP keep-alive and holds no event-loop reference of its own: these are no-ops for it.
  socket.setKeepAlive ??= () => socket;
  socket.ref ??= () => socket;
  socket.unref ??= () => socket;
  return socket;
}

/** An http.Agent whose connections are link streams to one exposure. */
class LinkAgent extends http.Agent {
  readonly #open: () => Promise<Duplex>;

  constructor(open: () => Promise<Duplex>) {
    super({ keepAlive: true, maxFreeSockets: MAX_IDLE_PER_AGENT, timeout: IDLE_CONNECTION_MS, scheduling: 'lifo' });
    this.#open = open;
  }

  override createConnection(_options: unknown, created: (error: Error | null, socket: Duplex) => void): undefined {
    this.#open().then((stream) => { created(null, asPooledSocket(stream)); }, (error: unknown) => {
      created(error instanceof Error ? error : new Error(String(error)), undefined as unknown as Duplex);
    });
    return undefined;
  }
}

interface Entry {
  session: HubSession;
  agent: http.Agent;
}

export class LinkAgents {
  readonly #entries = new Map<string, Entry>();
  readonly #max: number;

  constructor(max = MAX_AGENTS) {
    this.#max = max;
  }

  /** The agent of this exposure and user over `session`; one made for an older link is replaced. */
  agentFor(options: { session: HubSession; exposureId: string; userId: string; open: () => Promise<Duplex> }): http.Agent {
    const key = `${options.exposureId}\u0000${options.userId}`;
    const found = this.#entries.get(key);
    this.#entries.delete(key);
    if (found !== undefined && found.session === options.session) {
      this.#entries.set(key, found);
      return found.agent;
    }
    found?.agent.destroy();
    const entry = { session: options.session, agent: new LinkAgent(options.open) };
    this.#entries.set(key, entry);
    for (const [oldest, { agent }] of this.#entries) {
      if (this.#entries.size <= this.#max) break;
      agent.destroy();
      this.#entries.delete(oldest);
    }
    return entry.agent;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Closes every kept connection (hub shutdown). */
  close(): void {
    for (const { agent } of this.#entries.values()) agent.destroy();
    this.#entries.clear();
  }
}
