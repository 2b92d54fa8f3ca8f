// A small client for the hub's JSON API, trusting the CA from the login.
import http from 'node:http';
import https from 'node:https';
import { UplinkError } from '../util/errors.ts';
import { readLimited } from '../util/read-limited.ts';
import type { CliConfig } from './cli-config.ts';

export const API_TIMEOUT_MS = 30_000;
const MAX_RESPONSE_BYTES = 32 * 1024 * 1024;

/** The hub answered with an error, or could not be reached (status 0). */
export class HubApiError extends UplinkError {
  readonly status: number;

  constructor(status: number, code: string, message: string, options?: ErrorOptions) {
    super(code, message, options);
    this.status = status;
  }
}

export class HubClient {
  private readonly config: CliConfig;

  constructor(config: CliConfig) {
    this.config = config;
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    // The hub may live under a path prefix behind a proxy; keep it.
    const url = new URL(`${this.config.hubUrl.replace(/\/+$/, '')}${path}`);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const transport = url.protocol === 'http:' ? http : https;
    const options: https.RequestOptions = {
      method,
      headers: {
        authorization: `Bearer ${this.config.token}`,
        accept: 'application/json',
        ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}),
      },
      signal: AbortSignal.timeout(API_TIMEOUT_MS),
      rejectUnauthorized: this.config.insecureSkipTlsVerify !== true,
      ...(this.config.caPem ? { ca: this.config.caPem } : {}),
    };
    const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = transport.request(url, options, (res) => {
        readLimited(res, MAX_RESPONSE_BYTES).then((text) => { resolve({ status: res.statusCode ?? 0, text }); }, reject);
      });
      req.on('error', reject);
      req.end(payload);
    }).catch((error: unknown) => {
      throw new HubApiError(0, 'HUB_UNREACHABLE', `cannot reach the hub at ${this.config.hubUrl}: ${(error as Error).message}`, { cause: error });
    });
    const parsed = text === '' ? undefined : safeJson(text);
    if (status < 200 || status > 299) {
      const error = (parsed as { error?: { code?: string; message?: string } } | undefined)?.error;
      throw new HubApiError(status, error?.code ?? 'HUB_ERROR', `the hub answered ${status}: ${error?.message ?? text.slice(0, 200)}`);
    }
    return parsed as T;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return { error: { message: text.slice(0, 200) } };
  }
}
