// Measuring the hub while the sims run: its /proc figures over a window, the
// fleet list's latency, and the printing both benches share.
import { percentile } from '../../test/helpers/resources.ts';
import { metricValue, type HubProcess } from './hub-process.ts';
import { coresBetween, type ProcSample } from './proc.ts';

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export interface HubWindow {
  seconds: number;
  /** Average cores (user + system time of every hub thread) over the window. */
  cores: number;
  rssMedianBytes: number;
  rssEndBytes: number;
  peakRssBytes: number;
  samples: ProcSample[];
}

/** Reads the hub's /proc every `everyMs` for `seconds`, calling `tick` at each reading. */
export async function watchHub(hub: HubProcess, seconds: number, everyMs = 5_000, tick?: (sample: ProcSample) => void): Promise<HubWindow> {
  const samples = [hub.sample()];
  const end = (samples[0]?.at ?? Date.now()) + seconds * 1000;
  while (Date.now() < end) {
    await sleep(Math.min(everyMs, Math.max(0, end - Date.now())));
    const sample = hub.sample();
    samples.push(sample);
    tick?.(sample);
  }
  const first = samples[0];
  const last = samples.at(-1);
  if (!first || !last) throw new Error('no samples');
  return {
    seconds: (last.at - first.at) / 1000,
    cores: coresBetween(first, last),
    rssMedianBytes: percentile(samples.map((s) => s.rssBytes), 50),
    rssEndBytes: last.rssBytes,
    peakRssBytes: last.peakRssBytes,
    samples,
  };
}

export interface ListLatency {
  ms: number[];
  bytes: number;
  items: number;
  /** CPU of the hub while the list was being asked for. */
  cores: number;
  /** Hub CPU seconds over the whole sampling. */
  cpuSeconds: number;
  seconds: number;
}

/**
 * GET /api/v1/clusters (its first page, as a client asking without a limit
 * gets it) `samples` times, one at a time, starting one every `intervalMs`
 * (at once after a slower answer), as a script polling the fleet would.
 */
export async function sampleFleetList(hub: HubProcess, samples: number, intervalMs: number): Promise<ListLatency> {
  const ms: number[] = [];
  let bytes = 0;
  let items = 0;
  const before = hub.sample();
  for (let i = 0; i < samples; i++) {
    const started = Date.now();
    const res = await hub.request('GET', FLEET_LIST);
    if (res.status !== 200) throw new Error(`GET ${FLEET_LIST}: HTTP ${res.status}: ${res.body.slice(0, 200)}`);
    ms.push(res.ms);
    bytes = Buffer.byteLength(res.body);
    if (i === 0) items = (JSON.parse(res.body) as FleetPage).items.length;
    await sleep(Math.max(0, started + intervalMs - Date.now()));
  }
  const after = hub.sample();
  return { ms, bytes, items, cores: coresBetween(before, after), cpuSeconds: after.cpuSeconds - before.cpuSeconds, seconds: (after.at - before.at) / 1000 };
}

const FLEET_LIST = '/api/v1/clusters';

interface FleetPage {
  items: unknown[];
  metadata?: { continue?: string };
}

/** The whole fleet read page by page, `walks` times. */
export interface ListWalk {
  /** Each walk's time, first request to last answer. */
  ms: number[];
  /** Each page's time, every page of every walk. */
  pageMs: number[];
  /** Pages in one walk. */
  pages: number;
  /** Clusters in one walk. */
  items: number;
  /** Bytes of one walk, all pages. */
  bytes: number;
  /** The largest single answer. */
  largestPageBytes: number;
}

/**
 * Reads the whole fleet `walks` times, following `metadata.continue` from
 * page to page with `limit` clusters a page (none: the hub's default), as
 * `uplink clusters list` does. A hub without pages answers it in one.
 */
export async function walkFleetList(hub: Pick<HubProcess, 'request'>, walks: number, limit?: number): Promise<ListWalk> {
  const result: ListWalk = { ms: [], pageMs: [], pages: 0, items: 0, bytes: 0, largestPageBytes: 0 };
  for (let walk = 0; walk < walks; walk++) {
    const started = performance.now();
    let next: string | undefined;
    let pages = 0;
    let items = 0;
    let bytes = 0;
    do {
      const query = new URLSearchParams({ ...(limit === undefined ? {} : { limit: String(limit) }), ...(next === undefined ? {} : { continue: next }) });
      const res = await hub.request('GET', `${FLEET_LIST}${query.size > 0 ? `?${query.toString()}` : ''}`);
      if (res.status !== 200) throw new Error(`GET ${FLEET_LIST}: HTTP ${res.status}: ${res.body.slice(0, 200)}`);
      result.pageMs.push(res.ms);
      const page = JSON.parse(res.body) as FleetPage;
      const size = Buffer.byteLength(res.body);
      pages += 1;
      items += page.items.length;
      bytes += size;
      result.largestPageBytes = Math.max(result.largestPageBytes, size);
      next = page.metadata?.continue;
    } while (next !== undefined && pages < 10_000);
    result.ms.push(performance.now() - started);
    Object.assign(result, { pages, items, bytes });
  }
  return result;
}

/** Hub CPU per fleet list: the CPU while listing, less what the hub spent at `baselineCores` meanwhile. */
export function cpuPerList(list: ListLatency, baselineCores: number): number {
  return Math.max(0, (list.cpuSeconds - baselineCores * list.seconds) / list.ms.length) * 1000;
}

export interface ScrapeCost {
  ms: number;
  bytes: number;
  /** nodejs_heap_size_used_bytes at the last scrape. */
  heapUsedBytes: number;
}

/** GET /metrics `times` times, one after another; the median time, the size and the JS heap in use. */
export async function scrapeCost(hub: HubProcess, times = 5): Promise<ScrapeCost> {
  const ms: number[] = [];
  let body = '';
  for (let i = 0; i < times; i++) {
    const res = await hub.request('GET', '/metrics');
    ms.push(res.ms);
    body = res.body;
  }
  return { ms: percentile(ms, 50), bytes: Buffer.byteLength(body), heapUsedBytes: metricValue(body, 'uplink_hub_nodejs_heap_size_used_bytes') };
}

export const p = percentile;

export function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

export function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(0)} KiB`;
}

export function ms(value: number): string {
  return `${value.toFixed(1)} ms`;
}

export function ratio(value: number, base: number): string {
  return base > 0 && Number.isFinite(value / base) ? `${(value / base).toFixed(2)}x` : '';
}

export function count(value: number): string {
  return value.toLocaleString('en-US');
}

/** A table: the first column left-aligned and wide, the others right-aligned. */
export function printTable(header: string[], rows: string[][], firstWidth = 44, width = 15): void {
  const line = (cells: string[]): string => cells.map((cell, i) => (i === 0 ? cell.padEnd(firstWidth) : cell.padStart(width))).join(' ');
  console.log(line(header));
  for (const row of rows) console.log(line(row));
}

export function verdict(ok: boolean): string {
  return ok ? 'PASS' : 'FAIL';
}
