import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newExposureId, type Exposure } from '../../domain/exposure.ts';
import type { HubSession } from '../../link/hub-session.ts';
import { EXPOSURE_PATHS, type DesiredExposureSet } from '../../link/exposures.ts';
import { createLogger } from '../../util/logger.ts';
import type { DesiredPushOutcome } from '../desired-push.ts';
import { desiredExposuresOf, ExposurePusher } from './push.ts';

const AT = '2026-01-02T03:04:05.000Z';

function exposure(name: string, port: number | string): Exposure {
  return { id: newExposureId(), clusterId: 'c1', name, namespace: 'ns', service: name, port, minRole: 'edit', createdBy: 'admin', createdAt: AT };
}

describe('exposure push', () => {
  it('exposure push - the wire set carries the generation and, per exposure, only its id, namespace, Service and port', () => {
    const web = exposure('web', 'http');
    assert.deepEqual(desiredExposuresOf({ generation: 4, exposures: [web] }),
      { generation: 4, exposures: [{ id: web.id, namespace: 'ns', service: 'web', port: 'http' }] });
  });

  it('exposure push - pushNow puts the current set over the given link and says how it went', async () => {
    const pushed: { method: string; path: string; body: DesiredExposureSet }[] = [];
    const statuses = [204, 409];
    const session = {
      isOpen: true,
      requestJson: (method: string, path: string, body: DesiredExposureSet) => {
        pushed.push({ method, path, body });
        return Promise.resolve({ status: statuses.shift() ?? 204, body: undefined });
      },
    } as unknown as HubSession;
    const outcomes: DesiredPushOutcome[] = [];
    const db = exposure('db', 5432);
    const pusher = new ExposurePusher({
      readSet: () => Promise.resolve({ generation: 7, exposures: [db] }), sessionOf: () => session,
      log: createLogger({ name: 'test', level: 'silent' }), onOutcome: (outcome) => { outcomes.push(outcome); },
    });
    assert.equal(await pusher.pushNow('c1', session), 'ok');
    assert.equal(await pusher.pushNow('c1', session), 'refused');
    assert.deepEqual(outcomes, ['ok', 'refused']);
    assert.deepEqual(pushed[0], { method: 'PUT', path: EXPOSURE_PATHS.desired, body: { generation: 7, exposures: [{ id: db.id, namespace: 'ns', service: 'db', port: 5432 }] } });
    pusher.close();
    assert.equal(await pusher.pushNow('c1', session), 'failed');
  });
});
