// The cluster's egress IP address for the heartbeat (`egressIp`), asked of a
// public echo service that answers with the caller's address as plain text
// (checkip.amazonaws.com by default). Only built when --report-public-ip is
// on, so an agent left at the default sends no such request at all. The
// lookup runs in the background, at most once per interval, failures
// included: a slow or unreachable service never delays a heartbeat and is
// never hammered, and a failure only leaves the address absent.
import { isIP } from 'node:net';
import { Readable } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { UplinkError } from '../util/errors.ts';
import type { Logger } from '../util/logger.ts';
import { readLimited } from '../util/read-limited.ts';

/** How long one lookup may take, answer included. */
export const PUBLIC_IP_TIMEOUT_MS = 5_000;
/** Egress addresses rarely change; one request per agent per 10 minutes is plenty. */
export const PUBLIC_IP_LOOKUP_INTERVAL_MS = 10 * 60_000;
/** An IPv6 address is at most 45 characters; a longer answer is not an address. */
const MAX_ANSWER_BYTES = 256;

/** A lookup failed: no answer in time, an error status, or an answer that is not an address. */
export class PublicIpError extends UplinkError {
  constructor(message: string, options?: ErrorOptions) {
    super('PUBLIC_IP_LOOKUP_FAILED', message, options);
  }
}

/**
 * Asks `url` for the caller's address once; resolves with it (IPv4 or IPv6,
 * whitespace trimmed) or throws PublicIpError.
 */
export async function fetchPublicIp(url: string, signal: AbortSignal): Promise<string> {
  let text: string;
  try {
    const response = await fetch(url, { signal, headers: { accept: 'text/plain' } });
    if (!response.ok || response.body === null) {
      await response.body?.cancel();
      throw new PublicIpError(`${url} answered HTTP ${response.status}`);
    }
    text = (await readLimited(Readable.fromWeb(response.body as NodeReadableStream<Uint8Array>), MAX_ANSWER_BYTES)).trim();
  } catch (error) {
    if (error instanceof PublicIpError) throw error;
    const reason = signal.aborted ? 'no answer in time' : (error as Error).message;
    throw new PublicIpError(`could not ask ${url} for the egress IP address: ${reason}`, { cause: error });
  }
  if (isIP(text) === 0) throw new PublicIpError(`${url} answered ${JSON.stringify(text.slice(0, 64))}, not an IP address`);
  return text;
}

export interface PublicIpLookupOptions {
  url: string;
  log: Logger;
  timeoutMs?: number;
  intervalMs?: number;
  now?: () => number;
}

/** The lookup the settings ask for: none when --report-public-ip is off, so no request is ever made. */
export function publicIpLookupFor(settings: { reportPublicIp: boolean; publicIpUrl: string }, log: Logger): PublicIpLookup | undefined {
  return settings.reportPublicIp ? new PublicIpLookup({ url: settings.publicIpUrl, log }) : undefined;
}

/** The egress address, refreshed in the background; see the file comment. */
export class PublicIpLookup {
  private readonly options: PublicIpLookupOptions;
  private readonly now: () => number;
  private readonly stopping = new AbortController();
  private address: string | undefined;
  private lastLookupAt = Number.NEGATIVE_INFINITY;
  private inFlight: Promise<void> | undefined;

  constructor(options: PublicIpLookupOptions) {
    this.options = options;
    this.now = options.now ?? Date.now;
  }

  /**
   * The address of the last lookup: undefined before its answer and after a
   * failed one. Starts a lookup when none ran within the interval.
   */
  current(): string | undefined {
    const due = this.now() - this.lastLookupAt >= (this.options.intervalMs ?? PUBLIC_IP_LOOKUP_INTERVAL_MS);
    if (due && this.inFlight === undefined && !this.stopping.signal.aborted) {
      this.lastLookupAt = this.now();
      this.inFlight = this.lookUp().finally(() => { this.inFlight = undefined; });
    }
    return this.address;
  }

  /** Resolves once no lookup is in flight. */
  async settled(): Promise<void> {
    await this.inFlight;
  }

  /** Cancels a lookup in flight and starts no more. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.inFlight;
  }

  private async lookUp(): Promise<void> {
    const { url, log } = this.options;
    const signal = AbortSignal.any([this.stopping.signal, AbortSignal.timeout(this.options.timeoutMs ?? PUBLIC_IP_TIMEOUT_MS)]);
    try {
      const address = await fetchPublicIp(url, signal);
      if (address !== this.address) log.debug({ egressIp: address }, 'looked up the egress IP address');
      this.address = address;
    } catch (error) {
      this.address = undefined;
      log.debug({ err: error }, 'could not look up the egress IP address; the heartbeat reports none until the next try');
    }
  }
}
