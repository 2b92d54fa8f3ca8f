// Terms of leadership with recording engines and link loops: a lost term
// kills its engine's writes and cuts its link, the next term gets a new
// engine only once the last one has stopped, and newer desired sets reach
// the engine of the term that runs.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger } from '../util/logger.ts';
import { DesiredAddons, type DesiredAddonsStore } from './addons/index.ts';
import type { DesiredAddonSet } from '../link/addons.ts';
import { LeaderTerms, type AddonEngineLike, type LeaderTerm } from './leader-terms.ts';

const log = createLogger({ name: 'leader-terms-test', level: 'silent' });

class RecordingEngine implements AddonEngineLike {
  readonly calls: string[] = [];
  release: () => void = () => undefined;
  start(set: DesiredAddonSet | undefined): void { this.calls.push(`start ${set?.generation ?? 'none'}`); }
  update(set: DesiredAddonSet): void { this.calls.push(`update ${set.generation}`); }
  stop(graceMs?: number): Promise<void> {
    this.calls.push(`stop ${graceMs ?? 'grace'}`);
    return new Promise((resolve) => { this.release = resolve; });
  }
  statuses(): [] { return []; }
  subscribe(): () => void { return () => undefined; }
  lastSweep(): undefined { return undefined; }
  onSweep(): () => void { return () => undefined; }
  request(): { operationId: string } { return { operationId: 'x' }; }
}

/** A store holding one set in memory, so load() gives back what the test put there. */
function memoryStore(): DesiredAddonsStore & { held: DesiredAddonSet | undefined } {
  const store = {
    held: undefined as DesiredAddonSet | undefined,
    describe: () => 'memory',
    load: () => Promise.resolve(store.held),
    save: (set: DesiredAddonSet) => { store.held = set; return Promise.resolve(); },
  };
  return store;
}

const settle = (): Promise<void> => new Promise((resolve) => { setImmediate(resolve); });

describe('leader terms', () => {
  it('leader terms - a lost term cuts its link and stops its engine at once; the next term waits for that stop, with a new engine and the stored set', async () => {
    const store = memoryStore();
    const desired = new DesiredAddons({ store, log });
    const engines = [new RecordingEngine(), new RecordingEngine()];
    const [first, second] = engines as [RecordingEngine, RecordingEngine];
    let made = 0;
    const links: LeaderTerm[] = [];
    const terms = new LeaderTerms({
      addons: first, createAddons: () => { made += 1; return second; }, desiredAddons: desired, reloadDesired: true, log,
      link: (term) => { links.push(term); return new Promise((resolve) => { term.signal.addEventListener('abort', () => { resolve(); }); }); },
      onFailure: (error) => { throw error; },
    });
    const shutdown = new AbortController();
    terms.begin(shutdown.signal);
    terms.begin(shutdown.signal);
    await settle();
    assert.deepEqual(first.calls, ['start none'], 'one term at a time');
    assert.equal(links.length, 1);
    terms.end(true);
    const [lostLink] = links;
    assert.ok(lostLink);
    assert.equal(lostLink.signal.aborted, true);
    assert.equal(lostLink.lost, true);
    assert.deepEqual(first.calls, ['start none', 'stop 0']);
    store.held = { generation: 7, addons: [] };
    terms.begin(shutdown.signal);
    await settle();
    assert.deepEqual(second.calls, [], 'the new engine waits for the old one to stop');
    first.release();
    await settle();
    assert.equal(made, 1);
    assert.deepEqual(second.calls, ['start 7'], 'started with the set another leader stored');
    assert.equal(links.length, 2);
  });

  it('leader terms - finish() at shutdown waits for the link loop, then stops the engine with its grace period', async () => {
    const engine = new RecordingEngine();
    const shutdown = new AbortController();
    let linkEnded = false;
    const terms = new LeaderTerms({
      addons: engine, desiredAddons: new DesiredAddons({ store: memoryStore(), log }), reloadDesired: false, log,
      link: async (term) => {
        await new Promise<void>((resolve) => { term.signal.addEventListener('abort', () => { resolve(); }); });
        linkEnded = true;
      },
      onFailure: (error) => { throw error; },
    });
    terms.begin(shutdown.signal);
    await settle();
    shutdown.abort();
    const finishing = terms.finish();
    await settle();
    assert.equal(linkEnded, true);
    assert.deepEqual(engine.calls, ['start none', 'stop grace']);
    engine.release();
    await finishing;
  });

  it('leader terms - without a way to make another engine, a second term is a failure, not a second start', async () => {
    const engine = new RecordingEngine();
    const failures: unknown[] = [];
    const terms = new LeaderTerms({
      addons: engine, desiredAddons: new DesiredAddons({ store: memoryStore(), log }), reloadDesired: false, log,
      link: () => Promise.resolve(), onFailure: (error) => { failures.push(error); },
    });
    const shutdown = new AbortController();
    terms.begin(shutdown.signal);
    terms.end(false);
    engine.release();
    terms.begin(shutdown.signal);
    await settle();
    assert.equal(failures.length, 1);
    assert.deepEqual(engine.calls, ['stop grace'], 'the first term ended before its engine started');
  });
});
