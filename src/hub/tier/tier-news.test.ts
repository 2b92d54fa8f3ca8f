import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeNews, encodeNews, MAX_PAYLOAD_BYTES, NewsBatcher } from './tier-news.ts';

test('tier news - many ids are cut into payloads below the limit and read back whole', () => {
  const ids = Array.from({ length: 3_000 }, (_, i) => `c${String(i).padStart(12, '0')}`);
  const payloads = encodeNews('replica-a', 'claimed', ids);
  assert.ok(payloads.length > 1);
  for (const payload of payloads) assert.ok(Buffer.byteLength(payload) < MAX_PAYLOAD_BYTES);
  const back = payloads.flatMap((payload) => decodeNews(payload)?.clusterIds ?? []);
  assert.deepEqual(back, ids);
  assert.equal(decodeNews(payloads[0])?.from, 'replica-a');
  assert.equal(decodeNews(payloads[0])?.topic, 'claimed');
});

test('tier news - anything that is not ours is dropped, never thrown', () => {
  for (const payload of [undefined, '', 'x', 'null', '[]', '{}', '{"from":"a","topic":"other","clusterIds":[]}',
    '{"from":"","topic":"addons","clusterIds":[]}', '{"from":"a","topic":"addons","clusterIds":[1]}',
    `{"from":"a","topic":"addons","clusterIds":["${'x'.repeat(65)}"]}`, 'x'.repeat(MAX_PAYLOAD_BYTES + 1)]) {
    assert.equal(decodeNews(payload), undefined, String(payload).slice(0, 40));
  }
  assert.deepEqual(decodeNews('{"from":"a","topic":"addons","clusterIds":["c1"]}'), { from: 'a', topic: 'addons', clusterIds: ['c1'] });
  // A user's access changed: the ids are user ids.
  assert.deepEqual(decodeNews(encodeNews('a', 'access', ['ualice0000000'])[0]), { from: 'a', topic: 'access', clusterIds: ['ualice0000000'] });
});

test('tier news - the batcher sends each topic\'s ids once per round, and at once when too many wait', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const sent: [string, string[]][] = [];
  const batcher = new NewsBatcher({ everyMs: 100, maxPending: 3, flush: (topic, ids) => { sent.push([topic, ids]); } });
  batcher.add('claimed', 'c1');
  batcher.add('claimed', 'c1');
  batcher.add('addons', 'c2');
  assert.deepEqual(sent, []);
  t.mock.timers.tick(100);
  assert.deepEqual(sent, [['claimed', ['c1']], ['addons', ['c2']]]);
  sent.length = 0;
  for (const id of ['a', 'b', 'c']) batcher.add('released', id);
  assert.deepEqual(sent, [['released', ['a', 'b', 'c']]]);
});
