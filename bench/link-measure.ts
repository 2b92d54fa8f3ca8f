// Timed transfers for bench/link.ts, the same code for the link and for the
// direct paths: a raw TCP or TLS copy, and HTTP/2 requests made through a
// `Requester` (HubSession.request on the link, ClientHttp2Session.request on
// plain HTTP/2).
import type { ClientHttp2Stream, OutgoingHttpHeaders } from 'node:http2';
import http2 from 'node:http2';
import { readFileSync } from 'node:fs';
import { connect as connectTcp } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { BENCH_PATHS } from './link-shared.ts';

export type Requester = (headers: OutgoingHttpHeaders) => ClientHttp2Stream;

export interface Timed {
  ms: number;
  bytes: number;
}

const MIB = 1024 * 1024;

export function mibPerSecond(result: Timed): number {
  return result.bytes / MIB / (result.ms / 1000);
}

/** CPU time (user + system) a process has used, in milliseconds; from /proc, at 10 ms resolution. */
function processCpuMs(pid: number): number {
  // Fields after the command name (which may hold spaces): utime is the 12th, stime the 13th, in clock ticks.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

export interface WithCpu<T> {
  result: T;
  /** CPU milliseconds this process (the hub side) used meanwhile. */
  hubCpuMs: number;
  /** The same for the agent side's process. */
  agentCpuMs: number;
}

/** Runs `work` and says how much CPU both sides used meanwhile. */
export async function withCpu<T>(agentPid: number, work: () => Promise<T>): Promise<WithCpu<T>> {
  const hubBefore = process.cpuUsage();
  const agentBefore = processCpuMs(agentPid);
  const result = await work();
  const hub = process.cpuUsage(hubBefore);
  return { result, hubCpuMs: (hub.user + hub.system) / 1000, agentCpuMs: processCpuMs(agentPid) - agentBefore };
}

/** Asks a raw byte server for `bytes` and reads them all; `caPem` makes it TLS. */
export function copyBytes(port: number, bytes: number, caPem?: string): Promise<Timed> {
  return new Promise((resolve, reject) => {
    let started = 0;
    let received = 0;
    const ask = (): void => {
      started = performance.now();
      socket.write(`${bytes}\n`);
    };
    const socket = caPem === undefined
      ? connectTcp({ host: '127.0.0.1', port }, ask)
      : connectTls({ host: '127.0.0.1', port, ca: caPem, servername: 'localhost' }, ask);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => { received += chunk.length; });
    socket.on('end', () => {
      const ms = performance.now() - started;
      socket.destroy();
      if (received === bytes) resolve({ ms, bytes });
      else reject(new Error(`copy on port ${port}: got ${received} of ${bytes} bytes`));
    });
    socket.on('error', reject);
  });
}

/** One GET, timed from the request to the last byte of the answer. */
export function get(request: Requester, path: string): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let bytes = 0;
    let status = 0;
    const stream = request({ ':method': 'GET', ':path': path });
    stream.on('response', (headers) => { status = Number(headers[':status']); });
    stream.on('data', (chunk: Buffer) => { bytes += chunk.length; });
    stream.on('end', () => {
      const ms = performance.now() - started;
      if (status === 200) resolve({ ms, bytes });
      else reject(new Error(`GET ${path}: HTTP ${status}`));
    });
    stream.on('error', reject);
  });
}

export function getBulk(request: Requester, bytes: number): Promise<Timed> {
  return get(request, `${BENCH_PATHS.bulk}?bytes=${bytes}`);
}

/** A stream downloading without end; `stop` cancels it and says how fast it went meanwhile. */
export interface Flood {
  stop(): Timed;
}

/** Starts a flood and resolves once it has moved `warmBytes` (so it is at full speed). */
export function startFlood(request: Requester, warmBytes = 16 * MIB): Promise<Flood> {
  return new Promise((resolve, reject) => {
    const stream = request({ ':method': 'GET', ':path': BENCH_PATHS.flood });
    let bytes = 0;
    let warm = false;
    let started = 0;
    stream.on('error', (error: Error & { code?: string }) => {
      if (!warm) reject(error);
    });
    stream.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (warm || bytes < warmBytes) return;
      warm = true;
      bytes = 0;
      started = performance.now();
      resolve({
        stop: () => {
          const ms = performance.now() - started;
          stream.close(http2.constants.NGHTTP2_CANCEL);
          return { ms, bytes };
        },
      });
    });
  });
}

/** `count` small GETs one after another; the milliseconds of each. */
export async function sequentialSmall(request: Requester, count: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) times.push((await get(request, BENCH_PATHS.small)).ms);
  return times;
}

export interface Concurrent {
  /** Wall time of the whole batch. */
  ms: number;
  bytes: number;
  requests: number;
  /** Each request's time. */
  times: number[];
}

/** `streams` GETs of `bytes` each, all at once. */
export async function concurrentBulk(request: Requester, streams: number, bytes: number): Promise<Concurrent> {
  const started = performance.now();
  const results = await Promise.all(Array.from({ length: streams }, () => getBulk(request, bytes)));
  const ms = performance.now() - started;
  return { ms, bytes: results.reduce((sum, r) => sum + r.bytes, 0), requests: streams, times: results.map((r) => r.ms) };
}

/** `streams` workers, each making small GETs one after another, `total` in all. */
export async function concurrentSmall(request: Requester, streams: number, total: number): Promise<Concurrent> {
  const times: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: streams }, async () => {
    while (next < total) {
      next += 1;
      times.push((await get(request, BENCH_PATHS.small)).ms);
    }
  }));
  const ms = performance.now() - started;
  return { ms, bytes: 0, requests: times.length, times };
}
