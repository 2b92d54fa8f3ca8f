// Text from the hub (names, paths, commands, messages; some written by
// anonymous clients into the audit log) reaches an operator's terminal. A raw
// control character there is a command to the terminal: ESC sequences rewrite
// the title, move the cursor, recolour or erase lines and can fake rows; BEL
// rings; C1 codes (U+0080-U+009F) act as ESC-prefixed ones on many
// terminals; bidirectional overrides reorder what is shown. This module shows
// them as visible escapes instead. The pod log lines of `uplink logs` are not
// passed through it: like `kubectl logs`, they are the pod's own output.

/** C0 controls, DEL and C1 controls. */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/gu;
/** The same without the line feed, for multi-line messages the CLI composes. */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL_BUT_NEWLINE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/gu;
/** Invisible characters that change the direction or order of what follows (bidi marks, embeddings, overrides, isolates). */
const BIDI = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu;
/** What JSON.stringify and the YAML printer leave raw: C1 controls and bidi controls. */
const RAW_IN_DATA = /[\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu;

function hex(char: string, width: number): string {
  return (char.codePointAt(0) ?? 0).toString(16).padStart(width, '0');
}

const visible = (char: string): string => (char.length === 1 && char <= '\u00ff' ? `\\x${hex(char, 2)}` : `\\u${hex(char, 4)}`);

/** One field (a table cell, a name): every control character, line breaks included, as `\xNN` or `\uNNNN`. */
export function escapeTerminal(text: string): string {
  return text.replace(CONTROL, visible).replace(BIDI, visible);
}

/** A message of one or more lines: like escapeTerminal, but line feeds stay line feeds. */
export function escapeTerminalLines(text: string): string {
  return text.replace(CONTROL_BUT_NEWLINE, visible).replace(BIDI, visible);
}

/**
 * JSON or YAML text as printed: the C1 and bidi controls that JSON.stringify
 * and the YAML printer leave raw become `\u00NN` / `\xNN` escapes, which mean
 * the same character to a parser. Only valid where such characters can only
 * occur inside double-quoted strings (see formatData).
 */
export function escapeDataText(text: string, format: 'json' | 'yaml'): string {
  return text.replace(RAW_IN_DATA, (char) => (format === 'json' || char > '\u00ff' ? `\\u${hex(char, 4)}` : `\\x${hex(char, 2)}`));
}

/** True when `text` holds a character escapeDataText would change. */
export function hasRawDataControl(text: string): boolean {
  RAW_IN_DATA.lastIndex = 0;
  const found = RAW_IN_DATA.test(text);
  RAW_IN_DATA.lastIndex = 0;
  return found;
}

/** console.log with the message's control characters made visible (line feeds kept). */
export function print(text: string): void {
  console.log(escapeTerminalLines(text));
}

/** console.error with the message's control characters made visible (line feeds kept). */
export function printError(text: string): void {
  console.error(escapeTerminalLines(text));
}
