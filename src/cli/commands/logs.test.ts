import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { logsPath } from './logs.ts';

describe('logs command', () => {
  it('logs - the flags become the hub\'s query, unset ones left out', () => {
    assert.equal(logsPath('prod', 'web-1', { namespace: 'default' }), '/api/v1/clusters/prod/logs?namespace=default&pod=web-1');
    assert.equal(
      logsPath('prod', undefined, { namespace: 'web', selector: 'app=web', container: 'c', follow: true, tail: 10, since: 300, previous: true, timestamps: true, maxPods: 3 }),
      '/api/v1/clusters/prod/logs?namespace=web&labelSelector=app%3Dweb&container=c&follow=true&tailLines=10&sinceSeconds=300&previous=true&timestamps=true&maxPods=3',
    );
  });

  it('logs - exactly one of POD and -l; --max-pods only with -l', () => {
    assert.throws(() => logsPath('prod', undefined, { namespace: 'default' }), /exactly one/);
    assert.throws(() => logsPath('prod', 'p', { namespace: 'default', selector: 'a=b' }), /exactly one/);
    assert.throws(() => logsPath('prod', 'p', { namespace: 'default', maxPods: 2 }), /--max-pods goes with -l/);
  });
});
