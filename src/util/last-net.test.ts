import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EXIT_UNCAUGHT, lastNetHandlers } from './last-net.ts';

describe('last net', () => {
  it('last net - an unhandled rejection is logged and the process keeps serving; an uncaught exception exits for a restart', () => {
    const lines: [string, string][] = [];
    const exits: number[] = [];
    const log = {
      error: (_fields: unknown, message: string) => { lines.push(['error', message]); },
      fatal: (_fields: unknown, message: string) => { lines.push(['fatal', message]); },
    } as never;
    const handlers = lastNetHandlers(log, (code) => { exits.push(code); });
    handlers.unhandledRejection(new TypeError("Cannot read properties of undefined (reading 'trim')"));
    assert.deepEqual(exits, [], 'a rejection does not end the process');
    assert.equal(lines[0]?.[0], 'error');
    handlers.uncaughtException(new Error('boom'), 'uncaughtException');
    assert.deepEqual(exits, [EXIT_UNCAUGHT]);
    assert.equal(lines[1]?.[0], 'fatal');
  });
});
