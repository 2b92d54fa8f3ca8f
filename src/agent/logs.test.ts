import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LinePrefixer, MAX_LOG_LINE_BYTES, logPath, parseLogRequest } from './logs.ts';

const params = (entries: Record<string, string>): Map<string, string> => new Map(Object.entries(entries));

describe('logs', () => {
  it('logs - a pod request gets defaults and an API path with every option', () => {
    const request = parseLogRequest(params({ pod: 'web-0', follow: 'true', tailLines: '10', sinceSeconds: '60', timestamps: '1', container: 'app' }));
    assert.equal(request.namespace, 'default');
    assert.equal(request.maxPods, 8);
    assert.equal(
      logPath(request, { pod: 'web-0', container: 'app' }),
      '/api/v1/namespaces/default/pods/web-0/log?container=app&follow=true&timestamps=true&tailLines=10&sinceSeconds=60',
    );
    assert.equal(logPath(parseLogRequest(params({ pod: 'p' })), { pod: 'p', container: undefined }), '/api/v1/namespaces/default/pods/p/log');
  });

  it('logs - bad parameters are refused with the parameter named', () => {
    assert.throws(() => parseLogRequest(params({})), /exactly one of pod and labelSelector/);
    assert.throws(() => parseLogRequest(params({ pod: 'a', labelSelector: 'x=y' })), /exactly one of pod and labelSelector/);
    assert.throws(() => parseLogRequest(params({ pod: 'a', namespace: 'Bad_NS' })), /namespace 'Bad_NS'/);
    assert.throws(() => parseLogRequest(params({ pod: '../etc' })), /pod '..\/etc'/);
    assert.throws(() => parseLogRequest(params({ pod: 'a', tailLines: '-1' })), /tailLines must be an integer/);
    assert.throws(() => parseLogRequest(params({ pod: 'a', follow: 'yes' })), /follow must be true or false/);
    assert.throws(() => parseLogRequest(params({ labelSelector: 'a=b', maxPods: '33' })), /maxPods must be an integer from 1 to 32/);
    assert.throws(() => parseLogRequest(params({ pod: 'a', container: 'A B' })), /container 'A B'/);
  });

  it('logs - the prefixer emits whole lines and holds a partial one until its end', () => {
    const prefixer = new LinePrefixer('[p/c] ');
    const text = (pieces: Buffer[]): string => Buffer.concat(pieces).toString();
    assert.equal(text(prefixer.push(Buffer.from('one\ntw'))), '[p/c] one\n');
    assert.equal(text(prefixer.push(Buffer.from('o\nthree\n'))), '[p/c] two\n[p/c] three\n');
    assert.equal(text(prefixer.push(Buffer.from('tail'))), '');
    assert.equal(text(prefixer.flush()), '[p/c] tail\n');
    assert.equal(text(prefixer.flush()), '');
  });

  it('logs - a line longer than the bound is passed on in pieces', () => {
    const prefixer = new LinePrefixer('> ');
    const out = Buffer.concat(prefixer.push(Buffer.alloc(MAX_LOG_LINE_BYTES + 10, 'x'))).toString();
    assert.equal(out.length, 2 + MAX_LOG_LINE_BYTES + 10 + 1);
    assert.ok(out.startsWith('> x') && out.endsWith('x\n'));
  });
});
