// The hub's own memory figures, read through the Node inspector of the hub
// process (started with --inspect=127.0.0.1:0, on loopback, for the bench
// only): process.memoryUsage() as the hub sees it, a full garbage collection
// on demand (so retained objects can be told from garbage not yet collected),
// and heap snapshots to find what holds memory. /proc gives RSS, but not how
// much of it is JavaScript heap, buffers, or allocator pages kept after a peak.
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';

/** process.memoryUsage() of the hub. */
export interface HubMemory {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  /** C++ objects bound to JS objects, Buffers included. */
  external: number;
  /** ArrayBuffers and Buffers (part of external). */
  arrayBuffers: number;
}

/** How long one inspector call may take: a heap snapshot of a loaded hub takes seconds. */
const CALL_TIMEOUT_MS = 120_000;

/** The inspector's WebSocket URL, from the "Debugger listening on ws://..." line Node writes to the hub's log. */
export function inspectorUrl(logFile: string): string | undefined {
  const matches = readFileSync(logFile, 'utf8').match(/Debugger listening on (ws:\/\/127\.0\.0\.1:\d+\/[\w-]+)/g);
  return matches?.at(-1)?.replace('Debugger listening on ', '');
}

/** One inspector session with the hub, opened per use and closed after. */
export class HubInspector {
  private readonly ws: WebSocket;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  private chunkSink: ((chunk: string) => void) | undefined;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (data: Buffer) => { this.receive(JSON.parse(data.toString('utf8')) as InspectorMessage); });
    ws.on('close', () => {
      for (const { reject } of this.waiting.values()) reject(new Error('the inspector connection closed'));
      this.waiting.clear();
    });
  }

  static async connect(url: string): Promise<HubInspector> {
    const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 256 * 1024 * 1024 });
    await once(ws, 'open');
    return new HubInspector(ws);
  }

  /** Runs `fn` with a session to the hub whose log is `logFile`; undefined when the hub has no inspector. */
  static async with<T>(logFile: string, fn: (inspector: HubInspector) => Promise<T>): Promise<T | undefined> {
    const url = inspectorUrl(logFile);
    if (url === undefined) return undefined;
    const inspector = await HubInspector.connect(url);
    try {
      return await fn(inspector);
    } finally {
      inspector.close();
    }
  }

  call(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`inspector ${method} took over ${CALL_TIMEOUT_MS} ms`));
      }, CALL_TIMEOUT_MS);
      this.waiting.set(id, {
        resolve: (value) => { clearTimeout(timer); resolve(value); },
        reject: (error) => { clearTimeout(timer); reject(error); },
      });
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  /** process.memoryUsage() in the hub. */
  async memory(): Promise<HubMemory> {
    const result = await this.call('Runtime.evaluate', { expression: 'process.memoryUsage()', returnByValue: true }) as { result: { value: HubMemory } };
    return result.result.value;
  }

  /** A full, compacting garbage collection in the hub. */
  async collectGarbage(): Promise<void> {
    await this.call('HeapProfiler.collectGarbage');
  }

  /** Writes a heap snapshot of the hub to `file` (it collects garbage first). */
  async heapSnapshot(file: string): Promise<void> {
    const out = createWriteStream(file);
    this.chunkSink = (chunk) => { out.write(chunk); };
    try {
      await this.call('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
    } finally {
      this.chunkSink = undefined;
      out.end();
      await once(out, 'finish');
    }
  }

  close(): void {
    this.ws.close();
  }

  private receive(message: InspectorMessage): void {
    if (message.method === 'HeapProfiler.addHeapSnapshotChunk') {
      this.chunkSink?.(message.params?.chunk ?? '');
      return;
    }
    if (message.id === undefined) return;
    const waiter = this.waiting.get(message.id);
    if (!waiter) return;
    this.waiting.delete(message.id);
    if (message.error) waiter.reject(new Error(`inspector: ${message.error.message}`));
    else waiter.resolve(message.result);
  }
}

interface InspectorMessage {
  id?: number;
  method?: string;
  params?: { chunk?: string };
  result?: unknown;
  error?: { message: string };
}

/** The hub's memory as it is, then after a full GC: what is garbage and what is held. */
export interface MemoryReading {
  before: HubMemory;
  afterGc: HubMemory;
}

/** Reads the hub's memory, collects garbage, reads it again; undefined without an inspector. */
export function readHubMemory(logFile: string): Promise<MemoryReading | undefined> {
  return HubInspector.with(logFile, async (inspector) => {
    const before = await inspector.memory();
    await inspector.collectGarbage();
    // A second collection: the first can leave objects a finalizer or weak callback freed only after it.
    await inspector.collectGarbage();
    return { before, afterGc: await inspector.memory() };
  });
}
