import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EXEC_CHANNEL } from './exec-channels.ts';
import { ExecExitReader, MAX_EXIT_REASON_CHARS, MAX_EXIT_STATUS_BYTES, execExitReaderFor } from './exec-exit-reader.ts';

interface FrameSpec {
  opcode?: number;
  fin?: boolean;
  rsv?: number;
  /** Write the length in this form even when a shorter one would do. */
  form?: 'short' | '16' | '64';
  mask?: readonly [number, number, number, number];
}

/** One WebSocket frame as a server (or, masked, a client) writes it. */
function frame(payload: Uint8Array, spec: FrameSpec = {}): Buffer {
  const { opcode = 0x2, fin = true, rsv = 0, mask } = spec;
  const form = spec.form ?? (payload.length < 126 ? 'short' : payload.length < 65_536 ? '16' : '64');
  const head = [(fin ? 0x80 : 0) | (rsv << 4) | opcode];
  const maskBit = mask === undefined ? 0 : 0x80;
  if (form === 'short') head.push(maskBit | payload.length);
  else if (form === '16') head.push(maskBit | 126, payload.length >> 8, payload.length & 0xff);
  else {
    const length = Buffer.alloc(8);
    length.writeBigUInt64BE(BigInt(payload.length));
    head.push(maskBit | 127, ...length);
  }
  const body = Buffer.from(payload);
  if (mask !== undefined) {
    head.push(...mask);
    for (let i = 0; i < body.length; i++) body[i] = (body[i] ?? 0) ^ (mask[i % 4] ?? 0);
  }
  return Buffer.concat([Buffer.from(head), body]);
}

function message(channel: number, text: string | Uint8Array): Buffer {
  return Buffer.concat([Buffer.of(channel), typeof text === 'string' ? Buffer.from(text) : text]);
}

const SUCCESS = JSON.stringify({ metadata: {}, status: 'Success' });
const EXIT_2 = JSON.stringify({
  metadata: {}, status: 'Failure', message: 'command terminated with non-zero exit code: exit status 2', reason: 'NonZeroExitCode',
  details: { causes: [{ reason: 'ExitCode', message: '2' }] }, code: 500,
});
const INTERNAL = JSON.stringify({ metadata: {}, status: 'Failure', message: 'error executing command: exit status 3', reason: 'InternalError', code: 500 });

/** Feeds `bytes` to a new reader in the chunks `cuts` (offsets) make. */
function read(bytes: Buffer, cuts: number[] = [], options: { base64?: boolean } = {}): ExecExitReader {
  const reader = new ExecExitReader(options);
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    reader.push(bytes.subarray(from, cut));
    from = cut;
  }
  return reader;
}

/** A deterministic generator, so a failing case can be replayed. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state ^ (state >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return state / 0x1_0000_0000;
  };
}

describe('exec exit reader', () => {
  it('exec exit reader - Success after output is exit code 0; NonZeroExitCode gives its code', () => {
    const output = Buffer.concat([frame(message(EXEC_CHANNEL.stdout, '')), frame(message(EXEC_CHANNEL.stdout, 'hello\n')), frame(message(EXEC_CHANNEL.stderr, 'oops\n'))]);
    assert.deepEqual(read(Buffer.concat([output, frame(message(EXEC_CHANNEL.status, SUCCESS))])).exit, { exitCode: 0, reason: null });
    assert.deepEqual(read(Buffer.concat([output, frame(message(EXEC_CHANNEL.status, EXIT_2)), frame(Buffer.of(0x03, 0xe8), { opcode: 0x8 })])).exit, { exitCode: 2, reason: null });
  });

  it('exec exit reader - another failure has no code and keeps its reason and message, bounded', () => {
    assert.deepEqual(read(frame(message(EXEC_CHANNEL.status, INTERNAL))).exit, { exitCode: null, reason: 'InternalError: error executing command: exit status 3' });
    const long = JSON.stringify({ status: 'Failure', reason: 'InternalError', message: 'x'.repeat(2000) });
    const exit = read(frame(message(EXEC_CHANNEL.status, long))).exit;
    assert.equal(exit?.exitCode, null);
    assert.equal(exit.reason?.length, MAX_EXIT_REASON_CHARS);
    assert.deepEqual(read(frame(message(EXEC_CHANNEL.status, 'not json'))).exit, { exitCode: null, reason: 'the final status is not JSON' });
  });

  it('exec exit reader - the same exit whatever the chunks: every cut, and one byte at a time', () => {
    const stream = Buffer.concat([
      frame(message(EXEC_CHANNEL.stdout, 'a'.repeat(300))),
      frame(message(EXEC_CHANNEL.stdout, 'b'.repeat(70_000))),
      frame(message(EXEC_CHANNEL.stderr, 'c'), { form: '64' }),
      frame(message(EXEC_CHANNEL.status, EXIT_2), { form: '16' }),
    ]);
    for (let cut = 0; cut <= stream.length; cut += cut < 400 || cut > stream.length - 400 ? 1 : 997) {
      assert.deepEqual(read(stream, [cut]).exit, { exitCode: 2, reason: null }, `cut at ${cut}`);
    }
    assert.deepEqual(read(stream, Array.from({ length: stream.length }, (_, i) => i)).exit, { exitCode: 2, reason: null });
  });

  it('exec exit reader - a Status fragmented over continuation frames, with control frames between', () => {
    const status = message(EXEC_CHANNEL.status, EXIT_2);
    const stream = Buffer.concat([
      frame(new Uint8Array(0), { fin: false }), // a first fragment may be empty: the channel comes later
      frame(status.subarray(0, 1), { opcode: 0x0, fin: false }),
      frame(Buffer.from('ping'), { opcode: 0x9 }),
      frame(status.subarray(1, 40), { opcode: 0x0, fin: false }),
      frame(new Uint8Array(0), { opcode: 0xa }),
      frame(status.subarray(40), { opcode: 0x0 }),
    ]);
    assert.deepEqual(read(stream, [3, 9, 50]).exit, { exitCode: 2, reason: null });
  });

  it('exec exit reader - masked frames are unmasked (a server should not mask; it is read anyway)', () => {
    const status = message(EXEC_CHANNEL.status, SUCCESS);
    const stream = Buffer.concat([
      frame(message(EXEC_CHANNEL.stdout, 'x'.repeat(200)), { mask: [1, 2, 3, 4] }),
      frame(status.subarray(0, 5), { mask: [0xde, 0xad, 0xbe, 0xef], fin: false }),
      frame(status.subarray(5), { mask: [9, 8, 7, 6], opcode: 0x0 }),
    ]);
    assert.deepEqual(read(stream, [100, 215, 220]).exit, { exitCode: 0, reason: null });
  });

  it('exec exit reader - an empty error-channel message (the API server\'s "open" signal) is not the Status', () => {
    const stream = Buffer.concat([frame(Buffer.of(EXEC_CHANNEL.status)), frame(message(EXEC_CHANNEL.stdout, 'hi')), frame(message(EXEC_CHANNEL.status, SUCCESS))]);
    assert.deepEqual(read(stream).exit, { exitCode: 0, reason: null });
  });

  it('exec exit reader - a Status over the bound is reported as such, not kept', () => {
    const big = JSON.stringify({ status: 'Failure', reason: 'InternalError', message: 'y'.repeat(MAX_EXIT_STATUS_BYTES) });
    assert.match(read(frame(message(EXEC_CHANNEL.status, big))).exit?.reason ?? '', /larger than 4096 bytes/);
  });

  it('exec exit reader - the first Status is final; bytes after it are not read', () => {
    const stream = Buffer.concat([frame(message(EXEC_CHANNEL.status, EXIT_2)), Buffer.from('garbage after the end'), frame(message(EXEC_CHANNEL.status, SUCCESS))]);
    const reader = read(stream);
    assert.deepEqual(reader.exit, { exitCode: 2, reason: null });
    assert.equal(reader.unreadable, undefined);
  });

  it('exec exit reader - base64 text frames (v4.base64.channel.k8s.io)', () => {
    const encoded = Buffer.from(`3${Buffer.from(EXIT_2).toString('base64')}`);
    const stream = Buffer.concat([frame(Buffer.from(`1${Buffer.from('out').toString('base64')}`), { opcode: 0x1 }), frame(encoded, { opcode: 0x1 })]);
    assert.deepEqual(read(stream, [], { base64: true }).exit, { exitCode: 2, reason: null });
    assert.deepEqual(read(frame(Buffer.from('3!!!!'), { opcode: 0x1 }), [], { base64: true }).exit, { exitCode: null, reason: 'the final status is not base64' });
  });

  it('exec exit reader - what breaks the framing stops the reading, with why', () => {
    const cases: [string, Buffer, RegExp][] = [
      ['a reserved opcode', frame(Buffer.of(1), { opcode: 0x3 }), /reserved opcode 3/],
      ['a reserved control opcode', frame(Buffer.of(1), { opcode: 0xb }), /reserved opcode 11/],
      ['an extension bit', frame(message(EXEC_CHANNEL.status, SUCCESS), { rsv: 4 }), /extension/],
      ['a continuation without a start', frame(Buffer.of(1), { opcode: 0x0 }), /continuation/],
      ['a data frame inside a fragmented message', Buffer.concat([frame(Buffer.of(1), { fin: false }), frame(Buffer.of(1))]), /interrupts/],
      ['a fragmented control frame', frame(Buffer.of(1), { opcode: 0x9, fin: false }), /control frame/],
      ['a long control frame', frame(Buffer.alloc(126), { opcode: 0x9 }), /control frame/],
      ['a 64-bit length past 2^53', Buffer.from([0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 1]), /2\^53/],
    ];
    for (const [name, bytes, why] of cases) {
      const reader = read(Buffer.concat([bytes, frame(message(EXEC_CHANNEL.status, SUCCESS))]));
      assert.equal(reader.exit, undefined, name);
      assert.match(reader.unreadable ?? '', why, name);
    }
  });

  it('exec exit reader - garbage never throws, never changes the bytes, and keeps nothing unbounded', () => {
    const random = prng(21);
    for (let round = 0; round < 2000; round++) {
      const bytes = Buffer.from(Array.from({ length: Math.floor(random() * 600) }, () => Math.floor(random() * 256)));
      // Status-channel bytes are likelier in garbage that starts like frames.
      if (round % 2 === 0 && bytes.length > 2) bytes[0] = 0x82;
      const copy = Buffer.from(bytes);
      const cuts = [Math.floor(random() * bytes.length), Math.floor(random() * bytes.length)].sort((a, b) => a - b);
      const reader = read(bytes, cuts);
      assert.deepEqual(bytes, copy, `round ${round}: the bytes are left as they were`);
      const { exit } = reader;
      if (exit !== undefined) assert.ok(exit.reason === null || exit.reason.length <= MAX_EXIT_REASON_CHARS, `round ${round}`);
    }
  });

  it('exec exit reader - only the v4 and v5 channel protocols carry a readable Status', () => {
    assert.ok(execExitReaderFor('v5.channel.k8s.io') instanceof ExecExitReader);
    assert.ok(execExitReaderFor('v4.channel.k8s.io') instanceof ExecExitReader);
    const base64 = execExitReaderFor('v4.base64.channel.k8s.io');
    base64?.push(frame(Buffer.from(`3${Buffer.from(SUCCESS).toString('base64')}`), { opcode: 0x1 }));
    assert.deepEqual(base64?.exit, { exitCode: 0, reason: null });
    for (const other of [undefined, '', 'channel.k8s.io', 'v3.channel.k8s.io', 'SPDY/3.1', 'portforward.k8s.io']) assert.equal(execExitReaderFor(other), undefined, String(other));
  });
});
