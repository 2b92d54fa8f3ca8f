// Server-sent events framing (the WHATWG `text/event-stream` format) for the
// live feed: one event per change, and comments to keep idle connections up.

/** Response headers of a feed. `x-accel-buffering` stops nginx-style proxies from holding events back. */
export const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  'x-accel-buffering': 'no',
} as const;

/** A comment line: clients ignore it, proxies and load balancers see traffic. */
export const SSE_KEEPALIVE = ': keepalive\n\n';

/**
 * One event: `event: <name>`, `data: <json>`, blank line. JSON.stringify
 * escapes CR and LF inside strings, so the data is always one line; the name
 * is stripped of them for the same reason (a line break would end the field).
 */
export function encodeSseEvent(name: string, data: unknown): string {
  return `event: ${name.replace(/[\r\n]/g, '')}\ndata: ${JSON.stringify(data)}\n\n`;
}
