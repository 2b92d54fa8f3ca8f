import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { runProcess } from '../util/run-process.ts';

const BIN = resolve(import.meta.dirname, '../../bin/uplink');

describe('bin/uplink', () => {
  it('bin - runs on Node 24 even when the first node on PATH is older', async (t) => {
    // The first `node` on PATH is an older one on every machine: a stand-in
    // that reports major version 20, as a system Node 20 would, and runs nothing.
    const dir = await mkdtemp(join(tmpdir(), 'uplink-old-node-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    await writeFile(join(dir, 'node'), '#!/bin/sh\ncase "$1" in -p) echo 20 ;; *) echo "an old node cannot run this" >&2; exit 1 ;; esac\n', { mode: 0o755 });
    const env = { ...process.env, PATH: `${dir}:/usr/bin:/bin:${process.env.PATH ?? ''}` };
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
