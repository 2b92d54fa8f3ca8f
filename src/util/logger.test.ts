import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Logger } from 'pino';
import { createLogger, tapLogLines, throttledWarnings } from './logger.ts';

describe('logger', () => {
  it('logger - credentials in headers are redacted, a bearer subprotocol included', () => {
    const log = createLogger({ name: 'redaction-test', level: 'info' });
    const lines: string[] = [];
    const untap = tapLogLines(log, (line) => { lines.push(line); });
    log.info({ req: { headers: { authorization: 'Bearer upk_a_b', 'sec-websocket-protocol': 'v5.channel.k8s.io, base64url.bearer.authorization.k8s.io.dXBr' } } }, 'request');
    untap();
    assert.equal(lines.length, 1);
    assert.doesNotMatch(lines[0] ?? '', /upk_a_b|dXBr/);
    assert.match(lines[0] ?? '', /"sec-websocket-protocol":"\[redacted\]"/);
  });

  it('throttled warnings - one warning per interval, the next says how many were left out; errors pass', () => {
    const lines: [string, unknown][] = [];
    const base = {
      warn: (fields: unknown) => { lines.push(['warn', fields]); },
      error: (fields: unknown) => { lines.push(['error', fields]); },
    } as unknown as Logger;
    const clock = { now: 0 };
    const log = throttledWarnings(base, 60_000, () => clock.now);
    log.warn({ field: 'a' }, 'bad');
    log.warn({ field: 'b' }, 'bad');
    log.warn({ field: 'c' }, 'bad');
    log.error({ err: 'x' }, 'store down');
    clock.now = 60_000;
    log.warn({ field: 'd' }, 'bad');
    assert.deepEqual(lines, [['warn', { field: 'a' }], ['error', { err: 'x' }], ['warn', { field: 'd', suppressed: 2 }]]);
  });
});
