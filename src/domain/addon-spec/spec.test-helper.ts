// For tests: a minimal valid spec body, and an assertion on the error a bad one gets
// (the hub answers it 400: src/hub/errors.ts maps ADDON_SPEC_INVALID).
import assert from 'node:assert/strict';
import { AddonSpecError } from './fields.ts';
import { parseAddonSpec } from './spec.ts';

/** The fewest fields a spec needs: a chart, a version and a namespace. */
export function minimalSpec(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { source: { repo: { url: 'https://charts.example.com', chart: 'web' } }, version: '1.2.3', namespace: 'web', ...overrides };
}

/** Asserts that `overrides` on a minimal spec is refused with ADDON_SPEC_INVALID naming `field`, with a message matching `message`. */
export function assertRefused(overrides: Record<string, unknown>, field: string, message: RegExp | string): void {
  assert.throws(() => parseAddonSpec(minimalSpec(overrides)), (error: unknown) => {
    assert.ok(error instanceof AddonSpecError, `expected an AddonSpecError, got ${String(error)}`);
    assert.equal(error.code, 'ADDON_SPEC_INVALID');
    assert.equal(error.field, field);
    if (typeof message === 'string') assert.equal(error.message, message);
    else assert.match(error.message, message);
    return true;
  });
}
