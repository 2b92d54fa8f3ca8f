// For tests: a complete, valid add-on status as an agent reports it.
import type { AddonStatus } from '../../link/addons.ts';

const AT = '2026-01-02T03:04:05.000Z';

/** A deployed, healthy `web` at generation 1, revision 2, with `overrides` on top. */
export function sampleStatus(overrides: Partial<AddonStatus> = {}): AddonStatus {
  return {
    name: 'web',
    generation: 1,
    phase: 'Deployed',
    message: 'revision 2 deployed',
    inSync: true,
    release: {
      namespace: 'web', revision: 2, status: 'deployed', chart: 'webapp', chartVersion: '0.1.0', appVersion: '1.4.2',
      updated: AT, description: 'Upgrade complete',
    },
    health: {
      status: 'Healthy', message: '', healthy: true, objectCount: 2, checkedAt: AT,
      objects: [
        { kind: 'Deployment', name: 'web', namespace: 'web', status: 'Healthy', message: '' },
        { kind: 'Service', name: 'web', namespace: 'web', status: 'Healthy', message: '' },
      ],
    },
    lastOperation: {
      id: 'op-1', action: 'upgrade', trigger: 'desired', requestedBy: null, targetRevision: null, startedAt: AT, finishedAt: AT,
      durationSeconds: 4.2, result: 'succeeded', code: null, message: 'revision 2 deployed', rolledBack: false, revision: 2,
    },
    drift: null,
    syncWindow: null,
    history: [
      { revision: 1, updated: AT, status: 'superseded', chart: 'webapp-0.1.0', appVersion: '1.4.1', description: 'Install complete' },
      { revision: 2, updated: AT, status: 'deployed', chart: 'webapp-0.1.0', appVersion: '1.4.2', description: 'Upgrade complete' },
    ],
    failures: 0,
    nextRetryAt: null,
    observedAt: AT,
    ...overrides,
  };
}
