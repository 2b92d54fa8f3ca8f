// Helpers for the authorization tests: hub API calls as a given user (not
// only the admin), and the token inside a CLI login file.
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import type { HubHandle } from './uplink.ts';

export interface ApiAnswer {
  status: number;
  body: string;
}

function hubCa(hub: HubHandle): string {
  return readFileSync(join(hub.dataDir, 'tls', 'ca.crt'), 'utf8');
}

/** The API token a CLI login file holds. */
export function tokenOf(cliConfig: string): string {
  return (JSON.parse(readFileSync(cliConfig, 'utf8')) as { token: string }).token;
}

/** One request to the hub API with a token; never throws on a status. */
export function apiAs(hub: HubHandle, token: string, method: string, path: string, body?: unknown): Promise<ApiAnswer> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = https.request(`${hub.url}${path}`, {
      method, ca: hubCa(hub), agent: false,
      headers: { authorization: `Bearer ${token}`, ...(payload === undefined ? {} : { 'content-type': 'application/json' }) },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => { text += chunk; });
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body: text }); });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/**
 * A long-lived GET (an event feed, a followed log) as a user: collects what
 * arrives and notes how it ended.
 */
export class OpenStream {
  status = 0;
  text = '';
  ended = false;
  private readonly req: ReturnType<typeof https.get>;

  constructor(hub: HubHandle, token: string, path: string) {
    this.req = https.get(`${hub.url}${path}`, { ca: hubCa(hub), agent: false, headers: { authorization: `Bearer ${token}` } }, (res) => {
      this.status = res.statusCode ?? 0;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => { this.text += chunk; });
      res.on('end', () => { this.ended = true; });
      res.on('error', () => { this.ended = true; });
      res.on('close', () => { this.ended = true; });
    });
    this.req.on('error', () => { this.ended = true; });
  }

  close(): void {
    this.req.destroy();
  }
}
