// The egress IP lookup against a real HTTP server on loopback.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import { Writable } from 'node:stream';
import { describe, it, type TestContext } from 'node:test';
import { pino } from 'pino';
import { PUBLIC_IP_LOOKUP_INTERVAL_MS, PublicIpLookup, publicIpLookupFor } from './public-ip.ts';

/** A server whose every answer `respond` writes; counts the requests. */
async function echoServer(t: TestContext, respond: (res: ServerResponse) => void): Promise<{ url: string; requests: () => number }> {
  let requests = 0;
  const server = createServer((_req, res) => {
    requests += 1;
    respond(res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { url: `http://127.0.0.1:${port}/`, requests: () => requests };
}

const answer = (body: string, status = 200) => (res: ServerResponse): void => { res.writeHead(status, { 'content-type': 'text/plain' }).end(body); };

/** A debug logger whose lines the test can read. */
function capturingLogger(): { log: pino.Logger; lines: { level: number; msg: string; err?: { message: string } }[] } {
  const lines: { level: number; msg: string; err?: { message: string } }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done): void {
      lines.push(JSON.parse(chunk.toString()) as (typeof lines)[number]);
      done();
    },
  });
  return { log: pino({ level: 'debug' }, sink), lines };
}

/** Asks once and waits for the answer: what the next heartbeat would carry. */
async function lookUpOnce(lookup: PublicIpLookup): Promise<string | undefined> {
  lookup.current();
  await lookup.settled();
  return lookup.current();
}

describe('public IP', () => {
  it('public IP - a plain IPv4 or IPv6 answer (whitespace trimmed) becomes the egress address after the lookup ends', async (t) => {
    for (const address of ['203.0.113.7', '2001:db8::42']) {
      const server = await echoServer(t, answer(`${address}\n`));
      const lookup = new PublicIpLookup({ url: server.url, log: capturingLogger().log });
      assert.equal(lookup.current(), undefined, 'the first heartbeat does not wait for the lookup');
      await lookup.settled();
      assert.equal(lookup.current(), address);
      assert.equal(server.requests(), 1);
    }
  });

  it('public IP - an answer that is not an address, an error status, an oversized body or no answer in time is absent and logged at debug', async (t) => {
    const cases: [string, (res: ServerResponse) => void, RegExp][] = [
      ['html', answer('<html>203.0.113.7</html>'), /not an IP address/],
      ['status', answer('203.0.113.7', 503), /answered HTTP 503/],
      ['oversized', answer(`${' '.repeat(300)}203.0.113.7`), /larger than 256 bytes/],
      ['silent', () => undefined, /no answer in time/],
    ];
    for (const [name, respond, message] of cases) {
      const server = await echoServer(t, respond);
      const { log, lines } = capturingLogger();
      const lookup = new PublicIpLookup({ url: server.url, log, timeoutMs: 200 });
      assert.equal(await lookUpOnce(lookup), undefined, name);
      const line = lines.find((l) => /could not look up the egress IP/.test(l.msg));
      assert.equal(line?.level, 20, `${name}: logged at debug`);
      assert.match(line.err?.message ?? '', message, name);
    }
  });

  it('public IP - at most one request per interval, failures included; a failure after a success makes the address absent', async (t) => {
    let body = 'garbage';
    const server = await echoServer(t, (res) => { answer(body)(res); });
    const clock = { now: 1_000_000 };
    const lookup = new PublicIpLookup({ url: server.url, log: capturingLogger().log, now: () => clock.now });
    assert.equal(await lookUpOnce(lookup), undefined);
    body = '198.51.100.1';
    clock.now += PUBLIC_IP_LOOKUP_INTERVAL_MS - 1;
    for (let i = 0; i < 5; i += 1) assert.equal(await lookUpOnce(lookup), undefined, 'no new try before the interval');
    assert.equal(server.requests(), 1);
    clock.now += 1;
    assert.equal(await lookUpOnce(lookup), '198.51.100.1');
    assert.equal(server.requests(), 2);
    body = 'down';
    clock.now += PUBLIC_IP_LOOKUP_INTERVAL_MS;
    assert.equal(await lookUpOnce(lookup), undefined);
    assert.equal(server.requests(), 3);
  });

  it('public IP - heartbeats while a lookup is in flight start no second request, and stop cancels it', async (t) => {
    const server = await echoServer(t, () => undefined);
    // A lookup timeout no test waits for: stop resolving at all shows it cancels the request.
    const lookup = new PublicIpLookup({ url: server.url, log: capturingLogger().log, intervalMs: 0, timeoutMs: 24 * 3600_000 });
    lookup.current();
    while (server.requests() === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    for (let i = 0; i < 3; i += 1) lookup.current();
    await lookup.stop();
    assert.equal(lookup.current(), undefined);
    assert.equal(server.requests(), 1);
  });

  it('public IP - off (the default) builds no lookup, so no request is made; on, it asks the configured URL', async (t) => {
    const server = await echoServer(t, answer('192.0.2.9'));
    const { log } = capturingLogger();
    assert.equal(publicIpLookupFor({ reportPublicIp: false, publicIpUrl: server.url }, log), undefined);
    assert.equal(server.requests(), 0);
    const lookup = publicIpLookupFor({ reportPublicIp: true, publicIpUrl: server.url }, log);
    assert.ok(lookup);
    assert.equal(await lookUpOnce(lookup), '192.0.2.9');
  });
});
