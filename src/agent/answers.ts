// How the agent answers a link request with an error: `{ error: { code,
// message } }` and the code's status, both from the catalogue
// (src/domain/error-codes.ts), on every route.
import type { Http2ServerResponse } from 'node:http2';
import { statusOf, type ErrorCode } from '../domain/error-codes.ts';

/** Answers the error, or ends the answer when one has begun. */
export function sendError(res: Http2ServerResponse, code: ErrorCode, message: string, extra: object = {}): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(statusOf(code), { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code, message }, ...extra }));
}
