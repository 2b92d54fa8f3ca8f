import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_STATUS_MESSAGE_CHARS, MAX_STATUS_OBJECTS, MAX_STATUS_REVISIONS } from '../../link/addons.ts';
import { AddonStatusError, MAX_STORED_STATUS_BYTES, parseAddonStatus } from './status.ts';
import { sampleStatus } from './status.test-helper.ts';

/** The sample as plain JSON with `edit` applied, as it would arrive on the wire. */
function wire(edit: (status: Record<string, unknown>) => void = () => undefined): Record<string, unknown> {
  const status = JSON.parse(JSON.stringify(sampleStatus())) as Record<string, unknown>;
  edit(status);
  return status;
}

function refusal(value: unknown): [string, string] {
  try {
    parseAddonStatus(value);
  } catch (error) {
    assert.ok(error instanceof AddonStatusError);
    return [error.field, error.message];
  }
  assert.fail('expected a refusal');
}

const field = (status: Record<string, unknown>, key: string): Record<string, unknown> => status[key] as Record<string, unknown>;

/** The status's health object at `index`. */
function healthObject(status: Record<string, unknown>, index: number): Record<string, unknown> {
  const object = (field(status, 'health').objects as Record<string, unknown>[])[index];
  assert.ok(object);
  return object;
}

describe('add-on status', () => {
  it('addon status - a complete status reads back equal; unknown fields are dropped at every level', () => {
    assert.deepEqual(parseAddonStatus(wire()), sampleStatus());
    const extra = wire((s) => {
      s.futureField = 1;
      field(s, 'release').extra = 'x';
      healthObject(s, 0).extra = true;
    });
    assert.deepEqual(parseAddonStatus(extra), sampleStatus());
  });

  it('addon status - nullable parts may be null or absent; an object without a namespace keeps none', () => {
    const bare = wire((s) => {
      s.release = null;
      delete s.health;
      s.lastOperation = null;
      s.history = [];
    });
    assert.deepEqual(parseAddonStatus(bare), sampleStatus({ release: null, health: null, lastOperation: null, history: [] }));
    for (const namespace of [null, '']) {
      const clusterScoped = wire((s) => { healthObject(s, 0).namespace = namespace; });
      assert.equal('namespace' in (parseAddonStatus(clusterScoped).health?.objects[0] ?? {}), false);
    }
  });

  it('addon status - a field of the wrong type is refused by its path', () => {
    const cases: [unknown, string, RegExp][] = [
      ['text', '', /^status must be an object$/],
      [wire((s) => { s.name = 'Web'; }), 'name', /DNS-1123 label/],
      [wire((s) => { delete s.generation; }), 'generation', /^generation is required$/],
      [wire((s) => { s.generation = 1.5; }), 'generation', /whole number of at least 1/],
      [wire((s) => { s.phase = 'Running'; }), 'phase', /^phase must be one of Pending, Waiting, .*Uninstalled$/],
      [wire((s) => { s.message = 42; }), 'message', /^message must be a string$/],
      [wire((s) => { s.inSync = 'yes'; }), 'inSync', /true or false/],
      [wire((s) => { field(s, 'release').revision = 0; }), 'release.revision', /at least 1/],
      [wire((s) => { healthObject(s, 1).status = 'Fine'; }), 'health.objects[1].status', /one of Healthy/],
      [wire((s) => { field(s, 'lastOperation').result = 'done'; }), 'lastOperation.result', /one of running, succeeded, failed/],
      [wire((s) => { field(s, 'lastOperation').durationSeconds = -1; }), 'lastOperation.durationSeconds', /number of seconds/],
      [wire((s) => { s.history = {}; }), 'history', /^history must be a list$/],
      [wire((s) => { s.history = [1]; }), 'history[0]', /^history\[0\] must be an object$/],
      [wire((s) => { s.nextRetryAt = 5; }), 'nextRetryAt', /^nextRetryAt must be a string$/],
    ];
    for (const [value, path, message] of cases) {
      const [actualField, actualMessage] = refusal(value);
      assert.equal(actualField, path, actualMessage);
      assert.match(actualMessage, message);
    }
  });

  it('addon status - long texts and lists are cut, keeping the worst objects and the newest revisions', () => {
    const cut = parseAddonStatus(wire((s) => {
      s.message = 'm'.repeat(MAX_STATUS_MESSAGE_CHARS + 100);
      field(s, 'release').description = 'd'.repeat(2000);
      field(s, 'release').chart = 'c'.repeat(1000);
      field(s, 'health').objects = Array.from({ length: MAX_STATUS_OBJECTS + 5 }, (_, i) => ({ kind: 'ConfigMap', name: `c${i}`, status: 'Healthy', message: '' }));
      s.history = Array.from({ length: MAX_STATUS_REVISIONS + 5 }, (_, i) => ({
        revision: i + 1, updated: '2026-01-01 00:00:00 +0000 UTC', status: 'superseded', chart: 'c-1', appVersion: '', description: '',
      }));
    }));
    assert.equal(cut.message, `${'m'.repeat(MAX_STATUS_MESSAGE_CHARS - 1)}…`);
    assert.deepEqual([cut.release?.description.length, cut.release?.chart.length], [MAX_STATUS_MESSAGE_CHARS, 253]);
    assert.deepEqual([cut.health?.objects.length, cut.health?.objects[0]?.name], [MAX_STATUS_OBJECTS, 'c0']);
    assert.deepEqual([cut.history.length, cut.history[0]?.revision, cut.history.at(-1)?.revision], [MAX_STATUS_REVISIONS, 6, MAX_STATUS_REVISIONS + 5]);
    assert.equal(cut.history[0]?.updated, '2026-01-01 00:00:00 +0000 UTC', 'times are kept as the agent wrote them');
  });

  it('addon status - a status over the stored size is refused even after cutting', () => {
    const big = { kind: 'k'.repeat(253), name: 'n'.repeat(253), namespace: 'n'.repeat(253), status: 'Healthy', message: 'm'.repeat(500) };
    const [path, message] = refusal(wire((s) => { field(s, 'health').objects = Array(MAX_STATUS_OBJECTS).fill(big); }));
    assert.equal(path, '');
    assert.match(message, new RegExp(`over the ${MAX_STORED_STATUS_BYTES} stored`));
  });
});
