import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StreamingTable, formatList, parseOutputFormat } from './output.ts';

describe('CLI output', () => {
  it('output - a list prints the whole answer as json/yaml, a table, names, or the empty message', () => {
    const items = [{ n: 'a', v: 1 }, { n: 'bb', v: 22 }];
    const base = { data: { items, extra: true }, items, headers: ['NAME', 'VALUE'], row: (i: { n: string; v: number }) => [i.n, String(i.v)], empty: 'none' };
    assert.equal(formatList({ ...base, format: 'table' }), 'NAME   VALUE\na      1\nbb     22');
    assert.deepEqual(JSON.parse(formatList({ ...base, format: 'json' })), { items, extra: true });
    assert.match(formatList({ ...base, format: 'yaml' }), /^items:\n {2}- n: a\n/);
    assert.equal(formatList({ ...base, format: 'name' }), 'a\nbb');
    assert.equal(formatList({ ...base, items: [], format: 'table' }), 'none');
  });

  it('output - a streaming table aligns later rows with the first ones and widens for long cells', () => {
    const table = new StreamingTable(['EVENT', 'NAME', 'STATUS'], [['ADDED', 'a', 'Running']]);
    assert.equal(table.start([['ADDED', 'a', 'Running']]), 'EVENT   NAME   STATUS\nADDED   a      Running');
    assert.equal(table.line(['DELETED', 'b', 'Gone']), 'DELETED   b      Gone');
    assert.equal(table.line(['ADDED', 'c', 'x']), 'ADDED     c      x');
  });

  it('output - an output format a command does not offer is refused, naming the ones it does', () => {
    assert.equal(parseOutputFormat('wide', ['table', 'wide']), 'wide');
    assert.throws(() => parseOutputFormat('name', ['table', 'json']), /--output must be one of table, json, got 'name'/);
  });
});
