import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CodedError, ERROR_CODES, errorCodeTable, isErrorCode, statusOf } from './error-codes.ts';

const DOC = join(import.meta.dirname, '..', '..', 'docs', 'errors.md');

describe('error codes', () => {
  it('error codes - docs/errors.md holds exactly the generated table', () => {
    const text = readFileSync(DOC, 'utf8');
    const generated = /<!-- generated: errorCodeTable\(\) -->\n([\s\S]*?)\n<!-- end generated -->/.exec(text)?.[1];
    assert.equal(generated, errorCodeTable(), 'docs/errors.md is out of step: regenerate its table from errorCodeTable()');
  });

  it('error codes - every code is upper snake case with an error status and a one-line meaning', () => {
    for (const [code, info] of Object.entries(ERROR_CODES)) {
      assert.match(code, /^[A-Z][A-Z0-9_]*$/, code);
      assert.ok(info.status >= 400 && info.status <= 599, code);
      assert.ok(info.meaning.length > 10 && !info.meaning.includes('\n') && !info.meaning.includes('|'), code);
    }
  });

  it('error codes - a coded error takes its status from the catalogue; unknown codes are not codes', () => {
    const error = new CodedError('TOO_MANY_REQUESTS', 'full');
    assert.deepEqual([error.code, error.status, error.message], ['TOO_MANY_REQUESTS', 429, 'full']);
    assert.equal(statusOf('STORE_FULL'), 507);
    assert.equal(isErrorCode('NOT_FOUND'), true);
    assert.equal(isErrorCode('toString'), false);
    assert.equal(isErrorCode('KUBE_API_ERROR'), false);
  });
});
