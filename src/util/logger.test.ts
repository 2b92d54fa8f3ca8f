import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Logger } from 'pino';
import { throttledWarnings } from './logger.ts';

describe('logger', () => {
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
