// The agent's terms of leadership: while it leads (always, without leader
// election) an add-on engine runs and the link loop dials the hub; a term
// ends at once when the lease is lost (link cut, helm writes killed) or
// gracefully at shutdown. A stopped engine cannot start again, so each term
// after the first gets a new one, once the last one has stopped.
import { background } from '../util/background.ts';
import type { Logger } from '../util/logger.ts';
import type { DesiredAddons } from './addons/index.ts';
import type { DesiredAddonSet } from '../link/addons.ts';
import type { AddonStatusSource } from './link-handler.ts';

/** What the agent needs of an add-on engine. */
export type AddonEngineLike = AddonStatusSource & {
  start(set: DesiredAddonSet | undefined): void;
  update(set: DesiredAddonSet): void;
  /** Stops it; running helm writes get `graceMs` to finish (0: killed at once). */
  stop(graceMs?: number): Promise<void>;
};

/** One term of leadership: the engine and the link loop, which end together. */
export interface LeaderTerm {
  engine: AddonEngineLike;
  /** Aborted when the term ends, or at shutdown. */
  signal: AbortSignal;
  /** Ended by a lost lease: the link is cut, not drained. */
  lost: boolean;
}

export interface LeaderTermsOptions {
  /** The first term's engine. */
  addons: AddonEngineLike;
  /** Each later term's engine; without it there is only one term. */
  createAddons?: (() => AddonEngineLike) | undefined;
  desiredAddons: DesiredAddons;
  /** Reload the stored desired set at each term's start: another replica may have stored a newer one. */
  reloadDesired: boolean;
  log: Logger;
  /** Runs the link loop of a term until its signal aborts; a rejection ends the agent through `onFailure`. */
  link: (term: LeaderTerm) => Promise<void>;
  onFailure: (error: unknown) => void;
}

interface RunningTerm extends LeaderTerm {
  controller: AbortController;
  loop: Promise<void>;
}

export class LeaderTerms {
  private readonly options: LeaderTermsOptions;
  private current: RunningTerm | undefined;
  private started = 0;
  /** The last term's engine stopping: the next term's engine starts after it. */
  private stopping: Promise<void> = Promise.resolve();

  constructor(options: LeaderTermsOptions) {
    this.options = options;
    options.desiredAddons.onStored((set) => { this.current?.engine.update(set); });
  }

  /** Starts a term unless one runs or `shutdown` has aborted. */
  begin(shutdown: AbortSignal): void {
    if (this.current || shutdown.aborted) return;
    const engine = this.started === 0 ? this.options.addons : this.options.createAddons?.();
    if (!engine) {
      this.options.onFailure(new Error('a second term of leadership needs a new add-on engine'));
      return;
    }
    this.started += 1;
    const controller = new AbortController();
    const term: RunningTerm = { engine, controller, signal: AbortSignal.any([shutdown, controller.signal]), lost: false, loop: Promise.resolve() };
    this.current = term;
    term.loop = this.run(term).catch((error: unknown) => { this.options.onFailure(error); });
  }

  /** Ends the term at once: its link is cut (lost) or drained, its engine stopped (helm writes killed when lost). */
  end(lost: boolean): void {
    const term = this.current;
    if (!term) return;
    this.current = undefined;
    term.lost = lost;
    term.controller.abort();
    this.stopping = this.stopEngine(term.engine, lost ? 0 : undefined);
    background(this.stopping, this.options.log, 'could not stop the add-on engine');
  }

  /** At shutdown: waits for the term's link loop (draining its link), then stops its engine with its grace period. */
  async finish(): Promise<void> {
    const term = this.current;
    this.current = undefined;
    if (!term) return;
    term.controller.abort();
    await term.loop;
    await this.stopEngine(term.engine, undefined);
  }

  /** Stops a term's engine; its log line says when no helm write of this agent can run any more. */
  private async stopEngine(engine: AddonEngineLike, graceMs: number | undefined): Promise<void> {
    await engine.stop(graceMs);
    this.options.log.info({ term: this.started }, 'add-on engine stopped');
  }

  private async run(term: RunningTerm): Promise<void> {
    await this.stopping.catch(() => undefined);
    if (this.options.reloadDesired) {
      try {
        await this.options.desiredAddons.load();
      } catch (error) {
        this.options.log.warn({ err: error }, 'could not reload the desired add-ons; the hub pushes them on the next link');
      }
    }
    if (term.signal.aborted) return;
    term.engine.start(this.options.desiredAddons.current);
    this.options.log.info({ term: this.started }, 'add-on engine started');
    await this.options.link(term);
  }
}
