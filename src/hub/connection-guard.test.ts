import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AddressCounter, addressKey, checkConnectionLimits, openFileLimit, serverCreationOptions, type ConnectionLimits } from './connection-guard.ts';

const LIMITS: ConnectionLimits = {
  maxConnections: 100, maxConnectionsPerAddress: 10, tlsHandshakeTimeout: 10, headersTimeout: 20, requestTimeout: 120, keepaliveTimeout: 5,
};

describe('connection guard', () => {
  it('counts an IPv6 client by its /64 and an IPv4-mapped one as IPv4', () => {
    assert.equal(addressKey('203.0.113.7'), '203.0.113.7');
    assert.equal(addressKey('::ffff:203.0.113.7'), '203.0.113.7');
    assert.equal(addressKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
    assert.equal(addressKey('2001:0db8:0001:0002:ffff:1:2:3'), '2001:db8:1:2::/64');
    assert.equal(addressKey('2001:db8::1'), '2001:db8:0:0::/64');
    assert.equal(addressKey('::1'), '0:0:0:0::/64');
  });

  it('refuses an address beyond its share and forgets it once its connections close', () => {
    const counter = new AddressCounter(2);
    assert.equal(counter.tryAdd('a'), true);
    assert.equal(counter.tryAdd('a'), true);
    assert.equal(counter.tryAdd('a'), false);
    assert.equal(counter.tryAdd('b'), true, 'another address keeps its own share');
    counter.remove('a');
    assert.equal(counter.tryAdd('a'), true);
    counter.remove('a');
    counter.remove('a');
    counter.remove('b');
    assert.equal(counter.addresses, 0);
  });

  it('a share of 0 means no cap per address', () => {
    const counter = new AddressCounter(0);
    for (let i = 0; i < 1000; i += 1) assert.equal(counter.tryAdd('a'), true);
  });

  it('refuses a request deadline shorter than the header deadline, and a per-address cap above the total', () => {
    assert.doesNotThrow(() => { checkConnectionLimits(LIMITS); });
    assert.throws(() => { checkConnectionLimits({ ...LIMITS, requestTimeout: 5 }); }, { code: 'CONFIG_INVALID', message: /--request-timeout/ });
    assert.throws(() => { checkConnectionLimits({ ...LIMITS, maxConnectionsPerAddress: 101 }); }, { code: 'CONFIG_INVALID' });
  });

  it('sweeps for late headers often enough for short deadlines, and at most every 5 s', () => {
    assert.deepEqual(serverCreationOptions({ ...LIMITS, headersTimeout: 2 }), { handshakeTimeout: 10_000, connectionsCheckingInterval: 500, maxHeaderSize: (1 << 20) + 4096 });
    assert.equal(serverCreationOptions({ ...LIMITS, headersTimeout: 300 }).connectionsCheckingInterval, 5000);
  });

  it('reads the soft open-file limit from /proc/self/limits', () => {
    const text = 'Limit                     Soft Limit           Hard Limit           Units\nMax open files            20000                20000                files\n';
    assert.equal(openFileLimit(text), 20_000);
    assert.equal(openFileLimit('Max open files            unlimited            unlimited            files\n'), undefined);
  });
});
