// The envelope that carries a long kubectl request head over the link, byte
// by byte: what the hub encodes the agent reads back exactly, never past the
// announced length; a cut, oversized or malformed envelope is refused with a
// KubeEnvelopeError, never a crash or a partial head.
import assert from 'node:assert/strict';
import { PassThrough, type Readable } from 'node:stream';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  encodeKubeEnvelope, KubeEnvelopeError, linkHeadBytes, MAX_KUBE_ENVELOPE_HEAD_BYTES, parseKubeEnvelopeHead, readKubeEnvelope, type KubeEnvelopeHead,
} from './kube-envelope.ts';

const HEAD: KubeEnvelopeHead = {
  method: 'POST',
  target: `/api/v1/namespaces/default/pods/web/exec?command=echo&command=${'x'.repeat(70_000)}&stdout=true`,
  headers: {
    'x-uplink-upgrade': 'SPDY/3.1', 'x-stream-protocol-version': ['v5.channel.k8s.io', 'v4.channel.k8s.io'],
    'impersonate-user': 'uplink:alice', 'impersonate-group': 'uplink:admin', 'user-agent': 'kubectl/v1.36.4 \u00e9',
  },
};

function lengthPrefix(length: number): Buffer {
  const prefix = Buffer.alloc(4);
  prefix.writeUInt32BE(length);
  return prefix;
}

/** A stream that yields `chunks` and ends (or stays open with `open`). */
function streamOf(chunks: Buffer[], open = false): PassThrough {
  const stream = new PassThrough();
  for (const chunk of chunks) stream.write(chunk);
  if (!open) stream.end();
  return stream;
}

async function rest(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('latin1');
}

async function refusal(stream: Readable, timeoutMs?: number): Promise<string> {
  try {
    await readKubeEnvelope(stream, timeoutMs);
  } catch (error) {
    assert.ok(error instanceof KubeEnvelopeError, `a KubeEnvelopeError, not ${String(error)}`);
    assert.equal(error.code, 'KUBE_ENVELOPE_INVALID');
    return error.message;
  }
  assert.fail('the envelope was accepted');
}

function envelopeOf(json: string): Buffer {
  const body = Buffer.from(json);
  return Buffer.concat([lengthPrefix(body.length), body]);
}

describe('kube envelope', () => {
  it('kube envelope - a head travels whole and the body after it is left unread, byte by byte or at once', async () => {
    const envelope = encodeKubeEnvelope(HEAD);
    assert.equal(envelope.readUInt32BE(0), envelope.length - 4);
    const wire = Buffer.concat([envelope, Buffer.from('BODY-BYTES')]);
    const oneByOne = streamOf([...wire].map((byte) => Buffer.from([byte])));
    assert.deepEqual(await readKubeEnvelope(oneByOne), HEAD);
    assert.equal(await rest(oneByOne), 'BODY-BYTES');
    const atOnce = streamOf([wire]);
    assert.deepEqual(await readKubeEnvelope(atOnce), HEAD);
    assert.equal(await rest(atOnce), 'BODY-BYTES');
  });

  it('kube envelope - with no body the stream ends right after the head', async () => {
    const stream = streamOf([encodeKubeEnvelope(HEAD)]);
    assert.deepEqual(await readKubeEnvelope(stream), HEAD);
    assert.equal(await rest(stream), '');
  });

  it('kube envelope - any split of the wire bytes reads the same head and body', async () => {
    const wire = Buffer.concat([encodeKubeEnvelope({ ...HEAD, target: '/api/v1/pods?labelSelector=a%3Db' }), Buffer.from('tail')]);
    await fc.assert(fc.asyncProperty(fc.array(fc.integer({ min: 1, max: wire.length - 1 }), { maxLength: 6 }), async (cuts) => {
      const points = [0, ...new Set(cuts)].sort((a, b) => a - b);
      const chunks = points.map((start, i) => wire.subarray(start, points[i + 1] ?? wire.length));
      const stream = streamOf(chunks);
      assert.equal((await readKubeEnvelope(stream)).target, '/api/v1/pods?labelSelector=a%3Db');
      assert.equal(await rest(stream), 'tail');
    }), { numRuns: 200 });
  });

  it('kube envelope - a cut length prefix or head is refused, not read as a shorter head', async () => {
    const envelope = encodeKubeEnvelope(HEAD);
    assert.match(await refusal(streamOf([])), /ended inside its envelope/);
    assert.match(await refusal(streamOf([envelope.subarray(0, 3)])), /ended inside its envelope/);
    assert.match(await refusal(streamOf([envelope.subarray(0, 4)])), /ended inside its envelope/);
    assert.match(await refusal(streamOf([envelope.subarray(0, envelope.length - 1)])), /ended inside its envelope/);
  });

  it('kube envelope - a length of 0 or over the bound is refused before any of the head is read', async () => {
    assert.match(await refusal(streamOf([lengthPrefix(0), Buffer.from('{}')])), /must be 1 to/);
    const oversized = streamOf([lengthPrefix(MAX_KUBE_ENVELOPE_HEAD_BYTES + 1)], true);
    assert.match(await refusal(oversized), new RegExp(`not ${MAX_KUBE_ENVELOPE_HEAD_BYTES + 1}`));
    assert.match(await refusal(streamOf([Buffer.from([0xff, 0xff, 0xff, 0xff])], true)), /not 4294967295/);
  });

  it('kube envelope - a head that stops arriving is refused after the deadline', async () => {
    const stalled = streamOf([encodeKubeEnvelope(HEAD).subarray(0, 100)], true);
    assert.match(await refusal(stalled, 50), /did not arrive within 50 ms/);
  });

  it('kube envelope - a stream that fails inside the envelope is refused', async () => {
    const stream = streamOf([lengthPrefix(10)], true);
    const read = refusal(stream);
    stream.destroy(new Error('reset'));
    assert.match(await read, /failed inside its envelope/);
  });

  it('kube envelope - a head that is not JSON, not an object or mistyped is refused naming the field', async () => {
    const cases: [string, RegExp][] = [
      ['{"method":"GET",', /not JSON/],
      ['\u00ff\u00fe', /not JSON/],
      ['[1,2]', /must be a JSON object/],
      ['null', /must be a JSON object/],
      ['{"target":"/api","headers":{}}', /method must be/],
      ['{"method":"GET /x","target":"/api","headers":{}}', /method must be/],
      ['{"method":"","target":"/api","headers":{}}', /method must be/],
      [`{"method":"${'G'.repeat(33)}","target":"/api","headers":{}}`, /method must be/],
      ['{"method":"GET","target":"api","headers":{}}', /target must be/],
      ['{"method":"GET","target":7,"headers":{}}', /target must be/],
      ['{"method":"GET","target":"/api"}', /headers must be an object/],
      ['{"method":"GET","target":"/api","headers":["a"]}', /headers must be an object/],
      ['{"method":"GET","target":"/api","headers":{"Accept":"x"}}', /lower-case HTTP token/],
      ['{"method":"GET","target":"/api","headers":{"a b":"x"}}', /lower-case HTTP token/],
      ['{"method":"GET","target":"/api","headers":{"accept":7}}', /header accept has a value/],
      ['{"method":"GET","target":"/api","headers":{"accept":"a\\r\\nx-evil: 1"}}', /header accept has a value/],
      ['{"method":"GET","target":"/api","headers":{"accept":"\u0100"}}', /header accept has a value/],
      ['{"method":"GET","target":"/api","headers":{"accept":[]}}', /1 to 64 values/],
      [`{"method":"GET","target":"/api","headers":{"accept":${JSON.stringify(Array(65).fill('a'))}}}`, /1 to 64 values/],
      [`{"method":"GET","target":"/api","headers":${JSON.stringify(Object.fromEntries(Array.from({ length: 257 }, (_, i) => [`h${i}`, 'v'])))}}`, /at most 256 names/],
    ];
    for (const [json, expected] of cases) assert.match(await refusal(streamOf([envelopeOf(json)])), expected, json.slice(0, 60));
  });

  it('kube envelope - fields a newer hub adds are dropped, not refused', () => {
    const head = parseKubeEnvelopeHead(Buffer.from('{"method":"GET","target":"/api","headers":{"accept":"x"},"priority":"high","trace":{"id":1}}'));
    assert.deepEqual(head, { method: 'GET', target: '/api', headers: { accept: 'x' } });
  });

  it('kube envelope - the hub refuses to encode a head over the bound', () => {
    assert.throws(() => encodeKubeEnvelope({ method: 'GET', target: `/api?q=${'"'.repeat(600 * 1024)}`, headers: {} }), KubeEnvelopeError);
    const largest = encodeKubeEnvelope({ method: 'GET', target: `/api?q=${'a'.repeat(1024 * 1024)}`, headers: { 'user-agent': 'u'.repeat(30_000) } });
    assert.ok(largest.length <= MAX_KUBE_ENVELOPE_HEAD_BYTES + 4);
  });

  it('kube envelope - any bytes at all are a head or a KubeEnvelopeError', async () => {
    await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 64 }), fc.boolean(), async (bytes, prefixed) => {
      const body = Buffer.from(bytes);
      const stream = streamOf([prefixed ? Buffer.concat([lengthPrefix(body.length), body]) : body]);
      try {
        const head = await readKubeEnvelope(stream, 1000);
        assert.equal(typeof head.method, 'string');
      } catch (error) {
        assert.ok(error instanceof KubeEnvelopeError, String(error));
      }
    }), { numRuns: 500 });
  });

  it('kube envelope - a head is measured as HTTP/2 counts a header list', () => {
    assert.equal(linkHeadBytes({ ':path': '/v1/kube/api', accept: ['a', 'bb'], skipped: undefined }), (5 + 12 + 32) + (6 + 1 + 32) + (6 + 2 + 32));
  });
});
