import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LogLines, logPlanOf, MAX_LOG_LINE_BYTES, timestampedPath } from './relay-logs.ts';

const line = (stamp: string, text: string): string => `${stamp} ${text}\n`;

describe('relay logs', () => {
  test('relay logs - only a followed pod log without a byte budget can be resumed', () => {
    assert.deepEqual(logPlanOf('GET', '/api/v1/namespaces/n/pods/p/log?follow=true'), { timestamps: false });
    assert.deepEqual(logPlanOf('GET', '/api/v1/namespaces/n/pods/p/log?follow=1&timestamps=true'), { timestamps: true });
    assert.equal(logPlanOf('GET', '/api/v1/namespaces/n/pods/p/log'), undefined);
    assert.equal(logPlanOf('GET', '/api/v1/namespaces/n/pods/p/log?follow=true&limitBytes=10'), undefined);
    assert.equal(logPlanOf('POST', '/api/v1/namespaces/n/pods/p/log?follow=true'), undefined);
    assert.equal(logPlanOf('GET', '/api/v1/namespaces/n/configmaps/p?follow=true'), undefined);
    assert.equal(logPlanOf('GET', '%%%'), undefined);
  });

  test('relay logs - timestamps are asked for upstream and stripped for a client that did not ask', () => {
    assert.equal(timestampedPath('/k8s/clusters/c/api/v1/namespaces/n/pods/p/log?follow=true'), '/k8s/clusters/c/api/v1/namespaces/n/pods/p/log?follow=true&timestamps=true');
    const lines = new LogLines({ timestamps: false });
    const out = lines.push(Buffer.from(`${line('2026-12-07T11:00:00.5Z', 'one')}2026-12-07T11:00:01Z tw`));
    assert.equal(out?.toString(), 'one\n');
    assert.equal(lines.push(Buffer.from('o\n'))?.toString(), 'two\n');
  });

  test('relay logs - a resume starts at the last line\'s second and drops what was handed on already', () => {
    const lines = new LogLines({ timestamps: true });
    const first = line('2026-12-07T11:00:01.100000000Z', 'a') + line('2026-12-07T11:00:01.2Z', 'b');
    assert.equal(lines.push(Buffer.from(first))?.toString(), first);
    lines.push(Buffer.from('2026-12-07T11:00:01.3Z half a li'));
    lines.discardPartial();
    const path = lines.resumedPath('/k8s/clusters/c/api/v1/namespaces/n/pods/p/log?follow=true&tailLines=10&timestamps=true');
    assert.equal(path, '/k8s/clusters/c/api/v1/namespaces/n/pods/p/log?follow=true&timestamps=true&sinceTime=2026-12-07T11%3A00%3A01Z');
    const again = first + line('2026-12-07T11:00:01.3Z', 'c') + line('2026-12-07T11:00:02Z', 'd');
    assert.equal(lines.push(Buffer.from(again))?.toString(), line('2026-12-07T11:00:01.3Z', 'c') + line('2026-12-07T11:00:02Z', 'd'));
    assert.equal(lines.resumable, true);
  });

  test('relay logs - lines without a timestamp or longer than the bound pass on, and the stream is no longer resumable', () => {
    const plain = new LogLines({ timestamps: false });
    assert.equal(plain.push(Buffer.from('no stamp here\n'))?.toString(), 'no stamp here\n');
    assert.equal(plain.resumable, false);
    const long = new LogLines({ timestamps: true });
    const big = Buffer.alloc(MAX_LOG_LINE_BYTES + 1, 0x61);
    assert.equal(long.push(big)?.length, big.length);
    assert.equal(long.resumable, false);
  });
});
