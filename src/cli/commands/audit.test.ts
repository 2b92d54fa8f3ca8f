import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exitCell, statusCells } from './audit.ts';

describe('uplink audit', () => {
  it('audit - a stream in progress or interrupted shows its state instead of a status and a duration', () => {
    assert.deepEqual(statusCells({ state: 'complete', status: 200, durationMs: 65_000 }), ['200', '1m5s']);
    assert.deepEqual(statusCells({ state: 'in_progress', status: 0, durationMs: 0 }), ['in progress', '-']);
    assert.deepEqual(statusCells({ state: 'interrupted', status: 0, durationMs: 0 }), ['interrupted', '-']);
  });

  it('audit - an exec\'s EXIT cell: its code, else its reason cut to 40 characters, else a dash', () => {
    assert.equal(exitCell({ exitCode: 0, exitReason: null }), '0');
    assert.equal(exitCell({ exitCode: 3, exitReason: null }), '3');
    assert.equal(exitCell({ exitCode: null, exitReason: null }), '-');
    assert.equal(exitCell({ exitCode: null, exitReason: 'InternalError: boom' }), 'InternalError: boom');
    const long = exitCell({ exitCode: null, exitReason: `InternalError: ${'x'.repeat(100)}` });
    assert.equal(long.length, 40);
    assert.ok(long.endsWith('…'));
  });
});
