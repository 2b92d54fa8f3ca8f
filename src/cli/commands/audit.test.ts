import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { statusCells } from './audit.ts';

describe('uplink audit', () => {
  it('audit - a stream in progress or interrupted shows its state instead of a status and a duration', () => {
    assert.deepEqual(statusCells({ state: 'complete', status: 200, durationMs: 65_000 }), ['200', '1m5s']);
    assert.deepEqual(statusCells({ state: 'in_progress', status: 0, durationMs: 0 }), ['in progress', '-']);
    assert.deepEqual(statusCells({ state: 'interrupted', status: 0, durationMs: 0 }), ['interrupted', '-']);
  });
});
