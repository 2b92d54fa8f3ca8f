// `uplink get -w`: the hub's live feed (server-sent events) printed as it
// arrives. The objects present at the start are printed as one aligned table
// once the feed says SYNCED; every change after that is one line. An ERROR
// event ends the command with its message and exit status 1.
import type { ClusterSummary } from '../../hub/resources/index.ts';
import type { ResourceChange, ResourceRow } from '../../link/resources.ts';
import type { HubClient } from '../hub-client.ts';
import { StreamingTable, formatData } from '../output.ts';
import { changeCells, freshnessWarnings, resourceColumns, type RowColumns } from '../resource-view.ts';
import { SseReader } from '../sse-reader.ts';
import { escapeDataText, print, printError } from '../terminal-text.ts';

type RowChange = Extract<ResourceChange, { row: ResourceRow }>;
type FeedChange = ResourceChange & { cluster?: ClusterSummary };

/** The feed said ERROR: its message is the command's. */
class FeedEndedError extends Error {}

export interface WatchPrinterOptions {
  format: 'table' | 'wide' | 'json' | 'yaml';
  /** Rows span namespaces (no -n): show NAMESPACE. */
  allNamespaces: boolean;
  /** Only this exact object name (the hub filters by substring). */
  exactName: string | undefined;
  out?: (line: string) => void;
  err?: (line: string) => void;
}

export interface WatchOptions extends WatchPrinterOptions {
  client: HubClient;
  /** The hub's watch route with its query. */
  path: string;
}

/** Turns feed changes into output lines; throws FeedEndedError on ERROR. */
export class WatchPrinter {
  private readonly options: WatchPrinterOptions;
  private readonly out: (line: string) => void;
  private readonly err: (line: string) => void;
  private initial: RowChange[] = [];
  private synced = false;
  private columns: RowColumns | undefined;
  private table: StreamingTable | undefined;

  constructor(options: WatchPrinterOptions) {
    this.options = options;
    this.out = options.out ?? ((line) => { print(line); });
    this.err = options.err ?? ((line) => { printError(line); });
  }

  take(change: FeedChange): void {
    if (change.type === 'ERROR') throw new FeedEndedError(`the feed ended: ${change.message}`);
    if (change.type !== 'SYNCED' && this.options.exactName !== undefined && change.row.name !== this.options.exactName) return;
    if (this.options.format === 'json') this.out(escapeDataText(JSON.stringify(change), 'json'));
    else if (this.options.format === 'yaml') this.out(`---\n${formatData(change, 'yaml')}`);
    if (change.type === 'SYNCED') {
      this.synced = true;
      if (change.cluster) for (const warning of freshnessWarnings(change.cluster, change.inventory)) this.err(warning);
      this.startTable();
      return;
    }
    if (this.options.format === 'json' || this.options.format === 'yaml') return;
    if (!this.synced) this.initial.push(change);
    else this.printLine(change);
  }

  private startTable(): void {
    if (this.options.format === 'json' || this.options.format === 'yaml' || this.table) return;
    const rows = this.initial.map((c) => c.row);
    const columns = resourceColumns({
      // Cluster-scoped kinds have no namespace: leave the column out when the first rows show none.
      withNamespace: this.options.allNamespaces && (rows.length === 0 || rows.some((r) => r.namespace !== null)),
      wide: this.options.format === 'wide', rows,
    });
    const initialCells = this.initial.map((c) => changeCells(c, columns));
    this.columns = columns;
    this.table = new StreamingTable(['EVENT', ...columns.headers], initialCells);
    this.out(this.table.start(initialCells));
    this.initial = [];
  }

  private printLine(change: RowChange): void {
    if (this.table && this.columns) this.out(this.table.line(changeCells(change, this.columns)));
  }
}

/** Follows the feed until it ends; always throws: with the feed's ERROR, or because it broke or ended silently. */
export async function watchResources(options: WatchOptions): Promise<never> {
  const res = await options.client.openStream(options.path, 'text/event-stream');
  res.setEncoding('utf8');
  const reader = new SseReader();
  const printer = new WatchPrinter(options);
  try {
    for await (const chunk of res as AsyncIterable<string>) {
      for (const event of reader.push(chunk)) printer.take(JSON.parse(event.data) as FeedChange);
    }
  } catch (error) {
    if (error instanceof FeedEndedError) throw error;
    throw new Error(`the feed from the hub broke: ${(error as Error).message}`, { cause: error });
  }
  throw new Error('the hub ended the feed without a reason');
}
