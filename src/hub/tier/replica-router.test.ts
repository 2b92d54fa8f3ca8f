import assert from 'node:assert/strict';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { describe, it } from 'node:test';
import { createLogger } from '../../util/logger.ts';
import { LOCATION_FRESH_MS, LocationCache } from './location-cache.ts';
import type { PeerTarget } from './peer-connections.ts';
import type { PeerRelay } from './peer-relay.ts';
import { ReplicaRouter } from './replica-router.ts';
import { soloTier, type LinkLocation, type ReplicaTier } from './replica-tier.ts';

const B: PeerTarget = { replicaId: 'b', peerUrl: 'https://b:8444' };
const C: PeerTarget = { replicaId: 'c', peerUrl: 'https://c:8444' };

/** Replica "a" of a tier whose database says `where.holder` holds cluster c1 ("prod"), and whose news says `where.news`. */
function rig(where: { holder: PeerTarget | undefined; news: string | undefined; heldHere?: boolean }) {
  let now = 0;
  const asked: string[] = [];
  const tier: ReplicaTier = {
    ...soloTier('a'),
    shared: true,
    locateLink: (ref: string): Promise<LinkLocation | undefined> => {
      asked.push(ref);
      return Promise.resolve(ref === 'prod' ? { clusterId: 'c1', holder: where.holder, stale: false } : undefined);
    },
    holderElsewhere: (id: string) => (id === 'c1' ? where.news : undefined),
  };
  const relayRequest = (_req: IncomingMessage, _res: ServerResponse, target: PeerTarget): void => { done?.(`relay ${target.replicaId}`); };
  let done: ((how: string) => void) | undefined;
  const router = new ReplicaRouter({
    tier, relay: { relayRequest } as unknown as PeerRelay, self: { replicaId: 'a', peerUrl: 'https://a:8444' }, kubeDomain: undefined,
    holdsLink: (id) => id === 'c1' && where.heldHere === true, log: createLogger({ name: 'test', level: 'silent' }),
    locations: new LocationCache({ now: () => now }),
  });
  const send = (): Promise<string> => new Promise((resolve) => {
    done = resolve;
    const req = new IncomingMessage(new Socket());
    Object.assign(req, { method: 'GET', url: '/k8s/clusters/prod/api/v1/namespaces/d/configmaps/x', headers: { host: 'hub' } });
    router.request(req, new ServerResponse(req), () => { resolve('local'); });
  });
  return { send, asked, tick: (ms: number) => { now += ms; } };
}

describe('replica router', () => {
  it('replica router - a link held here is served here; the database is asked once per freshness window', async () => {
    const r = rig({ holder: { replicaId: 'a', peerUrl: 'https://a:8444' }, news: undefined, heldHere: true });
    assert.equal(await r.send(), 'local');
    assert.equal(await r.send(), 'local');
    assert.equal(r.asked.length, 1);
    r.tick(LOCATION_FRESH_MS);
    assert.equal(await r.send(), 'local');
    assert.equal(r.asked.length, 2);
  });

  it('replica router - a link held elsewhere is relayed there without the database while the news agrees', async () => {
    const r = rig({ holder: B, news: 'b' });
    assert.equal(await r.send(), 'relay b');
    assert.equal(await r.send(), 'relay b');
    assert.equal(r.asked.length, 1);
  });

  it('replica router - news of another holder sends the next request to the database, then to the new holder', async () => {
    const where = { holder: B as PeerTarget | undefined, news: 'b' as string | undefined };
    const r = rig(where);
    assert.equal(await r.send(), 'relay b');
    where.holder = C;
    where.news = 'c';
    assert.equal(await r.send(), 'relay c');
    assert.equal(r.asked.length, 2);
  });

  it('replica router - a holder the news does not know (yet) is read from the database each time', async () => {
    const r = rig({ holder: B, news: undefined });
    assert.equal(await r.send(), 'relay b');
    assert.equal(await r.send(), 'relay b');
    assert.equal(r.asked.length, 2);
  });
});
