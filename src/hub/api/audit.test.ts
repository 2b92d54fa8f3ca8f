import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HttpError } from '../errors.ts';
import { parseTimeBound } from './audit.ts';

const NOW = Date.parse('2026-03-10T12:00:00.000Z');

function rejects(value: string, field = 'since'): void {
  assert.throws(() => parseTimeBound(value, field, NOW), (error: unknown) => {
    assert.ok(error instanceof HttpError);
    assert.equal(error.status, 400);
    assert.match(error.message, new RegExp(`^${field} must be an ISO 8601 time .* or a duration like 30m, 2h or 7d, got '`));
    return true;
  });
}

describe('audit time bounds', () => {
  it('audit - a duration means that long before now', () => {
    assert.equal(parseTimeBound('30s', 'since', NOW), '2026-03-10T11:59:30.000Z');
    assert.equal(parseTimeBound('30m', 'since', NOW), '2026-03-10T11:30:00.000Z');
    assert.equal(parseTimeBound('2h', 'since', NOW), '2026-03-10T10:00:00.000Z');
    assert.equal(parseTimeBound('7d', 'since', NOW), '2026-03-03T12:00:00.000Z');
    assert.equal(parseTimeBound('0m', 'since', NOW), '2026-03-10T12:00:00.000Z');
    assert.equal(parseTimeBound(' 1h ', 'since', NOW), '2026-03-10T11:00:00.000Z');
  });

  it('audit - ISO 8601 times are normalised to UTC with milliseconds', () => {
    assert.equal(parseTimeBound('2026-03-01T10:00:00Z', 'since', NOW), '2026-03-01T10:00:00.000Z');
    assert.equal(parseTimeBound('2026-03-01T10:00:00.5+02:00', 'until', NOW), '2026-03-01T08:00:00.500Z');
    assert.equal(parseTimeBound('2026-03-01', 'since', NOW), '2026-03-01T00:00:00.000Z');
  });

  it('audit - anything else is a 400 naming the parameter', () => {
    rejects('yesterday');
    rejects('March 7');
    rejects('1w');
    rejects('-5m');
    rejects('1.5h');
    rejects('');
    rejects('9999999d', 'until');
    rejects('2026-13-45T99:00:00Z', 'until');
  });
});
