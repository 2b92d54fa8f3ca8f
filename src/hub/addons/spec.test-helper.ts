// For tests: a minimal valid spec body, and an assertion on the 400 a bad one gets.
import assert from 'node:assert/strict';
import { toHttpError } from '../errors.ts';
import { AddonSpecError } from './fields.ts';
import { parseAddonSpec } from './spec.ts';

/** The fewest fields a spec needs: a chart, a version and a namespace. */
export function minimalSpec(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { source: { repo: { url: 'https://charts.example.com', chart: 'web' } }, version: '1.2.3', namespace: 'web', ...overrides };
}

/** Asserts that `overrides` on a minimal spec is refused with a 400 naming `field`, with a message matching `message`. */
export function assertRefused(overrides: Record<string, unknown>, field: string, message: RegExp | string): void {
  assert.throws(() => parseAddonSpec(minimalSpec(overrides)), (error: unknown) => {
    assert.ok(error instanceof AddonSpecError, `expected an AddonSpecError, got ${String(error)}`);
    assert.equal(toHttpError(error).status, 400);
    assert.equal(error.code, 'ADDON_SPEC_INVALID');
    assert.equal(error.field, field);
    if (typeof message === 'string') assert.equal(error.message, message);
    else assert.match(error.message, message);
    return true;
  });
}
