import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { escapeDataText, escapeTerminal, escapeTerminalLines, hasRawDataControl } from './terminal-text.ts';

/** Any character a terminal would obey rather than show. */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;

describe('terminal text', () => {
  it('terminal text - ESC, BEL, CSI and the other controls are shown as escapes', () => {
    assert.equal(escapeTerminal('/api/\u001b]0;owned\u0007x'), '/api/\\x1b]0;owned\\x07x');
    assert.equal(escapeTerminal('a\u009b31mb'), 'a\\x9b31mb', 'the 8-bit CSI');
    assert.equal(escapeTerminal('tab\there\r\nrow'), 'tab\\x09here\\x0d\\x0arow', 'no fake rows or columns');
    assert.equal(escapeTerminal('\u0000\u007f'), '\\x00\\x7f');
    assert.equal(escapeTerminal('evil\u202eexe.txt'), 'evil\\u202eexe.txt', 'a bidi override');
    assert.equal(escapeTerminal('plain text, ünïcödé, 漢字 ✓'), 'plain text, ünïcödé, 漢字 ✓', 'printable text is untouched');
  });

  it('terminal text - a message keeps its line feeds and nothing else', () => {
    assert.equal(escapeTerminalLines('line one\nline \u001b[2Jtwo\r'), 'line one\nline \\x1b[2Jtwo\\x0d');
  });

  it('terminal text - every code point below U+00A0 and the bidi controls come out printable', () => {
    for (let code = 0; code < 0xa0; code += 1) {
      const shown = escapeTerminal(`a${String.fromCodePoint(code)}b`);
      assert.doesNotMatch(shown, RAW_CONTROL, `U+${code.toString(16)}`);
      assert.doesNotMatch(shown, /\n/);
    }
  });

  it('terminal text - JSON and YAML text get escapes their parsers read back as the same character', () => {
    const value = { path: 'a\u009bb\u202ec' };
    const json = escapeDataText(JSON.stringify(value), 'json');
    assert.doesNotMatch(json, RAW_CONTROL);
    assert.deepEqual(JSON.parse(json), value);
    assert.equal(escapeDataText('"a\u009bb\u202e"', 'yaml'), '"a\\x9bb\\u202e"');
    assert.equal(hasRawDataControl('ok'), false);
    assert.equal(hasRawDataControl('x\u0085'), true);
    assert.equal(hasRawDataControl('x\u0085'), true, 'no state left between calls');
  });
});
