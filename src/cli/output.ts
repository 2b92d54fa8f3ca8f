// Printing for the CLI: aligned tables for people, JSON or YAML for scripts.
// Every cell, name and document is escaped for the terminal (terminal-text.ts).
import { Document, Scalar, visit } from 'yaml';
import { escapeDataText, escapeTerminal, hasRawDataControl } from './terminal-text.ts';

export type OutputFormat = 'table' | 'wide' | 'json' | 'yaml' | 'name';

export const OUTPUT_FORMATS: readonly OutputFormat[] = ['table', 'wide', 'json', 'yaml', 'name'];

/** The --output value, narrowed to the formats a command offers; throws naming them otherwise. */
export function parseOutputFormat<F extends OutputFormat = OutputFormat>(value: string | undefined, allowed: readonly F[] = OUTPUT_FORMATS as readonly F[]): F {
  const format = (value ?? 'table') as F;
  if (!allowed.includes(format)) throw new Error(`--output must be one of ${allowed.join(', ')}, got '${value ?? ''}'`);
  return format;
}

/** Columns are separated by three spaces, like kubectl. */
const COLUMN_GAP = '   ';

function columnWidths(headers: readonly string[], rows: readonly (readonly string[])[]): number[] {
  return headers.map((h, i) => Math.max(h.length, ...rows.map((r) => escapeTerminal(r[i] ?? '').length)));
}

/** Cells are escaped here, so widths are counted on what is shown. */
function formatLine(cells: readonly string[], widths: readonly number[]): string {
  return cells.map((c, i) => escapeTerminal(c).padEnd(widths[i] ?? 0)).join(COLUMN_GAP).trimEnd();
}

/** Formats rows as columns separated by three spaces, like kubectl. */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = columnWidths(headers, rows);
  return [headers, ...rows].map((cells) => formatLine(cells, widths)).join('\n');
}

export interface ListOutput<T> {
  format: OutputFormat;
  /** What json and yaml print: the whole answer, as the hub sent it. */
  data: unknown;
  items: readonly T[];
  headers: readonly string[];
  row: (item: T) => string[];
  /** Printed instead of an empty table. */
  empty: string;
  /** For `-o name`; without it, the first cell of the row. */
  name?: (item: T) => string;
}

/** A list in the chosen format: json/yaml of the whole answer, names, or a table (`empty` when there are no rows). */
export function formatList<T>(output: ListOutput<T>): string {
  const { format, items } = output;
  if (format === 'json' || format === 'yaml') return formatData(output.data, format);
  if (format === 'name') return items.map((item) => escapeTerminal(output.name?.(item) ?? output.row(item)[0] ?? '')).join('\n');
  return items.length === 0 ? output.empty : formatTable(output.headers, items.map(output.row));
}

/**
 * A table printed a row at a time, as a watch needs: it starts with the rows
 * known so far aligned as formatTable would, and later rows keep those
 * widths, widening a column (from then on) when a cell does not fit.
 */
export class StreamingTable {
  private readonly headers: readonly string[];
  private readonly widths: number[];

  constructor(headers: readonly string[], initialRows: readonly (readonly string[])[] = []) {
    this.headers = headers;
    this.widths = columnWidths(headers, initialRows);
  }

  /** The header and the initial rows. */
  start(initialRows: readonly (readonly string[])[]): string {
    return [this.headers, ...initialRows].map((cells) => this.line(cells)).join('\n');
  }

  line(cells: readonly string[]): string {
    cells.forEach((cell, i) => { this.widths[i] = Math.max(this.widths[i] ?? 0, escapeTerminal(cell).length); });
    return formatLine(cells, this.widths);
  }
}

/**
 * JSON or YAML of `value`, with no raw control character: JSON.stringify
 * escapes C0 controls and the YAML printer double-quotes strings holding them;
 * C1 and bidi controls, which both leave raw, are escaped after printing (a
 * YAML string holding one is double-quoted first, where the escape is valid).
 */
export function formatData(value: unknown, format: 'json' | 'yaml'): string {
  if (format === 'json') return escapeDataText(JSON.stringify(value, null, 2), 'json');
  const doc = new Document(value);
  visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value === 'string' && hasRawDataControl(node.value)) node.type = Scalar.QUOTE_DOUBLE;
    },
  });
  return escapeDataText(doc.toString(), 'yaml').trimEnd();
}

/** "12s", "5m", "3h", "2d" from seconds. */
export function formatAge(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return '-';
  if (seconds < 120) return `${Math.round(seconds)}s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m`;
  if (seconds < 172_800) return `${Math.round(seconds / 3600)}h`;
  return `${Math.round(seconds / 86_400)}d`;
}
