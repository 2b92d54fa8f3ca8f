import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { schemaError, Type } from './setting-schema.ts';

describe('setting schemas', () => {
  it('setting-schema - strings are checked for type, length and pattern', () => {
    const schema = Type.String({ minLength: 2, maxLength: 4, pattern: '^[a-z]+$' });
    assert.equal(schemaError(schema, 'abc'), undefined);
    assert.equal(schemaError(schema, 3), 'must be string');
    assert.equal(schemaError(schema, 'a'), 'must not have fewer than 2 characters');
    assert.equal(schemaError(schema, 'abcde'), 'must not have more than 4 characters');
    assert.equal(schemaError(schema, 'AB'), 'must match pattern "^[a-z]+$"');
  });

  it('setting-schema - numbers and integers are bounded; NaN and infinities never fit', () => {
    const port = Type.Integer({ minimum: 0, maximum: 65535 });
    assert.equal(schemaError(port, 8443), undefined);
    assert.equal(schemaError(port, 1.5), 'must be integer');
    assert.equal(schemaError(port, -1), 'must be >= 0');
    assert.equal(schemaError(port, 70000), 'must be <= 65535');
    assert.equal(schemaError(port, '80'), 'must be integer');
    assert.equal(schemaError(Type.Number({ maximum: 10 }), Number.NaN), 'must be number');
    assert.equal(schemaError(Type.Number(), Number.POSITIVE_INFINITY), 'must be number');
    assert.equal(schemaError(Type.Number({ minimum: 1 }), 1.5), undefined);
  });

  it('setting-schema - booleans, literal choices and lists', () => {
    assert.equal(schemaError(Type.Boolean(), false), undefined);
    assert.equal(schemaError(Type.Boolean(), 'true'), 'must be boolean');
    const mode = Type.Union([Type.Literal('h2'), Type.Literal('websocket')]);
    assert.equal(schemaError(mode, 'h2'), undefined);
    assert.equal(schemaError(mode, 'h3'), 'must be one of h2, websocket');
    assert.equal(schemaError(Type.Literal('x'), 'y'), 'must be equal to constant "x"');
    const list = Type.Array(Type.String({ minLength: 1 }));
    assert.equal(schemaError(list, ['a', 'b']), undefined);
    assert.equal(schemaError(list, ['a', '']), 'must not have fewer than 1 characters');
    assert.equal(schemaError(list, 'a'), 'must be array');
  });
});
