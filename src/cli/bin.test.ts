import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { runProcess } from '../util/run-process.ts';

const BIN = resolve(import.meta.dirname, '../../bin/uplink');

describe('bin/uplink', () => {
  it('bin - runs on Node 24 even when the first node on PATH is older', async () => {
    // /usr/bin first: on this machine that is the system node 20.
    const env = { ...process.env, PATH: `/usr/bin:/bin:${process.env.PATH ?? ''}` };
    const result = await runProcess(BIN, ['version', '-o', 'json'], { env });
    assert.equal(result.code, 0, result.stderr);
    const info = JSON.parse(result.stdout) as { uplink: string; node: string };
    assert.ok(Number(info.node.split('.')[0]) >= 24, `ran on node ${info.node}`);
    assert.match(info.uplink, /^\d+\.\d+\.\d+/);
  });

  it('bin - --help lists the commands', async () => {
    const result = await runProcess(BIN, ['--help']);
    assert.equal(result.code, 0);
    assert.match(result.stdout, /Usage: uplink/);
    assert.match(result.stdout, /version/);
  });

  it('bin - rejects an unknown output format with a message naming it', async () => {
    const result = await runProcess(BIN, ['version', '-o', 'yaml']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /--output must be text or json, got 'yaml'/);
  });

  it('bin - rejects an unknown command', async () => {
    const result = await runProcess(BIN, ['frobnicate']);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /unknown command 'frobnicate'/);
  });
});
