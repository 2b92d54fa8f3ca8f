import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger } from '../../util/logger.ts';
import { LogRing, MAX_LOG_LINE_CHARS, scrubSecrets, shapeLogLine } from './log-ring.ts';

describe('log ring', () => {
  it('log ring - scrubs uplink tokens, bearer credentials and given secrets from a line', () => {
    const token = `upc_abc123_${'Z'.repeat(43)}`;
    const line = JSON.stringify({ msg: `dial with ${token} failed`, header: 'Bearer eyJhbGciOiJSUzI1NiJ9.abc', other: 'the-configured-secret' });
    const scrubbed = scrubSecrets(line, ['the-configured-secret', 'short']);
    assert.ok(!scrubbed.includes(token) && !scrubbed.includes('eyJhbGciOiJSUzI1NiJ9') && !scrubbed.includes('the-configured-secret'), scrubbed);
    assert.deepEqual(JSON.parse(scrubbed), { msg: 'dial with [redacted] failed', header: 'Bearer [redacted]', other: '[redacted]' });
    assert.equal(scrubSecrets('a short word stays', ['short']), 'a short word stays', 'secrets under 8 characters are not blanked');
  });

  it('log ring - an over-long line becomes one JSON note with its start', () => {
    const long = JSON.stringify({ msg: 'x'.repeat(MAX_LOG_LINE_CHARS * 2) });
    const shaped = JSON.parse(shapeLogLine(long)) as { msg: string; chars: number; start: string };
    assert.equal(shaped.msg, '[line truncated]');
    assert.equal(shaped.chars, long.length);
    assert.equal(shaped.start, long.slice(0, 1024));
    assert.equal(shapeLogLine('{"msg":"ok"}'), '{"msg":"ok"}');
  });

  it('log ring - taps a real logger (children too), keeps the last lines, and stops tapping', () => {
    const log = createLogger({ name: 'ring-test', level: 'silent' });
    log.level = 'info';
    const ring = new LogRing({ log, capacity: 3, secrets: () => ['configured-token-value'] });
    const child = log.child({ component: 'child' });
    for (let i = 0; i < 5; i += 1) child.info({ n: i }, 'line with configured-token-value');
    ring.stop();
    log.info('after stop');
    const lines = ring.buffer.recent().map((entry) => JSON.parse(entry.value) as { n: number; msg: string });
    assert.deepEqual(lines.map((line) => line.n), [2, 3, 4]);
    assert.ok(lines.every((line) => line.msg === 'line with [redacted]'));
  });
});
