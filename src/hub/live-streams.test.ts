import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { LiveStreams, STREAM_REAUTH_INTERVAL_MS, requiresGrants, requiresRole, type LiveStream, type RevocationReason } from './live-streams.ts';
import type { ApiTokenRecord, GrantRecord, UserRecord } from './store/index.ts';

/** A store of users, tokens and grants the test edits behind the registry's back. */
function fakeStore(): {
  users: Set<string>; tokens: Map<string, string>; grants: Map<string, GrantRecord[]>; failing: boolean;
  store: ConstructorParameters<typeof LiveStreams>[0]['store'];
} {
  const state = {
    users: new Set(['u1', 'u2']),
    tokens: new Map([['t1', 'u1'], ['t1b', 'u1'], ['t2', 'u2']]),
    grants: new Map<string, GrantRecord[]>([
      ['u1', [{ userId: 'u1', role: 'admin', clusterId: 'c1' }]],
      ['u2', [{ userId: 'u2', role: 'view', clusterId: null }]],
    ]),
    failing: false,
  };
  const check = (): void => {
    if (state.failing) throw new Error('database is locked');
  };
  return {
    ...state,
    get failing() { return state.failing; },
    set failing(value: boolean) { state.failing = value; },
    store: {
      getUser: (id: string) => {
        check();
        const user: UserRecord = { id, name: id, createdAt: '' };
        return Promise.resolve(state.users.has(id) ? user : undefined);
      },
      getApiToken: (id: string) => {
        check();
        const userId = state.tokens.get(id);
        return Promise.resolve(userId === undefined ? undefined : ({ id, userId } as ApiTokenRecord));
      },
      listGrants: (userId: string) => {
        check();
        return Promise.resolve(state.grants.get(userId) ?? []);
      },
    },
  };
}

function stream(tokenId: string, userId: string, stillAllowed: LiveStream['stillAllowed'], ended: RevocationReason[]): LiveStream {
  return { kind: 'kubectl', principal: { tokenId, userId }, stillAllowed, end: (reason) => { ended.push(reason); } };
}

describe('live streams', () => {
  it('live streams - revoking a token or deleting a user ends exactly that principal\'s streams, once', () => {
    const fake = fakeStore();
    const revoked: string[] = [];
    const streams = new LiveStreams({ store: fake.store, onRevoked: (kind, reason) => { revoked.push(`${kind}:${reason}`); } });
    const a: RevocationReason[] = [];
    const b: RevocationReason[] = [];
    const c: RevocationReason[] = [];
    streams.register(stream('t1', 'u1', () => true, a));
    streams.register(stream('t1b', 'u1', () => true, b));
    streams.register(stream('t2', 'u2', () => true, c));
    assert.equal(streams.revokeToken('t1'), 1);
    assert.equal(streams.revokeToken('t1'), 0);
    assert.deepEqual([a, b, c], [['token-revoked'], [], []]);
    assert.equal(streams.revokeUser('u1'), 1);
    assert.deepEqual([a, b, c], [['token-revoked'], ['user-deleted'], []]);
    assert.deepEqual(revoked, ['kubectl:token-revoked', 'kubectl:user-deleted']);
    streams.close();
  });

  it('live streams - a role below the one a stream opened with ends it; a stronger one or a fleet-wide grant keeps it', () => {
    const onC1 = requiresRole('c1', 'admin');
    assert.equal(onC1([{ userId: 'u', role: 'admin', clusterId: 'c1' }]), true);
    assert.equal(onC1([{ userId: 'u', role: 'admin', clusterId: null }]), true);
    assert.equal(onC1([{ userId: 'u', role: 'view', clusterId: 'c1' }]), false);
    assert.equal(onC1([{ userId: 'u', role: 'admin', clusterId: 'c2' }]), false);
    assert.equal(requiresRole('c1', 'view')([{ userId: 'u', role: 'edit', clusterId: 'c1' }]), true);
    const fleet = requiresGrants([{ userId: 'u', role: 'view', clusterId: null }, { userId: 'u', role: 'edit', clusterId: 'c1' }]);
    assert.equal(fleet([{ userId: 'u', role: 'admin', clusterId: null }]), true);
    assert.equal(fleet([{ userId: 'u', role: 'view', clusterId: null }]), false, 'edit on c1 was lost');
    assert.equal(fleet([{ userId: 'u', role: 'view', clusterId: 'c1' }, { userId: 'u', role: 'edit', clusterId: 'c1' }]), false, 'the fleet-wide grant was lost');
  });

  it('live streams - the periodic re-check ends streams whose token, user or grant went another way, and keeps them on a store error', async () => {
    mock.timers.enable({ apis: ['setInterval'] });
    try {
      const fake = fakeStore();
      const failures: unknown[] = [];
      const streams = new LiveStreams({ store: fake.store, onCheckFailed: (error) => { failures.push(error); } });
      const byToken: RevocationReason[] = [];
      const byUser: RevocationReason[] = [];
      const byGrant: RevocationReason[] = [];
      streams.register(stream('t1', 'u1', requiresRole('c1', 'admin'), byGrant));
      streams.register(stream('t1b', 'u1', requiresRole('c1', 'view'), byToken));
      streams.register(stream('t2', 'u2', requiresRole('c1', 'view'), byUser));
      fake.failing = true;
      mock.timers.tick(STREAM_REAUTH_INTERVAL_MS);
      await streams.recheck();
      assert.equal(streams.size, 3);
      assert.ok(failures.length > 0);
      fake.failing = false;
      fake.tokens.delete('t1b');
      fake.users.delete('u2');
      fake.grants.set('u1', [{ userId: 'u1', role: 'view', clusterId: 'c1' }]);
      mock.timers.tick(STREAM_REAUTH_INTERVAL_MS);
      await streams.recheck();
      assert.deepEqual([byToken, byUser, byGrant], [['token-revoked'], ['user-deleted'], ['access-changed']]);
      assert.equal(streams.size, 0);
      streams.close();
    } finally {
      mock.timers.reset();
    }
  });

  it('live streams - news of a user\'s access checks that user\'s streams at once, alone, even while a periodic round runs', async () => {
    const fake = fakeStore();
    const failures: unknown[] = [];
    const streams = new LiveStreams({ store: fake.store, onCheckFailed: (error) => { failures.push(error); } });
    const ofU1: RevocationReason[] = [];
    const ofU2: RevocationReason[] = [];
    streams.register(stream('t1', 'u1', requiresRole('c1', 'admin'), ofU1));
    streams.register(stream('t2', 'u2', requiresRole('c1', 'view'), ofU2));
    // A periodic round starts and has read u1 before the change...
    const round = streams.recheck();
    fake.tokens.delete('t1');
    fake.users.delete('u2');
    // ...the news for u1 does not wait for it, nor reuse it, and leaves u2 to the rounds.
    await streams.recheckUsers(['u1']);
    assert.deepEqual(ofU1, ['token-revoked']);
    await round;
    streams.register(stream('t1b', 'u1', requiresRole('c1', 'view'), ofU1));
    fake.failing = true;
    await streams.recheckUsers(['u1']);
    assert.equal(failures.length, 1, 'a store error is reported, not thrown');
    streams.close();
  });
});
