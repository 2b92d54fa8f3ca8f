import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EXEC_SUBPROTOCOLS, MAX_STATUS_BYTES, decodeExecMessage, encodeCloseStdin, encodeResize, encodeStdin, exitOfStatus } from './exec-channels.ts';

const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values);
const text = (value: string): Uint8Array => new TextEncoder().encode(value);
const status = (body: unknown): Uint8Array => Uint8Array.from([3, ...text(JSON.stringify(body))]);

describe('exec channels', () => {
  it('exec channels - offers v5 before v4', () => {
    assert.deepEqual(EXEC_SUBPROTOCOLS, ['v5.channel.k8s.io', 'v4.channel.k8s.io']);
  });

  it('exec channels - stdin is channel 0 with the UTF-8 bytes of the input', () => {
    assert.deepEqual(encodeStdin('ls\r'), bytes(0, 0x6c, 0x73, 0x0d));
    assert.deepEqual(encodeStdin('é'), bytes(0, 0xc3, 0xa9));
    assert.deepEqual(encodeStdin(bytes(1, 2)), bytes(0, 1, 2));
    assert.deepEqual(encodeStdin(''), bytes(0));
  });

  it('exec channels - resize is channel 4 with the TerminalSize JSON, clamped to whole cells', () => {
    assert.deepEqual(encodeResize({ columns: 91, rows: 27 }), Uint8Array.from([4, ...text('{"Width":91,"Height":27}')]));
    assert.deepEqual(encodeResize({ columns: 0, rows: 1e9 }), Uint8Array.from([4, ...text('{"Width":1,"Height":65535}')]));
    assert.deepEqual(encodeResize({ columns: 80.7, rows: -3 }), Uint8Array.from([4, ...text('{"Width":80,"Height":1}')]));
  });

  it('exec channels - closing stdin is channel 255 naming channel 0', () => {
    assert.deepEqual(encodeCloseStdin(), bytes(255, 0));
  });

  it('exec channels - stdout and stderr carry their bytes', () => {
    assert.deepEqual(decodeExecMessage(bytes(1, 104, 105)), { kind: 'output', stream: 'stdout', data: bytes(104, 105) });
    assert.deepEqual(decodeExecMessage(bytes(2, 33)), { kind: 'output', stream: 'stderr', data: bytes(33) });
    assert.deepEqual(decodeExecMessage(bytes(1)), { kind: 'output', stream: 'stdout', data: bytes() });
  });

  it('exec channels - empty messages and other channels are ignored', () => {
    assert.deepEqual(decodeExecMessage(bytes()), { kind: 'ignored' });
    for (const channel of [0, 4, 5, 254, 255]) assert.deepEqual(decodeExecMessage(bytes(channel, 1)), { kind: 'ignored' }, `channel ${channel}`);
  });

  it('exec channels - a Success status is exit code 0', () => {
    assert.deepEqual(decodeExecMessage(status({ metadata: {}, status: 'Success' })), { kind: 'exit', exitCode: 0, reason: null, message: 'exited with code 0' });
  });

  it('exec channels - a NonZeroExitCode status gives the ExitCode cause', () => {
    const failure = {
      metadata: {}, status: 'Failure', message: 'command terminated with non-zero exit code: exit status 42', reason: 'NonZeroExitCode',
      details: { causes: [{ reason: 'ExitCode', message: '42' }] },
    };
    assert.deepEqual(decodeExecMessage(status(failure)), { kind: 'exit', exitCode: 42, reason: 'NonZeroExitCode', message: failure.message });
  });

  it('exec channels - a failure without an exit code has none, and keeps its message', () => {
    const error = { status: 'Failure', message: 'container nope not found', reason: 'InternalError' };
    assert.deepEqual(exitOfStatus(text(JSON.stringify(error))), { exitCode: null, reason: 'InternalError', message: 'container nope not found' });
    const odd = { status: 'Failure', reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: 'many' }, null] } };
    assert.deepEqual(exitOfStatus(text(JSON.stringify(odd))), { exitCode: null, reason: 'NonZeroExitCode', message: 'the command failed' });
    const notList = { status: 'Failure', reason: 'NonZeroExitCode', details: { causes: 'ExitCode' } };
    assert.equal(exitOfStatus(text(JSON.stringify(notList))).exitCode, null);
  });

  it('exec channels - a status that is not JSON, not an object or too large is read as an exit without a code', () => {
    assert.deepEqual(exitOfStatus(text('{')), { exitCode: null, reason: null, message: 'the final status is not JSON' });
    assert.deepEqual(exitOfStatus(text('null')), { exitCode: null, reason: null, message: 'the final status is not JSON' });
    assert.deepEqual(exitOfStatus(bytes(0xff, 0xfe)), { exitCode: null, reason: null, message: 'the final status is not JSON' });
    assert.match(exitOfStatus(new Uint8Array(MAX_STATUS_BYTES + 1)).message, /larger than/);
  });
});
