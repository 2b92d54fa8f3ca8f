// How the forward route refuses an upgrade: an HTTP/1.1 answer on the raw
// socket with the hub's usual body, `{ error: { code, message } }`, and the
// code's status from the catalogue; then the connection closes.
import http from 'node:http';
import { statusOf, type ErrorCode } from '../../domain/error-codes.ts';
import { agentCode } from '../errors.ts';

/** The full HTTP/1.1 answer refusing an upgrade with `code`. */
export function upgradeRefusal(code: ErrorCode, message: string, headers: Record<string, string> = {}): string {
  const status = statusOf(code);
  const body = JSON.stringify({ error: { code, message } });
  const lines = [`HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? 'Error'}`, 'content-type: application/json', `content-length: ${Buffer.byteLength(body)}`, 'connection: close'];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

/**
 * The agent's refusal passed on: its code when the catalogue knows it, else
 * AGENT_ERROR, and its message when it has one, so a body the agent got
 * wrong never reaches the client as is.
 */
export function relayedRefusal(body: string): string {
  let parsed: { error?: { code?: unknown; message?: unknown } } | undefined;
  try {
    parsed = JSON.parse(body) as typeof parsed;
  } catch {
    parsed = undefined;
  }
  const message = typeof parsed?.error?.message === 'string' ? parsed.error.message.slice(0, 1000) : 'the agent refused the forward without saying why';
  return upgradeRefusal(agentCode(parsed?.error?.code), message);
}
