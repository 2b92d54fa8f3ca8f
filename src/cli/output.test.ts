import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { StreamingTable, formatData, formatList, formatTable, parseOutputFormat } from './output.ts';

/** Any character a terminal would obey rather than show (line feeds are the printer's own). */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;

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

  it('output - untrusted text in tables, names, JSON and YAML reaches the terminal with no raw control character', () => {
    const hostile = '/k8s/\u001b]0;owned\u0007\u001b[2J\nFAKE ROW\u009b31m\u202eevil';
    const items = [{ n: hostile, v: 'ok' }];
    const base = { data: { items }, items, headers: ['NAME', 'VALUE'], row: (i: { n: string; v: string }) => [i.n, i.v], empty: '' };
    const table = formatList({ ...base, format: 'table' });
    assert.doesNotMatch(table, RAW_CONTROL);
    assert.equal(table.split('\n').length, 2, 'one header and one row: no fake row');
    assert.match(table, /\\x1b\]0;owned\\x07/);
    assert.doesNotMatch(formatList({ ...base, format: 'name' }), RAW_CONTROL);
    assert.doesNotMatch(formatTable(['A'], [[hostile]]), RAW_CONTROL);
    const streaming = new StreamingTable(['A']);
    assert.doesNotMatch(streaming.line([hostile]), RAW_CONTROL);
    for (const format of ['json', 'yaml'] as const) {
      const text = formatData({ [hostile]: hostile, items }, format);
      assert.doesNotMatch(text.replaceAll('\n', ''), RAW_CONTROL, format);
      const parsed = (format === 'json' ? JSON.parse(text) : parseYaml(text)) as Record<string, unknown>;
      assert.equal(parsed[hostile], hostile, `${format} reads back the same value`);
    }
  });
});
