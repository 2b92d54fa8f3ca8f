import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createLogger } from '../util/logger.ts';
import { ChildLedger, processStartTime } from './child-ledger.ts';
import { stateSiblingFile } from './own-storage.ts';

const log = createLogger({ name: 'test', level: 'silent' });

/** A `sleep` leading its own process group, as helm runs. */
function groupSleeper(): number {
  const child = spawn('sh', ['-c', 'sleep 600 & wait'], { detached: true, stdio: 'ignore' });
  child.unref();
  assert.ok(child.pid !== undefined);
  return child.pid;
}

async function goneWithin(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const stat = (() => { try { return readFileSync(`/proc/${pid}/stat`, 'utf8'); } catch { return ''; } })();
    if (stat === '' || / Z /.test(stat.slice(stat.lastIndexOf(')')))) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}

describe('ChildLedger', () => {
  it('child ledger - a restarted agent kills the process groups its killed run left running, and only those', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'uplink-ledger-'));
    const left = groupSleeper();
    const stranger = groupSleeper();
    t.after(() => {
      for (const pid of [left, stranger]) {
        try { process.kill(-pid, 'SIGKILL'); } catch { /* gone */ }
      }
      rmSync(dir, { recursive: true, force: true });
    });
    const file = join(dir, 'state.helm-pids.json');
    const killedRun = new ChildLedger({ file, log });
    killedRun.add(left);
    killedRun.add(stranger);
    // The stranger's id was "reused": its recorded start time is not its own.
    const entries = JSON.parse(readFileSync(file, 'utf8')) as { pid: number; started: string }[];
    writeFileSync(file, JSON.stringify(entries.map((e) => (e.pid === stranger ? { ...e, started: '1' } : e))));

    const restarted = new ChildLedger({ file, log });
    assert.equal(restarted.reapPrevious(), 1);
    assert.equal(await goneWithin(left, 10_000), true, 'the left-over helm is gone');
    assert.notEqual(processStartTime(stranger), undefined, 'a process that only shares an id is left alone');
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), []);
  });

  it('child ledger - entries come and go with the children; a damaged file is ignored', (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'uplink-ledger-'));
    t.after(() => { rmSync(dir, { recursive: true, force: true }); });
    const file = join(dir, 'l.json');
    const ledger = new ChildLedger({ file, log });
    ledger.add(process.pid);
    assert.equal((JSON.parse(readFileSync(file, 'utf8')) as unknown[]).length, 1);
    ledger.remove(process.pid);
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), []);
    writeFileSync(file, '{not json');
    assert.equal(new ChildLedger({ file, log }).reapPrevious(), 0);
    writeFileSync(file, JSON.stringify([{ pid: 1, started: processStartTime(1) }, { pid: 'x' }]));
    assert.equal(new ChildLedger({ file, log }).reapPrevious(), 0, 'never init, never junk');
  });

  it('state sibling files - named after the state file, so agents sharing a directory share nothing else', () => {
    assert.equal(stateSiblingFile('/d/prod.json', 'addons'), '/d/prod.addons.json');
    assert.equal(stateSiblingFile('/d/staging.json', 'addons'), '/d/staging.addons.json');
    assert.equal(stateSiblingFile('/d/state', 'helm-pids'), '/d/state.helm-pids.json');
  });
});
