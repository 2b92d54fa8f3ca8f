import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CodedError } from '../domain/error-codes.ts';
import { newExposureId } from '../domain/exposure.ts';
import { MAX_EXPOSURES_PER_CLUSTER, parseDesiredExposureSet } from './exposures.ts';

function problem(value: unknown): string {
  try {
    parseDesiredExposureSet(value);
  } catch (error) {
    assert.ok(error instanceof CodedError);
    assert.equal(error.code, 'DESIRED_EXPOSURES_INVALID');
    return error.message;
  }
  assert.fail('accepted');
}

describe('desired exposure set', () => {
  const entry = (): { id: string; namespace: string; service: string; port: number | string } => ({ id: newExposureId(), namespace: 'ns', service: 'web', port: 80 });

  it('desired exposures - a set parses with its generation; entries keep only their four fields', () => {
    const one = entry();
    assert.deepEqual(parseDesiredExposureSet({ generation: 3, exposures: [{ ...one, extra: 'x' }, { ...entry(), port: 'http', id: one.id.replace(/.$/, 'b') }] }).exposures[0], one);
    assert.deepEqual(parseDesiredExposureSet({ generation: 0, exposures: [] }), { generation: 0, exposures: [] });
  });

  it('desired exposures - refuses bad generations, entries, duplicates and sets over the bound', () => {
    assert.match(problem({ generation: -1, exposures: [] }), /generation/);
    assert.match(problem({ generation: 1.5, exposures: [] }), /generation/);
    assert.match(problem({ generation: 1 }), /exposures must be a list/);
    assert.match(problem({ generation: 1, exposures: [{ ...entry(), id: 'ex_bad' }] }), /exposures\[0\]\.id/);
    assert.match(problem({ generation: 1, exposures: [{ ...entry(), namespace: '../x' }] }), /namespace/);
    assert.match(problem({ generation: 1, exposures: [{ ...entry(), service: '10.0.0.1' }] }), /service/);
    assert.match(problem({ generation: 1, exposures: [{ ...entry(), port: 0 }] }), /port/);
    const one = entry();
    assert.match(problem({ generation: 1, exposures: [one, one] }), /twice/);
    const many = Array.from({ length: MAX_EXPOSURES_PER_CLUSTER + 1 }, entry);
    assert.match(problem({ generation: 1, exposures: many }), /more than 256/);
    assert.match(problem(null), /must be an object/);
  });
});
