import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CodedError } from './error-codes.ts';
import { exposurePath, isExposureId, newExposureId, parseExposureInput, parseExposurePort, roleAllows } from './exposure.ts';

/** The message of the EXPOSURE_INVALID that parsing `body` throws. */
function refusal(body: unknown): string {
  try {
    parseExposureInput(body);
  } catch (error) {
    assert.ok(error instanceof CodedError);
    assert.equal(error.code, 'EXPOSURE_INVALID');
    assert.equal(error.status, 400);
    return error.message;
  }
  assert.fail(`${JSON.stringify(body)} was accepted`);
}

describe('exposure input', () => {
  it('exposure input - fills in the name from the Service and minRole view', () => {
    assert.deepEqual(parseExposureInput({ namespace: 'monitoring', service: 'grafana', port: 80 }),
      { name: 'grafana', namespace: 'monitoring', service: 'grafana', port: 80, minRole: 'view' });
    assert.deepEqual(parseExposureInput({ name: 'dash', namespace: 'm', service: 'grafana', port: 'http', minRole: 'admin' }),
      { name: 'dash', namespace: 'm', service: 'grafana', port: 'http', minRole: 'admin' });
  });

  it('exposure input - ports: 1 to 65535, decimal text read as a number, or an IANA port name', () => {
    assert.equal(parseExposurePort(1), 1);
    assert.equal(parseExposurePort(65_535), 65_535);
    assert.equal(parseExposurePort('8080'), 8080);
    assert.equal(parseExposurePort('http-alt'), 'http-alt');
    for (const bad of [0, 65_536, 80.5, -1, '0', '65536', '080', 'HTTP', 'a--b', '-web', 'web-', 'abcdefghijklmnop', '', null, true, {}]) {
      assert.equal(parseExposurePort(bad), undefined, JSON.stringify(bad));
    }
    assert.match(refusal({ namespace: 'm', service: 's', port: 70_000 }), /^port must be a number from 1 to 65535 or a port name, got number/);
    assert.match(refusal({ namespace: 'm', service: 's' }), /^port is required/);
  });

  it('exposure input - names: DNS labels, the exposure name at most 40 characters', () => {
    const long = 'a'.repeat(41);
    assert.match(refusal({ namespace: 'm', service: long, port: 80 }), /name must be a DNS label of at most 40 characters \(the Service's name is longer than 40 characters; give name\)/);
    assert.equal(parseExposureInput({ name: 'short', namespace: 'm', service: long, port: 80 }).service, long);
    assert.match(refusal({ name: long, namespace: 'm', service: 's', port: 80 }), /name must be a DNS label of at most 40/);
    assert.match(refusal({ name: 'Web', namespace: 'm', service: 's', port: 80 }), /got "Web"/);
    assert.match(refusal({ namespace: 'a.b', service: 's', port: 80 }), /^namespace must be a DNS label/);
    assert.match(refusal({ namespace: 'm', service: '169.254.169.254', port: 80 }), /^service must be a DNS label/);
    assert.match(refusal({ namespace: 'm', service: 'x'.repeat(64), port: 80 }), /^service must be a DNS label/);
    assert.match(refusal({ namespace: '', service: 's', port: 80 }), /^namespace is required/);
    assert.match(refusal({ namespace: 7, service: 's', port: 80 }), /got number/);
  });

  it('exposure input - refuses unknown fields, other roles and bodies that are not objects', () => {
    assert.match(refusal({ namespace: 'm', service: 's', port: 80, address: '10.0.0.1' }), /^unknown field "address"/);
    assert.match(refusal({ namespace: 'm', service: 's', port: 80, minRole: 'owner' }), /^minRole must be one of view, edit, admin/);
    for (const body of [null, [], 'grafana', 3]) assert.match(refusal(body), /^the body must be a JSON object/);
  });
});

describe('exposure ids and roles', () => {
  it('exposure ids - new ids have the id form and differ; other texts do not', () => {
    const ids = new Set(Array.from({ length: 100 }, () => newExposureId()));
    assert.equal(ids.size, 100);
    for (const id of ids) assert.ok(isExposureId(id), id);
    for (const bad of ['ex_', 'ex_ABCDEFGHIJKLMNOPQRST', 'ex_abcdefghijklmnopqrs1', `ex_${'a'.repeat(21)}`, 'c_abcdefghijklmnopqrst', undefined, ['ex_aaaaaaaaaaaaaaaaaaaa']]) {
      assert.equal(isExposureId(bad), false, JSON.stringify(bad));
    }
  });

  it('exposure roles - a role opens exposures needing it or less', () => {
    assert.equal(roleAllows('view', 'view'), true);
    assert.equal(roleAllows('view', 'edit'), false);
    assert.equal(roleAllows('admin', 'edit'), true);
    assert.equal(roleAllows('edit', 'admin'), false);
    assert.equal(exposurePath('prod-eu', 'grafana'), '/gw/prod-eu/grafana/');
  });
});
