// The connectivity check against a real TLS server on loopback with the
// hub's own certificates; the API server step against a stand-in client
// (the e2e test runs it against the real API server).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ensureHubCertificates, type HubCertificates } from '../../hub/tls-certificates.ts';
import { HUB_CA_PATH } from '../../link/protocol.ts';
import { freePort } from '../../../test/helpers/uplink.ts';
import { runConnectivityCheck, type ConnectivityTarget, type HubTrust } from './connectivity-steps.ts';
import type { ConnectivityReport } from './connectivity.ts';

const apiServer: ConnectivityTarget['kube'] = {
  request: () => Promise.resolve({ status: 200, body: { gitVersion: 'v1.36.4' } as never }),
};

function statuses(report: ConnectivityReport): string[] {
  return report.steps.map((step) => `${step.step}:${step.status}`);
}

describe('connectivity steps', () => {
  let dir: string;
  let certs: HubCertificates;
  let other: HubCertificates;
  let server: Server;
  let hubUrl: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'uplink-connectivity-'));
    certs = await ensureHubCertificates({ dir: join(dir, 'hub') });
    other = await ensureHubCertificates({ dir: join(dir, 'other') });
    await writeFile(join(dir, 'ca.pem'), certs.caPem);
    await writeFile(join(dir, 'other-ca.pem'), other.caPem);
    server = createServer({ key: certs.keyPem, cert: certs.certPem }, (req, res) => {
      if (req.url === HUB_CA_PATH) res.writeHead(200).end(certs.caPem);
      else res.writeHead(404).end();
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    hubUrl = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    server.closeAllConnections();
    server.close();
    await rm(dir, { recursive: true, force: true });
  });

  const check = (trust: HubTrust, kube = apiServer): Promise<ConnectivityReport> => runConnectivityCheck({ hubUrl, trust, kube, timeoutMs: 5_000 });

  it('connectivity steps - with the right pin every step passes, each timed, the pin named', async () => {
    const report = await check({ mode: 'pin', caHash: certs.caHash });
    assert.deepEqual(statuses(report), ['dns:ok', 'tcp:ok', 'tls:ok', 'pin:ok', 'apiServer:ok']);
    assert.equal(report.ok, true);
    const pin = report.steps.find((step) => step.step === 'pin');
    assert.equal(pin?.expected, certs.caHash);
    assert.match(report.steps.find((step) => step.step === 'tls')?.detail ?? '', /^TLSv1\.3; certificate subject CN=Uplink hub/);
    assert.match(report.steps.find((step) => step.step === 'apiServer')?.detail ?? '', /v1\.36\.4/);
  });

  it('connectivity steps - a wrong pin fails the pin step with the expected and the seen pin', async () => {
    const report = await check({ mode: 'pin', caHash: other.caHash });
    assert.deepEqual(statuses(report), ['dns:ok', 'tcp:ok', 'tls:ok', 'pin:failed', 'apiServer:ok']);
    assert.equal(report.ok, false);
    const error = report.steps.find((step) => step.step === 'pin')?.error ?? '';
    assert.ok(error.startsWith(`expected pin ${other.caHash}: `) && error.includes(certs.caHash), error);
  });

  it('connectivity steps - a CA file trusts the hub when it issued its certificate, and fails naming the file otherwise or when unreadable; system CAs and skipped verification', async () => {
    const right = await check({ mode: 'caFile', file: join(dir, 'ca.pem') });
    assert.deepEqual(statuses(right), ['dns:ok', 'tcp:ok', 'tls:ok', 'pin:ok', 'apiServer:ok']);
    assert.ok(right.steps.find((step) => step.step === 'pin')?.detail?.includes(certs.caHash));
    const wrong = await check({ mode: 'caFile', file: join(dir, 'other-ca.pem') });
    assert.match(wrong.steps.find((step) => step.step === 'pin')?.error ?? '', /not trusted by the CA in .*other-ca\.pem/);
    const missing = await check({ mode: 'caFile', file: join(dir, 'missing.pem') });
    assert.match(missing.steps.find((step) => step.step === 'pin')?.error ?? '', /cannot read the CA file .*missing\.pem/);
    const system = await check({ mode: 'system' });
    assert.match(system.steps.find((step) => step.step === 'pin')?.error ?? '', /not trusted by the system CAs/);
    const insecure = await check({ mode: 'insecure' });
    assert.equal(insecure.steps.find((step) => step.step === 'pin')?.status, 'skipped');
    assert.equal(insecure.ok, true);
  });

  it('connectivity steps - a closed port fails TCP and skips the rest of the way to the hub; a silent API server fails its step', async () => {
    const port = await freePort();
    const unreachable = { request: () => Promise.reject(new Error('connect ECONNREFUSED 10.0.0.1:6443')) };
    const report = await runConnectivityCheck({ hubUrl: `https://127.0.0.1:${port}`, trust: { mode: 'pin', caHash: certs.caHash }, kube: unreachable });
    assert.deepEqual(statuses(report), ['dns:ok', 'tcp:failed', 'tls:skipped', 'pin:skipped', 'apiServer:failed']);
    assert.match(report.steps[1]?.error ?? '', /ECONNREFUSED/);
    assert.equal(report.steps[3]?.expected, certs.caHash);
    const plain = await runConnectivityCheck({ hubUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, trust: { mode: 'system' }, kube: apiServer });
    assert.deepEqual(statuses(plain), ['dns:ok', 'tcp:ok', 'tls:skipped', 'pin:skipped', 'apiServer:ok']);
  });
});
