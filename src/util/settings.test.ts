import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Command } from 'commander';
import { Type } from './setting-schema.ts';
import { ConfigError, SettingTypes, addSettingOptions, loadSettings, parseListen, setting } from './settings.ts';

const TABLE = {
  listen: setting({ schema: SettingTypes.listen(), flag: 'listen', env: 'T_LISTEN', help: 'address', default: ':8443' }),
  interval: setting({ schema: SettingTypes.seconds(1, 300), flag: 'heartbeat-interval', env: 'T_INTERVAL', help: 'seconds', default: 15 }),
  insecure: setting({ schema: Type.Boolean(), flag: 'insecure-http', env: 'T_INSECURE', help: 'plain http', default: false }),
  hubUrl: setting({ schema: SettingTypes.url(['https', 'http']), flag: 'hub-url', env: 'T_HUB_URL', help: 'the hub' }),
  sans: setting({ schema: SettingTypes.stringList(), flag: 'tls-san', env: 'T_SANS', help: 'names', optional: true }),
};

function tempFile(name: string, text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'uplink-settings-')), name);
  writeFileSync(file, text);
  return file;
}

describe('loadSettings', () => {
  it('settings - defaults apply and types are coerced from strings', () => {
    const settings = loadSettings({ table: TABLE, flags: { hubUrl: 'https://hub.example:8443' }, env: { T_INTERVAL: '30', T_INSECURE: 'yes' } });
    assert.deepEqual(settings, { listen: ':8443', interval: 30, insecure: true, hubUrl: 'https://hub.example:8443' });
  });

  it('settings - flags win over the environment, which wins over the file', () => {
    const file = tempFile('c.yaml', 'heartbeat-interval: 5\nlisten: ":1000"\nhub-url: https://from-file\n');
    const settings = loadSettings({ table: TABLE, flags: { config: file, listen: ':2000' }, env: { T_INTERVAL: '10' } });
    assert.equal(settings.listen, ':2000');
    assert.equal(settings.interval, 10);
    assert.equal(settings.hubUrl, 'https://from-file');
  });

  it('settings - lists come from repeated flags or comma-separated variables', () => {
    const a = loadSettings({ table: TABLE, flags: { hubUrl: 'http://h', tlsSan: ['a.example', 'b.example,c.example'] }, env: {} });
    assert.deepEqual(a.sans, ['a.example', 'b.example', 'c.example']);
    const b = loadSettings({ table: TABLE, flags: { hubUrl: 'http://h' }, env: { T_SANS: 'x, y' } });
    assert.deepEqual(b.sans, ['x', 'y']);
  });

  it('settings - every invalid value is reported with its flag and variable', () => {
    assert.throws(
      () => loadSettings({ table: TABLE, flags: { listen: 'nope' }, env: { T_INTERVAL: '9999', T_INSECURE: 'maybe' } }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.equal(error.code, 'CONFIG_INVALID');
        assert.match(error.message, /--listen \(env T_LISTEN\) must match pattern .*, got "nope"/);
        assert.match(error.message, /--heartbeat-interval \(env T_INTERVAL\) must be <= 300, got 9999/);
        assert.match(error.message, /--insecure-http \(env T_INSECURE\) must be boolean, got "maybe"/);
        assert.match(error.message, /--hub-url \(env T_HUB_URL\) is required: the hub/);
        return true;
      },
    );
  });

  it('settings - a DNS name setting takes a lowercase name without a trailing dot, within its length', () => {
    const table = { domain: setting({ schema: SettingTypes.dnsName(20), flag: 'kube-domain', env: 'T_DOMAIN', help: 'domain', optional: true }) };
    for (const value of ['kube.example.com', 'localhost', 'a-b.c0']) assert.equal(loadSettings({ table, flags: { kubeDomain: value }, env: {} }).domain, value);
    for (const value of ['Kube.example.com', 'kube.example.com.', '*.example.com', 'a..b', '-a.b', 'a b', 'k.'.repeat(10) + 'x', 'https://kube.example.com']) {
      assert.throws(() => loadSettings({ table, flags: { kubeDomain: value }, env: {} }), /--kube-domain \(env T_DOMAIN\)/, value);
    }
  });

  it('settings - a number that is not a number is named, not coerced to NaN', () => {
    assert.throws(() => loadSettings({ table: TABLE, flags: { hubUrl: 'http://h', heartbeatInterval: '15s' }, env: {} }),
      /--heartbeat-interval \(env T_INTERVAL\) must be number, got "15s"/);
  });

  it('settings - an unknown key in the config file is refused with the known ones listed', () => {
    const file = tempFile('c.yaml', 'hub-urll: https://typo\n');
    assert.throws(() => loadSettings({ table: TABLE, flags: { config: file }, env: {} }),
      /unknown settings: hub-urll \(known: listen, heartbeat-interval, insecure-http, hub-url, tls-san\)/);
  });

  it('settings - a config file that is not a mapping is refused', () => {
    const file = tempFile('c.yaml', '- a\n- b\n');
    assert.throws(() => loadSettings({ table: TABLE, flags: { config: file }, env: {} }), /must be a YAML mapping/);
    assert.throws(() => loadSettings({ table: TABLE, flags: { config: '/nonexistent/x.yaml' }, env: {} }), /cannot read config file/);
  });

  it('settings - addSettingOptions registers each flag with its variable in the help', () => {
    const command = addSettingOptions(new Command('x'), TABLE);
    const help = command.helpInformation();
    assert.match(help, /--heartbeat-interval <value>\s+seconds \[env T_INTERVAL\] \(default: 15\)/);
    assert.match(help, /--insecure-http\s+plain http/);
    command.parse(['--listen', ':9', '--tls-san', 'a', 'b', '--insecure-http'], { from: 'user' });
    assert.deepEqual(command.opts(), { listen: ':9', tlsSan: ['a', 'b'], insecureHttp: true });
  });

  it('settings - every boolean can be turned off on the command line, over the environment, the file and the default', () => {
    const table = { ...TABLE, rbac: setting({ schema: Type.Boolean(), flag: 'manage-rbac', env: 'T_RBAC', help: 'bind roles', default: true }) };
    const parse = (argv: string[]): Record<string, unknown> => addSettingOptions(new Command('x'), table).parse(argv, { from: 'user' }).opts();
    assert.match(addSettingOptions(new Command('x'), table).helpInformation(), /--no-manage-rbac\s+turn --manage-rbac off/);
    const file = tempFile('c.yaml', 'manage-rbac: true\n');
    const off = loadSettings({ table, flags: { ...parse(['--no-manage-rbac']), config: file, hubUrl: 'http://h' }, env: { T_RBAC: 'true' } });
    assert.equal(off.rbac, false);
    assert.equal(loadSettings({ table, flags: { ...parse([]), hubUrl: 'http://h' }, env: {} }).rbac, true, 'neither form: the default');
    assert.equal(loadSettings({ table, flags: { ...parse([]), hubUrl: 'http://h' }, env: { T_RBAC: 'false' } }).rbac, false, 'neither form: the environment');
    assert.equal(loadSettings({ table, flags: { ...parse(['--manage-rbac']), hubUrl: 'http://h' }, env: { T_RBAC: 'false' } }).rbac, true);
  });

  it('settings - parseListen splits host and port', () => {
    assert.deepEqual(parseListen(':8443'), { host: '0.0.0.0', port: 8443 });
    assert.deepEqual(parseListen('127.0.0.1:80'), { host: '127.0.0.1', port: 80 });
    assert.deepEqual(parseListen('[::1]:8080'), { host: '::1', port: 8080 });
  });
});
