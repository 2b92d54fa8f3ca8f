import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { deathSignalWrapper, ProcessExitError, ProcessStartError, runChecked, runProcess } from './run-process.ts';

describe('runProcess', () => {
  it('run-process - collects stdout and the exit code', async () => {
    const result = await runProcess('sh', ['-c', 'echo out; echo err >&2; exit 3']);
    assert.equal(result.code, 3);
    assert.equal(result.stdout, 'out\n');
    assert.equal(result.stderr, 'err\n');
    assert.equal(result.timedOut, false);
  });

  it('run-process - writes input to stdin and closes it', async () => {
    const result = await runProcess('cat', [], { input: 'line one\nline two\n' });
    assert.equal(result.stdout, 'line one\nline two\n');
  });

  it('run-process - kills a child that overruns its timeout', async () => {
    const result = await runProcess('sleep', ['30'], { timeoutMs: 100 });
    assert.equal(result.timedOut, true);
    assert.equal(result.signal, 'SIGTERM');
  });

  it('run-process - keeps at most maxOutputBytes and says so', async () => {
    const result = await runProcess('sh', ['-c', 'head -c 10000 /dev/zero'], { maxOutputBytes: 1000 });
    assert.equal(result.stdout.length, 1000);
    assert.equal(result.truncated, true);
  });

  it('run-process - rejects with a start error for a missing program', async () => {
    await assert.rejects(runProcess('/nonexistent/uplink-no-such-program', []), (error: unknown) => {
      assert.ok(error instanceof ProcessStartError);
      assert.equal(error.code, 'PROCESS_START_FAILED');
      assert.match(error.message, /uplink-no-such-program/);
      return true;
    });
  });
});

describe('runChecked', () => {
  it('run-checked - throws with the stderr tail on failure', async () => {
    await assert.rejects(runChecked('sh', ['-c', 'echo "chart not found" >&2; exit 1']), (error: unknown) => {
      assert.ok(error instanceof ProcessExitError);
      assert.equal(error.code, 'PROCESS_FAILED');
      assert.match(error.message, /exited with code 1: chart not found/);
      assert.equal(error.result.code, 1);
      return true;
    });
  });

  it('run-checked - returns the result on success', async () => {
    const result = await runChecked('echo', ['ok']);
    assert.equal(result.stdout, 'ok\n');
  });
});

describe('runProcess with processGroup', () => {
  // The shell starts a grandchild that keeps the output pipes open; only a
  // signal to the whole group ends both.
  const script = 'sleep 30 & echo $! > "$1"; wait';

  /** Running or sleeping; a zombie (killed, not yet reaped by init) counts as gone. */
  async function isAlive(pid: number): Promise<boolean> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
      if (stat === '' || / Z /.test(stat.slice(stat.lastIndexOf(')')))) return false;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return true;
  }

  async function withPidFile(test: (pidFile: string) => Promise<void>): Promise<void> {
    const dir = await mkdtemp(join(tmpdir(), 'uplink-run-process-'));
    try {
      await test(join(dir, 'pid'));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  it('run-process - a timeout kills the whole process group', () => withPidFile(async (pidFile) => {
    const result = await runProcess('sh', ['-c', script, 'sh', pidFile], { timeoutMs: 200, processGroup: true });
    assert.equal(result.timedOut, true);
    const pid = Number((await readFile(pidFile, 'utf8')).trim());
    assert.equal(await isAlive(pid), false, `grandchild ${pid} survived`);
  }));

  it('run-process - an abort kills the whole process group', () => withPidFile(async (pidFile) => {
    const controller = new AbortController();
    setTimeout(() => { controller.abort(); }, 200);
    const result = await runProcess('sh', ['-c', script, 'sh', pidFile], { processGroup: true, signal: controller.signal });
    assert.equal(result.timedOut, false);
    assert.equal(result.signal, 'SIGTERM');
    const pid = Number((await readFile(pidFile, 'utf8')).trim());
    assert.equal(await isAlive(pid), false, `grandchild ${pid} survived`);
  }));

  it('run-process - a group child that exits normally resolves as usual', async () => {
    const result = await runProcess('sh', ['-c', 'echo grouped'], { processGroup: true });
    assert.equal(result.code, 0);
    assert.equal(result.stdout, 'grouped\n');
  });
});

describe('runProcess with dieWithParent', () => {
  /** Starts a Node process that runs `sleep 600` through runProcess and reports the sleeper's id. */
  async function parentWithSleeper(dieWithParent: boolean): Promise<{ parent: ChildProcess; sleeper: number }> {
    const module = new URL('./run-process.ts', import.meta.url).href;
    const code = `const { runProcess } = await import(${JSON.stringify(module)});
      void runProcess('sleep', ['600'], { processGroup: true, dieWithParent: ${dieWithParent}, onStart: (pid) => console.log(pid) });`;
    const parent = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
    const lines = createInterface({ input: parent.stdout });
    const line = String((await once(lines, 'line'))[0]);
    lines.close();
    const sleeper = Number(line);
    // Until setpriv has run (set the signal, then exec), the child is not yet tied to its parent.
    const deadline = Date.now() + 10_000;
    while (!(await readFile(`/proc/${sleeper}/cmdline`, 'utf8').catch(() => '')).startsWith('sleep\0')) {
      assert.ok(Date.now() < deadline, `child ${sleeper} never became sleep`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return { parent, sleeper };
  }

  /** True once the process is gone (or a zombie), polling up to `timeoutMs`. */
  async function goneWithin(pid: number, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
      if (stat === '' || / Z /.test(stat.slice(stat.lastIndexOf(')')))) return true;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return false;
  }

  it('run-process - a child started with dieWithParent dies when its parent is SIGKILLed; without it, it stays', async () => {
    // Debian's util-linux (this machine, and the agent image's base) has it.
    assert.deepEqual(deathSignalWrapper(), ['/usr/bin/setpriv', '--pdeathsig', 'SIGKILL', '--']);
    const plain = await parentWithSleeper(false);
    plain.parent.kill('SIGKILL');
    await once(plain.parent, 'exit');
    try {
      assert.equal(await goneWithin(plain.sleeper, 1000), false, 'a plain group child outlives its parent (the case this option is for)');
    } finally {
      process.kill(-plain.sleeper, 'SIGKILL');
    }
    const tied = await parentWithSleeper(true);
    tied.parent.kill('SIGKILL');
    await once(tied.parent, 'exit');
    assert.equal(await goneWithin(tied.sleeper, 10_000), true, `sleeper ${tied.sleeper} survived its parent`);
  });

  it('run-process - a missing program is still a start error through setpriv', async () => {
    await assert.rejects(runProcess('/nonexistent/helm', ['version'], { dieWithParent: true }), (error: unknown) =>
      error instanceof ProcessStartError && /could not start \/nonexistent\/helm: .*No such file/.test(error.message));
  });
});
