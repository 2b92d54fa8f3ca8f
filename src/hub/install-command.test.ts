import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { installCommands, shellQuote } from './install-command.ts';

describe('installCommands', () => {
  it('install-command - carries the hub URL, CA pin and token', () => {
    const { helm, agent } = installCommands({
      chart: 'oci://registry.example/charts/uplink-agent', hubUrl: 'https://hub.example:8443',
      token: 'upc_c123_abc', caHash: 'sha256:' + 'a'.repeat(64),
    });
    assert.equal(helm, [
      'helm upgrade --install uplink-agent oci://registry.example/charts/uplink-agent',
      '--namespace uplink-system --create-namespace',
      '--set hub.url=https://hub.example:8443',
      `--set hub.caHash=sha256:${'a'.repeat(64)}`,
      '--set token.value=upc_c123_abc',
    ].join(' \\\n  '));
    assert.match(agent, /^uplink agent --hub-url https:\/\/hub.example:8443/);
    assert.match(agent, /--hub-ca-hash sha256:a{64}/);
  });

  it('install-command - omits the pin for a hub behind a TLS proxy', () => {
    const { helm } = installCommands({ chart: './charts/uplink-agent', hubUrl: 'https://hub.example', token: 't', caHash: undefined });
    assert.doesNotMatch(helm, /caHash/);
  });

  it('install-command - shellQuote quotes only what needs it', () => {
    assert.equal(shellQuote('plain-value_1.2'), 'plain-value_1.2');
    assert.equal(shellQuote("it's here"), `'it'\\''s here'`);
    assert.equal(shellQuote('a b'), "'a b'");
  });
});
