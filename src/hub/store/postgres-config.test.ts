import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { postgresClientConfig, redactUrl } from './postgres-config.ts';
import { StoreError, StoreUnavailableError } from './store.ts';

const dir = mkdtempSync(join(tmpdir(), 'uplink-pg-config-'));
after(() => { rmSync(dir, { recursive: true, force: true }); });

async function passwordOf(config: ReturnType<typeof postgresClientConfig>): Promise<string | undefined> {
  return typeof config.password === 'function' ? config.password() : config.password;
}

describe('postgres connection settings', () => {
  it('postgres config - a URL becomes host, port, user, database and the bounds', () => {
    const config = postgresClientConfig({ url: 'postgres://hub%40corp@db.example:6543/uplink_prod' });
    assert.deepEqual(
      [config.host, config.port, config.user, config.database, config.password, config.ssl],
      ['db.example', 6543, 'hub@corp', 'uplink_prod', undefined, false],
    );
    assert.ok(typeof config.statement_timeout === 'number' && config.statement_timeout > 0);
    assert.ok((config.query_timeout ?? 0) > config.statement_timeout);
    assert.equal(postgresClientConfig({ url: 'postgresql://u@[::1]/d' }).host, '::1');
    assert.equal(postgresClientConfig({ url: 'postgresql://u@h/d' }).port, 5432);
  });

  it('postgres config - sslmode require encrypts without checking; verify-full checks against sslrootcert', () => {
    assert.deepEqual(postgresClientConfig({ url: 'postgres://u@h/d?sslmode=require' }).ssl, { rejectUnauthorized: false });
    const ca = join(dir, 'ca.pem');
    writeFileSync(ca, 'PEM');
    assert.deepEqual(postgresClientConfig({ url: `postgres://u@h/d?sslmode=verify-full&sslrootcert=${ca}` }).ssl, { ca: 'PEM' });
    const verifyCa = postgresClientConfig({ url: `postgres://u@h/d?sslmode=verify-ca&sslrootcert=${ca}` }).ssl;
    assert.ok(typeof verifyCa === 'object' && verifyCa.checkServerIdentity !== undefined);
  });

  it('postgres config - a URL the hub cannot use is refused, naming what is wrong and never the password', () => {
    const cases: [string, RegExp][] = [
      ['mysql://u:secret@h/d', /scheme/],
      ['postgres://:secret@h/d', /no user/],
      ['postgres://u:secret@h', /no database/],
      ['postgres://u:secret@h/d?sslmode=prefer', /sslmode "prefer"/],
      ['postgres://u:secret@h/d?connect_timeout=3', /unknown parameter "connect_timeout"/],
      ['postgres://u:secret@h/d?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem', /cannot read the database sslrootcert/],
    ];
    for (const [url, why] of cases) {
      assert.throws(() => postgresClientConfig({ url }), (error: unknown) => {
        assert.ok(error instanceof StoreError, url);
        assert.match(error.message, why, url);
        assert.doesNotMatch(error.message, /secret/, url);
        return true;
      });
    }
  });

  it('postgres config - the password file wins over the URL, is read for each connection and loses its trailing newline', async () => {
    const file = join(dir, 'password');
    writeFileSync(file, 'first\n');
    const config = postgresClientConfig({ url: 'postgres://u:from-url@h/d', passwordFile: file });
    assert.equal(await passwordOf(config), 'first');
    writeFileSync(file, 'rotated\r\n');
    assert.equal(await passwordOf(config), 'rotated');
    writeFileSync(file, '');
    await assert.rejects(passwordOf(config), (error: unknown) => error instanceof StoreUnavailableError && /is empty/.test(error.message));
    assert.equal(await passwordOf(postgresClientConfig({ url: 'postgres://u:p%2Fw@h/d' })), 'p/w');
  });

  it('postgres config - a missing, empty or oversized password file is refused at start', () => {
    const big = join(dir, 'big');
    writeFileSync(big, 'x'.repeat(10_000));
    const empty = join(dir, 'empty');
    writeFileSync(empty, '\n');
    for (const [file, why] of [[join(dir, 'missing'), /cannot read/], [big, /larger than/], [empty, /is empty/]] as const) {
      assert.throws(() => postgresClientConfig({ url: 'postgres://u@h/d', passwordFile: file }), why);
    }
  });

  it('postgres config - redactUrl hides a password and leaves a URL without one as it is', () => {
    assert.equal(redactUrl('postgres://u:s3cret@h:5432/d'), 'postgres://u:***@h:5432/d');
    assert.equal(redactUrl('postgres://u@h/d'), 'postgres://u@h/d');
    assert.doesNotMatch(redactUrl('postgres://u:s3cret@h:bad/d'), /s3cret/);
  });
});
