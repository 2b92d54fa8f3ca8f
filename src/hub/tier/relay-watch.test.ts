import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_WATCH_EVENT_BYTES, resumedPath, watchErrorLine, watchPlanOf, WatchLines } from './relay-watch.ts';

const event = (type: string, version: string): string => `${JSON.stringify({ type, object: { kind: 'Pod', metadata: { name: 'p', resourceVersion: version } } })}\n`;

describe('relay watch', () => {
  it('relay watch - hands on whole lines only, across any split, and remembers the last resourceVersion', () => {
    const lines = new WatchLines('4');
    assert.equal(lines.lastResourceVersion, '4');
    const stream = Buffer.from(event('ADDED', '5') + event('MODIFIED', '6') + event('BOOKMARK', '9'));
    const out: Buffer[] = [];
    // Byte by byte: the worst split there is.
    for (let i = 0; i < stream.length; i += 1) {
      const ready = lines.push(stream.subarray(i, i + 1));
      if (ready !== undefined) {
        assert.equal(ready.at(-1), 0x0a, 'ends on a newline');
        out.push(ready);
      }
    }
    assert.deepEqual(Buffer.concat(out), stream);
    assert.equal(out.length, 3);
    assert.equal(lines.lastResourceVersion, '9', 'bookmarks move the position too');
    assert.equal(lines.resumable, true);
  });

  it('relay watch - several events in one chunk, and a partial one held until its end arrives or the stream ends', () => {
    const lines = new WatchLines(undefined);
    const whole = event('ADDED', '5') + event('ADDED', '6');
    const half = event('ADDED', '7').slice(0, 20);
    assert.equal(lines.push(Buffer.from(whole + half))?.toString(), whole);
    assert.equal(lines.lastResourceVersion, '6');
    assert.equal(lines.rest()?.toString(), half, 'at a clean end the rest goes out as it is');
    assert.equal(lines.rest(), undefined);
    lines.push(Buffer.from(half));
    lines.discardPartial();
    assert.equal(lines.push(Buffer.from(event('DELETED', '8')))?.toString(), event('DELETED', '8'), 'a broken event is dropped, not glued to the next');
  });

  it('relay watch - an ERROR event, a line that is not JSON, or an event over the bound ends what can be resumed; bytes still pass', () => {
    const failed = new WatchLines('1');
    const gone = `${JSON.stringify({ type: 'ERROR', object: { kind: 'Status', code: 410, metadata: { resourceVersion: '99' } } })}\n`;
    assert.equal(failed.push(Buffer.from(gone))?.toString(), gone);
    assert.deepEqual([failed.resumable, failed.lastResourceVersion], [false, '1']);

    const garbled = new WatchLines('1');
    assert.equal(garbled.push(Buffer.from('not json\n{"type":'))?.toString(), 'not json\n{"type":', 'once the track is lost, held bytes go out too');
    assert.equal(garbled.resumable, false);
    assert.equal(garbled.push(Buffer.from('"x"'))?.toString(), '"x"');

    const huge = new WatchLines('1');
    const big = Buffer.alloc(MAX_WATCH_EVENT_BYTES / 2, 'a');
    assert.equal(huge.push(big), undefined);
    assert.equal(huge.resumable, true);
    const out = huge.push(big.subarray(0, big.length / 2 + 1));
    assert.equal(out, undefined, 'still within the bound');
    const over = huge.push(big);
    assert.equal(over?.length, big.length * 2 + big.length / 2 + 1, 'everything held is handed on');
    assert.equal(huge.resumable, false);
  });

  it('relay watch - odd events are read without throwing and keep the known position', () => {
    const lines = new WatchLines('3');
    const odd = ['null', '[]', '{"type":"ADDED"}', '{"type":"ADDED","object":null}', '{"type":"ADDED","object":{"metadata":{"resourceVersion":7}}}',
      `{"type":"ADDED","object":{"metadata":{"resourceVersion":"${'9'.repeat(129)}"}}}`, '{"type":"ADDED","object":{"metadata":{"resourceVersion":""}}}', '', '\r'];
    for (const line of odd) lines.push(Buffer.from(`${line}\n`));
    assert.equal(lines.lastResourceVersion, '3');
  });

  it('relay watch - a kubectl watch is resumable when it does not ask for initial events; its starting version is kept', () => {
    assert.deepEqual(watchPlanOf('GET', '/api/v1/namespaces/d/pods?watch=true&resourceVersion=12'), { resourceVersion: '12' });
    assert.deepEqual(watchPlanOf('GET', '/apis/apps/v1/deployments?watch=1'), { resourceVersion: undefined });
    assert.deepEqual(watchPlanOf('GET', '/api/v1/pods?watch=1&resourceVersion=0'), { resourceVersion: undefined });
    assert.deepEqual(watchPlanOf('GET', '/api/v1/watch/namespaces/d/pods'), { resourceVersion: undefined });
    assert.equal(watchPlanOf('GET', '/api/v1/pods?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan'), undefined);
    assert.equal(watchPlanOf('GET', '/api/v1/pods'), undefined);
    assert.equal(watchPlanOf('GET', '/api/v1/namespaces/d/pods/p/log?follow=true'), undefined);
    assert.equal(watchPlanOf('POST', '/api/v1/pods?watch=1'), undefined);
    assert.equal(watchPlanOf('GET', '/api/v1/%zz?watch=1'), undefined);
  });

  it('relay watch - the resumed path sets only resourceVersion, in either form', () => {
    assert.equal(resumedPath('/k8s/clusters/prod/api/v1/pods?watch=1&resourceVersion=4&allowWatchBookmarks=true', '9'),
      '/k8s/clusters/prod/api/v1/pods?watch=1&resourceVersion=9&allowWatchBookmarks=true');
    assert.equal(resumedPath('/api/v1/watch/pods', '9'), '/api/v1/watch/pods?resourceVersion=9');
    assert.equal(resumedPath('/api/v1/pods?watch=1&labelSelector=app%3Dweb%2Ctier+in+%28a%29', '9'),
      '/api/v1/pods?watch=1&labelSelector=app%3Dweb%2Ctier+in+%28a%29&resourceVersion=9');
    assert.equal(resumedPath('/api/v1/pods?watch=1', undefined), '/api/v1/pods?watch=1');
  });

  it('relay watch - an ERROR line carries a Status', () => {
    assert.deepEqual(JSON.parse(watchErrorLine(503, 'ServiceUnavailable', 'gone')), {
      type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'gone', reason: 'ServiceUnavailable', code: 503 },
    });
  });
});
