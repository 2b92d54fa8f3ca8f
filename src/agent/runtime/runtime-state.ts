// What the agent tells its runtime endpoints as it goes: the link up, down
// or failing, leadership won or lost, each term's add-on engine. Each is
// kept with when it began (for the ages of /api/health/detailed) and sent
// as an event to /api/realtime/events.
import type { AddonStatus, AddonSweepReport } from '../../link/addons.ts';
import type { LeaderState } from '../leader-election.ts';
import type { AddonStatusSource } from '../link-handler.ts';
import type { RuntimeEventBus } from './event-bus.ts';
import { scrubSecrets } from './log-ring.ts';

/** The calls the agent makes into its runtime endpoints; each is cheap and never throws. */
export interface AgentRuntimeHooks {
  linkUp(transport: string): void;
  linkDown(code: number, reason: string): void;
  /** A failure to link, once per distinct problem (as the agent logs it). */
  linkFailing(problem: string, message: string): void;
  leader(state: LeaderState, reason?: string): void;
  /** A term's add-on engine started; call the returned function when the term ends. */
  engineStarted(engine: Pick<AddonStatusSource, 'statuses' | 'subscribe' | 'lastSweep' | 'onSweep'>): () => void;
}

/** idle: not linked since the start (starting, or a standby); down: the link closed; failing: attempts to link fail. */
export type LinkState = 'idle' | 'up' | 'down' | 'failing';

/** Keeps the agent's state with the time each part of it changed; see the file comment. */
export class RuntimeState implements AgentRuntimeHooks {
  link: { state: LinkState; since: number; transport?: string; problem?: string } ;
  leaderSince: number;
  terms = 0;
  engine: { source: Pick<AddonStatusSource, 'statuses' | 'lastSweep'>; since: number } | undefined;
  lastSweep: AddonSweepReport | undefined;
  private readonly events: RuntimeEventBus;
  private readonly now: () => number;

  constructor(options: { events: RuntimeEventBus; now?: () => number }) {
    this.events = options.events;
    this.now = options.now ?? Date.now;
    this.link = { state: 'idle', since: this.now() };
    this.leaderSince = this.now();
  }

  linkUp(transport: string): void {
    this.link = { state: 'up', since: this.now(), transport };
    this.events.emit('link', { state: 'up', transport });
  }

  linkDown(code: number, reason: string): void {
    this.link = { state: 'down', since: this.now() };
    this.events.emit('link', { state: 'down', code, reason: scrubSecrets(reason).slice(0, 200) });
  }

  linkFailing(problem: string, message: string): void {
    // The first failure after a link or a start dates the outage; later kinds of failure do not move it.
    const since = this.link.state === 'up' || this.link.state === 'idle' ? this.now() : this.link.since;
    this.link = { state: 'failing', since, problem };
    this.events.emit('link', { state: 'failing', problem, message: scrubSecrets(message).slice(0, 500) });
  }

  leader(state: LeaderState, reason?: string): void {
    this.leaderSince = this.now();
    if (state === 'leader') this.terms += 1;
    this.events.emit('leader', { state, ...(reason === undefined ? {} : { reason }) });
  }

  engineStarted(engine: Pick<AddonStatusSource, 'statuses' | 'subscribe' | 'lastSweep' | 'onSweep'>): () => void {
    const source = { source: engine, since: this.now() };
    this.engine = source;
    const phases = new Map<string, string>();
    for (const status of engine.statuses()) phases.set(status.name, `${status.generation}/${status.phase}`);
    const offStatus = engine.subscribe((status: AddonStatus) => {
      // A status changes many times per operation (messages, health); an event is worth it when the phase moves.
      const key = `${status.generation}/${status.phase}`;
      if (phases.get(status.name) === key) return;
      phases.set(status.name, key);
      this.events.emit('addon', { name: status.name, generation: status.generation, phase: status.phase, message: status.message.slice(0, 500) });
    });
    const offSweep = engine.onSweep((report) => {
      this.lastSweep = report;
      this.events.emit('sweep', report);
    });
    return () => {
      offStatus();
      offSweep();
      if (this.engine === source) this.engine = undefined;
    };
  }
}
