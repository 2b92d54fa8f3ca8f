// The channel protocol of `exec` over WebSocket (v4.channel.k8s.io and
// v5.channel.k8s.io), as the API server speaks it: every binary message
// starts with one byte naming its channel. Pure, with no Node or DOM types,
// so the dashboard's terminal and tests share it.

/** The subprotocols a client offers, best first. v5 adds the close channel (stdin's end). */
export const EXEC_SUBPROTOCOLS: readonly string[] = ['v5.channel.k8s.io', 'v4.channel.k8s.io'];

/** Channel numbers: 0 stdin, 1 stdout, 2 stderr, 3 the final Status, 4 terminal resize, 255 (v5) close a channel. */
export const EXEC_CHANNEL = { stdin: 0, stdout: 1, stderr: 2, status: 3, resize: 4, close: 255 } as const;

/** Largest Status message read; the API server's are a few hundred bytes. */
export const MAX_STATUS_BYTES = 64 * 1024;

/** A message from the API server, read. */
export type ExecMessage =
  | { kind: 'output'; stream: 'stdout' | 'stderr'; data: Uint8Array }
  /** The command ended: its exit code (0 on Success), or null when the Status gives none (an error), and why. */
  | { kind: 'exit'; exitCode: number | null; reason: string | null; message: string }
  /** A message this client has no use for (an empty one, a channel it never asked for). */
  | { kind: 'ignored' };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function framed(channel: number, payload: Uint8Array): Uint8Array<ArrayBuffer> {
  const frame = new Uint8Array(payload.length + 1);
  frame[0] = channel;
  frame.set(payload, 1);
  return frame;
}

/** A stdin message carrying `input` (text is sent as UTF-8). */
export function encodeStdin(input: string | Uint8Array): Uint8Array<ArrayBuffer> {
  return framed(EXEC_CHANNEL.stdin, typeof input === 'string' ? encoder.encode(input) : input);
}

/** A resize message: the terminal's size in character cells, as the API server's TerminalSize JSON. */
export function encodeResize(size: { columns: number; rows: number }): Uint8Array<ArrayBuffer> {
  const cells = (n: number): number => Math.max(1, Math.min(65_535, Math.trunc(n)));
  return framed(EXEC_CHANNEL.resize, encoder.encode(JSON.stringify({ Width: cells(size.columns), Height: cells(size.rows) })));
}

/** v5 only: the message that closes stdin, so a command reading it sees its end. */
export function encodeCloseStdin(): Uint8Array<ArrayBuffer> {
  return Uint8Array.of(EXEC_CHANNEL.close, EXEC_CHANNEL.stdin);
}

/** Reads one binary message from the API server. Never throws: what cannot be read is reported as an exit without a code. */
export function decodeExecMessage(message: Uint8Array): ExecMessage {
  if (message.length === 0) return { kind: 'ignored' };
  const payload = message.subarray(1);
  switch (message[0]) {
    case EXEC_CHANNEL.stdout: return { kind: 'output', stream: 'stdout', data: payload };
    case EXEC_CHANNEL.stderr: return { kind: 'output', stream: 'stderr', data: payload };
    case EXEC_CHANNEL.status: return { kind: 'exit', ...exitOfStatus(payload) };
    default: return { kind: 'ignored' };
  }
}

interface StatusShape {
  status?: unknown;
  message?: unknown;
  reason?: unknown;
  details?: { causes?: unknown };
}

/**
 * The exit code in the API server's final Status: 0 for `Success`; for
 * `NonZeroExitCode`, the `ExitCode` cause's message (a decimal number);
 * otherwise null with the Status's message (the command could not run).
 * `reason` is the Status's reason, when it has one.
 */
export function exitOfStatus(payload: Uint8Array): { exitCode: number | null; reason: string | null; message: string } {
  if (payload.length > MAX_STATUS_BYTES) return { exitCode: null, reason: null, message: `the final status is larger than ${MAX_STATUS_BYTES} bytes` };
  let status: StatusShape;
  try {
    const parsed: unknown = JSON.parse(decoder.decode(payload));
    if (typeof parsed !== 'object' || parsed === null) throw new Error('not an object');
    status = parsed;
  } catch {
    return { exitCode: null, reason: null, message: 'the final status is not JSON' };
  }
  if (status.status === 'Success') return { exitCode: 0, reason: null, message: 'exited with code 0' };
  const reason = typeof status.reason === 'string' && status.reason !== '' ? status.reason : null;
  const message = typeof status.message === 'string' ? status.message : 'the command failed';
  const causes: unknown[] = Array.isArray(status.details?.causes) ? status.details.causes : [];
  const cause = causes.find((c): c is { message?: unknown } => typeof c === 'object' && c !== null && (c as { reason?: unknown }).reason === 'ExitCode');
  if (status.reason === 'NonZeroExitCode' && typeof cause?.message === 'string' && /^\d{1,3}$/.test(cause.message)) {
    return { exitCode: Number(cause.message), reason, message };
  }
  return { exitCode: null, reason, message };
}
