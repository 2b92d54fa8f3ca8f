// The agent's runtime events, typed: link up, down or failing; leadership
// won or lost; a sweep of the add-ons done; an add-on's phase changed. The
// agent emits them, /api/realtime/events streams them, and the last
// EVENT_REPLAY of them are replayed to a client that connects.
import type { AddonPhase, AddonSweepReport } from '../../link/addons.ts';
import type { LeaderState } from '../leader-election.ts';
import { ReplayBuffer, type Numbered } from './replay-buffer.ts';

/** Events kept for replay to a new client. */
export const EVENT_REPLAY = 100;

/** What each event type carries. Only names, states and counts: never a token, a key or a value. */
export interface RuntimeEventData {
  link: { state: 'up'; transport: string } | { state: 'down'; code: number; reason: string } | { state: 'failing'; problem: string; message: string };
  leader: { state: LeaderState; reason?: string };
  sweep: AddonSweepReport;
  addon: { name: string; generation: number; phase: AddonPhase; message: string };
}

export type RuntimeEventType = keyof RuntimeEventData;

/** One event: its type, when (ISO 8601, the agent's clock) and its data. */
export type RuntimeEvent = { [K in RuntimeEventType]: { type: K; at: string; data: RuntimeEventData[K] } }[RuntimeEventType];

/** Takes the agent's events and keeps the recent ones; see ReplayBuffer. */
export class RuntimeEventBus {
  readonly buffer: ReplayBuffer<RuntimeEvent>;
  private readonly now: () => number;

  constructor(options: { capacity?: number; now?: () => number } = {}) {
    this.buffer = new ReplayBuffer<RuntimeEvent>(options.capacity ?? EVENT_REPLAY);
    this.now = options.now ?? Date.now;
  }

  emit<K extends RuntimeEventType>(type: K, data: RuntimeEventData[K]): Numbered<RuntimeEvent> {
    return this.buffer.push({ type, at: new Date(this.now()).toISOString(), data } as RuntimeEvent);
  }

  /** The last event of `type`, if one is still held. */
  last<K extends RuntimeEventType>(type: K): Extract<RuntimeEvent, { type: K }> | undefined {
    const entries = this.buffer.recent();
    for (let i = entries.length - 1; i >= 0; i -= 1) {
      const value = entries[i]?.value;
      if (value?.type === type) return value as Extract<RuntimeEvent, { type: K }>;
    }
    return undefined;
  }
}
