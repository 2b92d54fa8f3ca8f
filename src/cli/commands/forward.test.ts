import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ForwardTargetError } from '../../link/forward.ts';
import { forwardMappings, parsePortArgument, parseTargetArgument } from './forward.ts';

describe('uplink forward arguments', () => {
  it('forward arguments - targets as kubectl spells them', () => {
    assert.deepEqual(parseTargetArgument('svc/db'), { kind: 'service', name: 'db' });
    assert.deepEqual(parseTargetArgument('deployments/web'), { kind: 'deployment', name: 'web' });
    assert.deepEqual(parseTargetArgument('web-0'), { kind: 'pod', name: 'web-0' });
    assert.throws(() => parseTargetArgument('node/a'), ForwardTargetError);
  });

  it('forward arguments - ports: REMOTE, LOCAL:REMOTE, :REMOTE, named remote ports', () => {
    assert.deepEqual(parsePortArgument('5432'), { local: 5432, remote: 5432 });
    assert.deepEqual(parsePortArgument('8080:80'), { local: 8080, remote: 80 });
    assert.deepEqual(parsePortArgument(':80'), { local: 0, remote: 80 });
    assert.deepEqual(parsePortArgument('9000:http'), { local: 9000, remote: 'http' });
    assert.throws(() => parsePortArgument('http'), /needs a local port/);
    assert.throws(() => parsePortArgument('70000:80'), /local port/);
    assert.throws(() => parsePortArgument('80:0'), /port must be/);
  });

  it('forward arguments - several ports map one target; bad flags and counts are refused', () => {
    const mappings = forwardMappings('svc/db', ['5432', '8080:80'], { namespace: 'data', address: '127.0.0.1' });
    assert.deepEqual(mappings.map((m) => [m.localPort, m.target.port, m.target.namespace]), [[5432, 5432, 'data'], [8080, 80, 'data']]);
    assert.throws(() => forwardMappings('svc/db', [], { namespace: 'data', address: '127.0.0.1' }), /at least one PORT/);
    assert.throws(() => forwardMappings('svc/db', ['80'], { namespace: 'data', address: 'localhost' }), /--address/);
    assert.throws(() => forwardMappings('svc/db', Array.from({ length: 33 }, (_, i) => String(i + 1)), { namespace: 'd', address: '::1' }), /at most 32/);
  });
});
