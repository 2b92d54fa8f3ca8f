// The network work of the connectivity check (connectivity.ts shapes and
// bounds it): resolve the hub's host, open TCP to it, shake hands with TLS,
// check the hub's certificate against what the agent trusts it by (the pin,
// the CA file, or the system CAs), and ask the API server for /version.
import { lookup } from 'node:dns/promises';
import { readFile } from 'node:fs/promises';
import { isIP, connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls, type TLSSocket } from 'node:tls';
import { fetchPinnedCa } from '../../link/ca-pin.ts';
import { caHashOf, parseCaHash } from '../../link/tls.ts';
import type { KubeClient } from '../kube.ts';
import {
  CONNECTIVITY_STEP_TIMEOUT_MS, connectivityReport, skippedStep, timedStep, type ConnectivityReport, type ConnectivityStep, type StepOutcome,
} from './connectivity.ts';

/** How the agent trusts the hub, from its settings. */
export type HubTrust = { mode: 'pin'; caHash: string } | { mode: 'caFile'; file: string } | { mode: 'insecure' } | { mode: 'system' };

export interface ConnectivityTarget {
  hubUrl: string;
  trust: HubTrust;
  kube: Pick<KubeClient, 'request'>;
  timeoutMs?: number;
}

/** Addresses shown in a report at most. */
const MAX_ADDRESSES_SHOWN = 4;

interface HubEndpoint {
  host: string;
  port: number;
  tls: boolean;
}

function hubEndpoint(hubUrl: string): HubEndpoint {
  const url = new URL(hubUrl);
  const tls = url.protocol === 'https:' || url.protocol === 'wss:';
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return { host, port: url.port === '' ? (tls ? 443 : 80) : Number(url.port), tls };
}

function connectOnce(address: string, port: number, signal: AbortSignal): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connectTcp({ host: address, port });
    const onAbort = (): void => { socket.destroy(); };
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => {
      signal.removeEventListener('abort', onAbort);
      resolve(socket);
    });
    socket.once('error', (error) => {
      signal.removeEventListener('abort', onAbort);
      reject(error);
    });
  });
}

/** The TLS handshake on `socket`, verifying against `ca` (the system CAs when absent) but not refusing: the caller reads `authorized`. */
function handshake(socket: Socket, host: string, ca: string | undefined, signal: AbortSignal): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const tls = connectTls({
      socket, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'],
      ...(isIP(host) === 0 ? { servername: host } : {}), ...(ca === undefined ? {} : { ca }),
    });
    const onAbort = (): void => { tls.destroy(); };
    signal.addEventListener('abort', onAbort, { once: true });
    tls.once('secureConnect', () => {
      signal.removeEventListener('abort', onAbort);
      resolve(tls);
    });
    tls.once('error', (error: Error) => {
      signal.removeEventListener('abort', onAbort);
      reject(error);
    });
  });
}

function certificateSummary(tls: TLSSocket): string {
  const peer = tls.getPeerX509Certificate();
  const name = (dn: string | undefined): string => (dn ?? '').replaceAll('\n', ', ');
  return `${tls.getProtocol() ?? 'TLS'}; certificate ${peer ? `subject ${name(peer.subject)}, issuer ${name(peer.issuer)}, valid to ${peer.validTo}` : 'none'}`;
}

/** The pin of a CA for a report; a file that holds no certificate says so instead of failing the check. */
function pinOf(ca: string): string {
  try {
    return caHashOf(ca);
  } catch {
    return 'no certificate in the file';
  }
}

/**
 * The pin step: the hub's certificate against what the agent trusts. `tls`
 * is the handshake verified against `ca` (the CA file's contents) or the
 * system CAs.
 */
async function trustStep(options: { target: ConnectivityTarget; tls: TLSSocket; ca: string | undefined; timeoutMs: number }): Promise<StepOutcome> {
  const { target: { trust, hubUrl }, tls, ca, timeoutMs } = options;
  if (trust.mode === 'insecure') return { skipped: 'the hub certificate is not verified (--insecure-skip-tls-verify)' };
  if (trust.mode === 'pin') {
    const pin = parseCaHash(trust.caHash);
    try {
      await fetchPinnedCa({ url: hubUrl, caHash: pin, timeoutMs });
    } catch (error) {
      // fetchPinnedCa's message says what was seen; the expected pin leads, so a reader sees both at once.
      throw new Error(`expected pin ${pin}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    return { detail: `the CA the hub serves matches the pin ${pin} and issued the hub's certificate`, expected: pin };
  }
  if (trust.mode === 'caFile' && ca === undefined) throw new Error(`cannot read the CA file ${trust.file}`);
  const authorizationError = tls.authorizationError as Error | string | null | undefined;
  const what = trust.mode === 'caFile' ? `the CA in ${trust.file}` : 'the system CAs';
  if (!tls.authorized) throw new Error(`the hub's certificate is not trusted by ${what}: ${String(authorizationError ?? 'unknown reason')}`);
  return { detail: `the hub's certificate is trusted by ${what}${ca === undefined ? '' : ` (CA ${pinOf(ca)})`}` };
}

interface HubPath {
  target: ConnectivityTarget;
  hub: HubEndpoint;
  timeoutMs: number;
  /** The pin step's `expected`, when the agent trusts the hub by a pin. */
  expected: { expected?: string };
}

/** TLS and pin over an open TCP connection; the TLS socket is closed before it returns. */
async function secureSteps(path: HubPath, socket: Socket): Promise<ConnectivityStep[]> {
  const { target, hub, timeoutMs, expected } = path;
  const ca = target.trust.mode === 'caFile' ? await readFile(target.trust.file, 'utf8').catch(() => undefined) : undefined;
  let tls: TLSSocket | undefined;
  try {
    const handshakeStep = await timedStep('tls', async (signal) => {
      tls = await handshake(socket, hub.host, ca, signal);
      return { detail: certificateSummary(tls) };
    }, { timeoutMs });
    const secured = tls;
    const pinStep = secured
      ? await timedStep('pin', () => trustStep({ target, tls: secured, ca, timeoutMs }), { timeoutMs, ...expected })
      : { ...skippedStep('pin', 'no TLS handshake'), ...expected };
    return [handshakeStep, pinStep];
  } finally {
    tls?.destroy();
  }
}

/** DNS and TCP, then TLS and pin; steps after one that failed are skipped. */
async function hubSteps(path: HubPath): Promise<ConnectivityStep[]> {
  const { hub, timeoutMs, expected } = path;
  const pinSkipped = (why: string): ConnectivityStep => ({ ...skippedStep('pin', why), ...expected });
  let addresses: string[] = [];
  const dns = await timedStep('dns', async () => {
    addresses = (await lookup(hub.host, { all: true })).map((entry) => entry.address);
    return { detail: `${hub.host}: ${addresses.slice(0, MAX_ADDRESSES_SHOWN).join(', ')}${addresses.length > MAX_ADDRESSES_SHOWN ? ', ...' : ''}` };
  }, { timeoutMs });
  const [address] = addresses;
  if (address === undefined) return [dns, skippedStep('tcp', 'no address'), skippedStep('tls', 'no address'), pinSkipped('no address')];
  let socket: Socket | undefined;
  try {
    const tcp = await timedStep('tcp', async (signal) => {
      socket = await connectOnce(address, hub.port, signal);
      return { detail: `connected to ${address}:${hub.port}` };
    }, { timeoutMs });
    const open = socket;
    if (!hub.tls) return [dns, tcp, skippedStep('tls', 'the hub URL is plain http'), pinSkipped('the hub URL is plain http')];
    if (!open) return [dns, tcp, skippedStep('tls', 'no TCP connection'), pinSkipped('no TCP connection')];
    return [dns, tcp, ...await secureSteps(path, open)];
  } finally {
    socket?.destroy();
  }
}

/** GET /version through the agent's own client. */
function apiServerStep(target: ConnectivityTarget, timeoutMs: number): Promise<ConnectivityStep> {
  return timedStep('apiServer', async () => {
    const response = await target.kube.request<{ gitVersion?: unknown } | undefined>('GET', '/version', undefined, timeoutMs);
    if (response.status < 200 || response.status > 299) throw new Error(`GET /version answered HTTP ${response.status}`);
    const version = typeof response.body?.gitVersion === 'string' ? response.body.gitVersion.slice(0, 64) : 'unknown';
    return { detail: `GET /version: ${version}` };
  }, { timeoutMs });
}

/** Runs every step once, each bounded by the timeout; see hubSteps for what is skipped. */
export async function runConnectivityCheck(target: ConnectivityTarget): Promise<ConnectivityReport> {
  const timeoutMs = target.timeoutMs ?? CONNECTIVITY_STEP_TIMEOUT_MS;
  const startedAt = Date.now();
  const hub = hubEndpoint(target.hubUrl);
  const expected = target.trust.mode === 'pin' ? { expected: target.trust.caHash.toLowerCase() } : {};
  const steps = [...await hubSteps({ target, hub, timeoutMs, expected }), await apiServerStep(target, timeoutMs)];
  return connectivityReport({ hub: { host: hub.host, port: hub.port }, steps, checkedAt: startedAt });
}
