import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { DesiredAddonSet } from '../../link/addons.ts';
import { createLogger } from '../../util/logger.ts';
import { DesiredAddons } from './desired-addons.ts';
import { parseDesiredAddonSet } from './desired-set.ts';
import type { KubeClient } from '../kube.ts';
import { FileDesiredAddonsStore, SecretDesiredAddonsStore } from './desired-store.ts';

const spec = { source: { repo: { url: 'https://charts.example.com', chart: 'web' } }, version: '1.2.3', namespace: 'web', values: 'password: s3cret\n' };
const log = createLogger({ name: 'test', level: 'silent' });

function set(generation: number): DesiredAddonSet {
  return parseDesiredAddonSet({ generation, addons: [{ name: 'web', generation, deleted: false, spec }] });
}

describe('desired add-ons', () => {
  it('desired add-ons - a bad set is refused naming the field', () => {
    const cases: [unknown, RegExp][] = [
      [null, /body must be an object/],
      [{ generation: -1, addons: [] }, /^generation must be a whole number/],
      [{ generation: 1.5, addons: [] }, /^generation must be a whole number/],
      [{ generation: 1, addons: {} }, /^addons must be a list/],
      [{ generation: 1, addons: [{ name: 'Web', generation: 1, deleted: false, spec }] }, /^addons\[0\]\.name must be a DNS-1123 label/],
      [{ generation: 1, addons: [{ name: 'web', generation: 0, deleted: false, spec }] }, /^addons\[0\]\.generation/],
      [{ generation: 1, addons: [{ name: 'web', generation: 1, deleted: 'no', spec }] }, /^addons\[0\]\.deleted/],
      [{ generation: 1, addons: [{ name: 'web', generation: 1, deleted: false, spec: 'x' }] }, /^addons\[0\]\.spec must be an object/],
      [{ generation: 2, addons: [{ name: 'web', generation: 1, deleted: false, spec }, { name: 'web', generation: 1, deleted: true, spec }] }, /^addons\[1\]\.name 'web' appears twice/],
    ];
    for (const [input, message] of cases) {
      assertInvalid(input, message);
    }
  });

  it('desired add-ons - each pushed spec is parsed in full, as the hub parses one written to its API', () => {
    const one = (specOverrides: Record<string, unknown>): unknown =>
      ({ generation: 1, addons: [{ name: 'web', generation: 1, deleted: false, spec: { ...spec, ...specOverrides } }] });
    const cases: [unknown, RegExp][] = [
      [one({ version: 3 }), /^addons\[0\]\.spec: version must be a string, got 3$/],
      [one({ namespace: 'Not A Label' }), /^addons\[0\]\.spec: namespace 'Not A Label' is not a DNS-1123 label/],
      [one({ source: { svn: { url: 'https://svn.example.com' } } }), /^addons\[0\]\.spec: unknown field 'source\.svn'/],
      [one({ source: { repo: { url: 'https://charts.example.com', chart: '--post-renderer=x' } } }), /^addons\[0\]\.spec: source\.repo\.chart/],
      [one({ revisionHistoryLimit: 1e9 }), /^addons\[0\]\.spec: revisionHistoryLimit must be a whole number from 1 to 100/],
      [one({ syncPolicy: { automated: 'yes' } }), /^addons\[0\]\.spec: syncPolicy\.automated must be true or false/],
      [one({ ignoreDifferences: [{ jq: '.spec | del(.replicas)' }] }), /^addons\[0\]\.spec: ignoreDifferences\[0\]\.jq '.*' is not a jq path expression the agent can evaluate/],
      [one({ ignoreDifferences: Array.from({ length: 101 }, () => ({ pointer: '/a' })) }), /^addons\[0\]\.spec: ignoreDifferences has 101 entries, at most 100/],
      [one({ retry: { limit: -2 } }), /^addons\[0\]\.spec: retry\.limit must be a whole number from -1 to 1000/],
      [one({ futureField: true }), /^addons\[0\]\.spec: unknown field 'futureField'/],
      [one({ values: `password: s3cret\n${'x: 1\n'.repeat(60_000)}` }), /^addons\[0\]\.spec: values must be YAML text holding one mapping, of at most 256 KiB$/],
      [one({ values: 'password: s3cret\npassword: twice\n' }), /^addons\[0\]\.spec: values must be YAML text holding one mapping/],
      [one({ values: ['s3cret'] }), /^addons\[0\]\.spec: values must be YAML text holding one mapping/],
    ];
    for (const [input, message] of cases) assertInvalid(input, message);
    // A complete spec comes back with the hub's defaults, unchanged by a second reading.
    const parsed = set(1);
    assert.deepEqual(parseDesiredAddonSet(JSON.parse(JSON.stringify(parsed))), parsed);
    assert.equal(parsed.addons[0]?.spec.revisionHistoryLimit, 10);
  });
});

/** Refused with DESIRED_ADDONS_INVALID, a message matching `message`, and no trace of the values. */
function assertInvalid(input: unknown, message: RegExp): void {
  assert.throws(() => parseDesiredAddonSet(input), (error: Error & { code?: string }) => {
    assert.equal(error.code, 'DESIRED_ADDONS_INVALID');
    assert.match(error.message, message);
    assert.ok(!error.message.includes('s3cret'), error.message);
    return true;
  });
}

describe('desired add-ons store', () => {
  it('desired add-ons - stores newer sets in a 0600 file, ignores older ones, and loads them after a restart', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'uplink-desired-'));
    t.after(() => { rmSync(dir, { recursive: true, force: true }); });
    const file = join(dir, 'agent-addons.json');
    const held = new DesiredAddons({ store: new FileDesiredAddonsStore(file), log });
    await held.load();
    assert.equal(held.current, undefined);
    assert.deepEqual(await held.replace(set(2)), { result: 'stored' });
    assert.deepEqual(await held.replace(set(2)), { result: 'unchanged' });
    assert.deepEqual(await held.replace(set(1)), { result: 'stale', held: 2 });
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal((JSON.parse(readFileSync(file, 'utf8')) as DesiredAddonSet).generation, 2);

    const again = new DesiredAddons({ store: new FileDesiredAddonsStore(file), log });
    await again.load();
    assert.deepEqual(again.current, set(2));
  });

  it('desired add-ons - a stored set this version cannot read is ignored at start, not fatal; an unreadable file still is', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'uplink-desired-'));
    t.after(() => { rmSync(dir, { recursive: true, force: true }); });
    const file = join(dir, 'state.addons.json');
    writeFileSync(file, JSON.stringify({ generation: 1, addons: [{ name: 'web', generation: 1, deleted: false, spec: { ...spec, futureField: 1 } }] }));
    const held = new DesiredAddons({ store: new FileDesiredAddonsStore(file), log });
    await held.load();
    assert.equal(held.current, undefined);
    assert.deepEqual(await held.replace(set(1)), { result: 'stored' }, 'the next push is taken');
    writeFileSync(file, '{not json');
    await assert.rejects(new DesiredAddons({ store: new FileDesiredAddonsStore(file), log }).load(), /unreadable/);
  });
});

describe('desired add-ons secret', () => {
  it('desired add-ons secret - creates the Secret on first save (gzipped JSON), replaces it after, and loads it back', async () => {
    const secrets = new Map<string, { data: Record<string, string> }>();
    const calls: string[] = [];
    const kube = {
      request(method: string, path: string, body?: { metadata: { name: string }; data: Record<string, string> }) {
        calls.push(`${method} ${path}`);
        const key = path.split('/').at(-1) ?? '';
        if (method === 'GET') return Promise.resolve(secrets.has(key) ? { status: 200, body: secrets.get(key) } : { status: 404, body: {} });
        if (method === 'PUT' && !secrets.has(key)) return Promise.resolve({ status: 404, body: {} });
        if (body) secrets.set(body.metadata.name, { data: body.data });
        return Promise.resolve({ status: method === 'POST' ? 201 : 200, body: {} });
      },
    } as unknown as KubeClient;
    const store = new SecretDesiredAddonsStore(kube, 'uplink');
    assert.equal(await store.load(), undefined);
    await store.save(set(1));
    await store.save(set(2));
    assert.deepEqual(calls.slice(1), [
      'PUT /api/v1/namespaces/uplink/secrets/uplink-agent-addons',
      'POST /api/v1/namespaces/uplink/secrets',
      'PUT /api/v1/namespaces/uplink/secrets/uplink-agent-addons',
    ]);
    const stored = secrets.get('uplink-agent-addons')?.data['desired.json.gz'] ?? '';
    assert.ok(!Buffer.from(stored, 'base64').toString('latin1').includes('s3cret'), 'values are stored compressed');
    assert.deepEqual(await store.load(), set(2));
  });
});
