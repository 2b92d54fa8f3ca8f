import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ExposureView } from '../../hub/api/exposures.ts';
import { buildProgram } from '../program.ts';
import { exposureBody, exposureRow, exposureUrl, parseServiceArgument, type ExposeFlags } from './exposures.ts';

/** The arguments and flags commander parses from `uplink PATH... ARGS`. */
function parsed(path: string[], args: string[]): { args: unknown[]; flags: Record<string, unknown> } {
  const program = buildProgram().exitOverride();
  let command = program;
  for (const name of path) {
    const next = command.commands.find((c) => c.name() === name);
    assert.ok(next, name);
    command = next;
  }
  command.exitOverride().configureOutput({ writeErr: () => undefined }).action(() => undefined);
  program.parse([...path, ...args], { from: 'user' });
  return { args: command.processedArgs, flags: command.opts() };
}

const VIEW: ExposureView = {
  id: 'ex_aaaaaaaaaaaaaaaaaaaa', clusterId: 'c1', name: 'grafana', namespace: 'monitoring', service: 'grafana', port: 80, minRole: 'view',
  createdBy: 'admin', createdAt: '2026-01-02T03:04:05.000Z', url: '/gw/prod-eu/grafana/',
};

describe('expose command', () => {
  it('expose - the command line becomes the body the hub checks: svc/NAME, a numbered or named port, name and min role', () => {
    const { args, flags } = parsed(['expose'], ['prod-eu', 'svc/grafana', '-n', 'monitoring', '--port', '80']);
    assert.deepEqual(args, ['prod-eu', 'svc/grafana']);
    assert.deepEqual(exposureBody(String(args[1]), flags as unknown as ExposeFlags), { namespace: 'monitoring', service: 'grafana', port: 80 });
    const named = parsed(['expose'], ['prod-eu', 'service/web', '-n', 'apps', '--port', 'http', '--name', 'site', '--min-role', 'edit']);
    assert.deepEqual(exposureBody('service/web', named.flags as unknown as ExposeFlags), { namespace: 'apps', service: 'web', port: 'http', name: 'site', minRole: 'edit' });
  });

  it('expose - SERVICE must be svc/NAME; -n and --port are required', () => {
    assert.equal(parseServiceArgument('svc/grafana'), 'grafana');
    assert.equal(parseServiceArgument('SVC/grafana'), 'grafana');
    for (const bad of ['grafana', 'pod/grafana', 'deploy/web', 'svc/']) assert.throws(() => parseServiceArgument(bad), /SERVICE must be svc\/NAME/);
    assert.throws(() => parsed(['expose'], ['prod-eu', 'svc/grafana', '--port', '80']), /--namespace/);
    assert.throws(() => parsed(['expose'], ['prod-eu', 'svc/grafana', '-n', 'm']), /--port/);
  });

  it('expose - --help says who may publish, where it is served and what the agent refuses', () => {
    const expose = buildProgram().commands.find((c) => c.name() === 'expose');
    assert.ok(expose);
    let help = '';
    expose.configureOutput({ writeOut: (text) => { help += text; } }).outputHelp();
    assert.match(help, /--min-role <role>/);
    assert.match(help, /Needs the admin role on the cluster/);
    assert.match(help, /HUB\/gw\/CLUSTER\/NAME\//);
    assert.match(help, /link-local \(cloud metadata\)/);
  });
});

describe('exposures command', () => {
  it('exposures - list takes -o and delete takes a name', () => {
    assert.deepEqual(parsed(['exposures', 'list'], ['prod-eu', '-o', 'json']), { args: ['prod-eu'], flags: { output: 'json' } });
    assert.deepEqual(parsed(['exposures', 'delete'], ['prod-eu', 'grafana']).args, ['prod-eu', 'grafana']);
  });

  it('exposures - a row names the Service, port, role and the full URL on the hub', () => {
    assert.equal(exposureUrl('https://hub.example.com:8443', VIEW), 'https://hub.example.com:8443/gw/prod-eu/grafana/');
    assert.deepEqual(exposureRow(VIEW, 'https://hub.example.com', Date.parse('2026-01-02T04:04:05.000Z')),
      ['grafana', 'monitoring/grafana', '80', 'view', 'https://hub.example.com/gw/prod-eu/grafana/', 'admin', '60m']);
  });
});
