import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ClusterFacts } from '../../link/protocol.ts';
import { IpCountries } from './ip-country.ts';
import { ClusterLocator } from './locate.ts';
import { placeOfRegion } from './regions.ts';

const facts = (extra: Partial<ClusterFacts>): ClusterFacts => ({
  kubernetesVersion: 'v1.36.4', platform: 'linux/amd64', distribution: 'eks', cloud: 'aws', region: null, zones: [],
  nodes: { total: 1, ready: 1 }, pods: { total: 0, running: 0, pending: 0, succeeded: 0, failed: 0, unknown: 0 },
  apiServer: { livez: true, readyz: true },
  agent: { version: '0.1.0', nodeVersion: 'v24.21.0', uptimeSeconds: 1, memoryRssBytes: 1 },
  collectedAt: '2026-11-21T00:00:00Z', ...extra,
});

describe('geo', () => {
  it('regions - names of three clouds resolve to their cities, any case', () => {
    assert.equal(placeOfRegion('eu-west-1')?.name, 'Dublin');
    assert.equal(placeOfRegion('europe-west1')?.name, 'St. Ghislain');
    assert.equal(placeOfRegion('WestEurope')?.name, 'Amsterdam');
    assert.equal(placeOfRegion('mars-north-1'), undefined);
  });

  it('ip countries - the shipped ranges place public v4 and v6 addresses, not private ones', async () => {
    const ips = new IpCountries();
    assert.equal(ips.lookup('1.1.1.1'), undefined, 'nothing before the ranges are loaded');
    await ips.ready();
    assert.equal(ips.lookup('1.0.0.1'), 'AU');
    assert.equal(ips.lookup('2001:2::1'), 'JP');
    assert.equal(ips.lookup('10.0.0.1'), undefined);
    assert.equal(ips.lookup('::1'), undefined);
    assert.equal(ips.lookup('not an address'), undefined);
  });

  it('locator - a known region wins over the egress IP; the IP gives a country centre', async () => {
    const locator = new ClusterLocator();
    await locator.ready();
    assert.deepEqual(locator.locate(facts({ region: 'eu-central-1', egressIp: '1.0.0.1' })), { lat: 50.1, lon: 8.7, name: 'eu-central-1 (Frankfurt)', source: 'region' });
    const byIp = locator.locate(facts({ region: 'somewhere-9', egressIp: '1.0.0.1' }));
    assert.equal(byIp?.source, 'egress-ip');
    assert.equal(byIp.name, 'Australia');
    assert.equal(locator.locate(facts({})), null);
    assert.equal(locator.locate(null), null);
  });

  it('locator - facts of any shape (stored by an older hub) place nothing and never throw', async () => {
    const locator = new ClusterLocator();
    await locator.ready();
    const shapes: unknown[] = [{}, [], 'eu-west-1', 42, { region: 7 }, { region: { trim: 1 } }, { region: null, egressIp: ['1.0.0.1'] }, { egressIp: 'x' }];
    for (const shape of shapes) assert.equal(locator.locate(shape as ClusterFacts), null, JSON.stringify(shape));
    assert.equal(locator.locate({ region: 'eu-west-1' } as unknown as ClusterFacts)?.source, 'region', 'a partial shape still places what it can');
  });
});
