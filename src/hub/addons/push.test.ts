import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DesiredAddonSet } from '../../link/addons.ts';
import type { HubSession } from '../../link/hub-session.ts';
import { createLogger } from '../../util/logger.ts';
import type { AddonRecord } from '../store/index.ts';
import { AddonPusher, desiredSetOf, type AddonPushOutcome } from './push.ts';
import { minimalSpec } from '../../domain/addon-spec/spec.test-helper.ts';
import { parseAddonSpec } from '../../domain/addon-spec/spec.ts';

function row(name: string, generation: number, deleted = false): AddonRecord {
  const at = '2026-01-01T00:00:00.000Z';
  return { clusterId: 'c1', name, spec: parseAddonSpec(minimalSpec()), generation, createdAt: at, updatedAt: at, deletedAt: deleted ? at : null };
}

/** A link whose agent answers each push with the next status given (204 once they run out), after `delayMs`. */
function fakeSession(statuses: (number | Error)[], delayMs = 5): { session: HubSession; pushed: DesiredAddonSet[] } {
  const pushed: DesiredAddonSet[] = [];
  const session = {
    isOpen: true,
    async requestJson(_method: string, _path: string, body: DesiredAddonSet) {
      pushed.push(body);
      await sleep(delayMs);
      const status = statuses.shift() ?? 204;
      if (status instanceof Error) throw status;
      return { status, body: undefined };
    },
  } as unknown as HubSession;
  return { session, pushed };
}

function pusher(rows: AddonRecord[], session: HubSession | undefined, outcomes: AddonPushOutcome[]): AddonPusher {
  return new AddonPusher({
    listAddons: () => Promise.resolve([...rows]),
    sessionOf: () => session,
    log: createLogger({ name: 'test', level: 'silent' }),
    onOutcome: (outcome) => { outcomes.push(outcome); },
    retryMinMs: 5, retryMaxMs: 10,
  });
}

async function settled(p: AddonPusher): Promise<void> {
  while (p.pending > 0) await sleep(2);
}

describe('add-on push', () => {
  it('add-on push - the set holds every row by name, deleted markers included, with the sum of generations', () => {
    const set = desiredSetOf([row('web', 3), row('db', 2, true)]);
    assert.equal(set.generation, 5);
    assert.deepEqual(set.addons.map((a) => [a.name, a.generation, a.deleted]), [['db', 2, true], ['web', 3, false]]);
  });

  it('add-on push - a burst of changes is one push in flight and one follow-up with the latest set', async () => {
    const rows = [row('web', 1)];
    const { session, pushed } = fakeSession([], 20);
    const outcomes: AddonPushOutcome[] = [];
    const p = pusher(rows, session, outcomes);
    p.notify('c1');
    for (let g = 2; g <= 5; g += 1) {
      rows[0] = row('web', g);
      p.notify('c1');
    }
    await settled(p);
    assert.deepEqual(pushed.map((s) => s.generation), [1, 5]);
    assert.deepEqual(outcomes, ['ok', 'ok']);
  });

  it('add-on push - failures are retried with backoff while linked; a 4xx is not retried', async () => {
    const { session, pushed } = fakeSession([new Error('link reset'), 503, 204]);
    const outcomes: AddonPushOutcome[] = [];
    const p = pusher([row('web', 1)], session, outcomes);
    p.notify('c1');
    await settled(p);
    assert.deepEqual(outcomes, ['failed', 'failed', 'ok']);
    assert.equal(pushed.length, 3);

    const refusing = fakeSession([409]);
    const refusedOutcomes: AddonPushOutcome[] = [];
    const q = pusher([row('web', 1)], refusing.session, refusedOutcomes);
    q.notify('c1');
    await settled(q);
    assert.deepEqual(refusedOutcomes, ['refused']);
  });

  it('add-on push - nothing is pushed without a link, and retries stop when the link goes', async () => {
    const outcomes: AddonPushOutcome[] = [];
    const p = pusher([row('web', 1)], undefined, outcomes);
    p.notify('c1');
    await settled(p);
    assert.deepEqual(outcomes, []);

    const { session } = fakeSession([503, 503, 503, 503]);
    const q = pusher([row('web', 1)], session, outcomes);
    q.notify('c1');
    await sleep(8);
    (session as unknown as { isOpen: boolean }).isOpen = false;
    await settled(q);
    assert.ok(outcomes.length < 4, `pushed ${outcomes.length} times after the link went`);
  });
});
