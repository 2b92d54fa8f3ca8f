// kubectl's streaming verbs, straight at the API server and through the hub on
// the same pods, compared: logs with each flag and -f, exec with stdin and
// on a terminal, attach, port-forward of several ports, and cp of a large
// file and a directory both ways. kwok serves them (docs/test-cluster.md):
// every pod's log is one file other tests append to too, exec runs on this
// host, and pod port 8080 goes to a server the test runs.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { POD_FORWARD_TARGET_PORT, kubectl, testTempDir, writePodLogLine } from '../../helpers/cluster.ts';
import { compare, StreamPair, startCompat, type Compat, type Side, type SideStream } from '../../helpers/kubectl-compare.ts';
import { klog, linesMatching, localPorts, sortedLines, upToLast } from '../../helpers/kubectl-normalise.ts';
import { eventually, suiteContext } from '../../helpers/uplink.ts';

const { t: suite, runCleanups } = suiteContext('compat-streams');

/**
 * Other tests append to kwok's one pod log at any time: a read of its last
 * lines that met such a line between the two runs is retried. (A read of the
 * whole file is compared up to the test's own last line instead.)
 */
const SHARED_LOG = { attempts: 10 };

const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

/**
 * Writes a warm-up line every 300 ms until both streams show it, so both are
 * reading before the lines that are compared are written.
 */
async function warmUp(pair: StreamPair, marker: string): Promise<void> {
  const line = `${marker} warm-up`;
  const writer = setInterval(() => { void writePodLogLine(line); }, 300);
  try {
    await pair.waitBoth('a warm-up line', (s) => s.stdout.includes(line));
  } finally {
    clearInterval(writer);
  }
}

/**
 * A TCP server on kwok's port-forward target that answers `pong:<bytes>`.
 * Other tests use the same fixed port for a moment; this waits until it is free.
 */
async function echoServer(t: TestContext): Promise<void> {
  const sockets: Socket[] = [];
  const server: Server = createServer((socket) => {
    sockets.push(socket);
    socket.on('data', (chunk: Buffer) => { socket.write(`pong:${chunk.toString()}`); });
    socket.on('error', () => undefined);
  });
  const listen = (): Promise<true> => new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(POD_FORWARD_TARGET_PORT, '127.0.0.1', () => {
      server.off('error', reject);
      resolve(true);
    });
  });
  await eventually(`port ${POD_FORWARD_TARGET_PORT} to be free`, 120_000, listen);
  t.after(() => { for (const socket of sockets) socket.destroy(); server.close(); });
}

/** Sends `text` to a local port and resolves with the whole answer of `expected` length. */
async function exchange(port: number, text: string, expected: number): Promise<string> {
  const client = connect(port, '127.0.0.1');
  await once(client, 'connect');
  let received = '';
  client.on('data', (chunk: Buffer) => { received += chunk.toString(); });
  client.write(text);
  try {
    return await eventually('the answer', 30_000, () => (received.length >= expected ? received : undefined));
  } finally {
    client.destroy();
  }
}

/** The local ports a port-forward printed, in order. */
function forwardedPorts(stream: SideStream): number[] {
  return [...stream.stdout.matchAll(/Forwarding from 127\.0\.0\.1:(\d+) -> \d+/g)].map((m) => Number(m[1]));
}

describe('kubectl compared: streams', () => {
  let env: Compat;
  let pod: string;

  before(async () => {
    env = await startCompat(suite, 'streams', { twins: false });
    const labels = { app: 'streams' };
    const deployment = {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'streams', labels },
      spec: {
        replicas: 2, selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: { containers: [{ name: 'app', image: 'registry.invalid/app:1', ports: [{ containerPort: 8080 }] }, { name: 'side', image: 'registry.invalid/side:1' }] },
        },
      },
    };
    const service = {
      apiVersion: 'v1', kind: 'Service', metadata: { name: 'streams' },
      spec: { selector: labels, ports: [{ name: 'http', port: 80, targetPort: 8080 }, { name: 'alt', port: 8081, targetPort: 8080 }] },
    };
    const ns = ['-n', env.api.namespace];
    await kubectl([...ns, 'apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [deployment, service] }) });
    await kubectl([...ns, 'rollout', 'status', 'deployment/streams', '--timeout=120s'], { timeoutMs: 130_000 });
    pod = (await kubectl([...ns, 'get', 'pods', '-l', 'app=streams', '-o', 'jsonpath={.items[0].metadata.name}'])).stdout;
  });

  after(async () => {
    await runCleanups();
  });

  it('compat - logs with each flag', async () => {
    const since = new Date(Date.now() - 1000).toISOString();
    const marker = `compat-logs-${env.run}`;
    for (const n of [1, 2, 3]) await writePodLogLine(`${marker} ${n}`);
    const wholeFile = { normalise: [upToLast(`${marker} 3`)] };
    const whole = await compare(env, ['logs', pod], wholeFile);
    assert.match(whole.api.stdout, new RegExp(`${marker} 1\\n${marker} 2\\n${marker} 3\\n$`));
    assert.equal(whole.api.stderr, 'Defaulted container "app" out of: app, side\n');
    await Promise.all([
      compare(env, ['logs', pod, '-c', 'side'], wholeFile),
      compare(env, ['logs', pod, '-c', 'app', '--timestamps'], wholeFile),
      compare(env, ['logs', pod, '-c', 'app', '--since=1h'], wholeFile),
      compare(env, ['logs', pod, '-c', 'app', `--since-time=${since}`], wholeFile),
      compare(env, ['logs', pod, '-c', 'app', '--limit-bytes=40']),
      compare(env, ['logs', pod, '-c', 'app', '--tail=2'], SHARED_LOG),
      compare(env, ['logs', pod, '-c', 'app', '--timestamps', '--tail=3'], SHARED_LOG),
      compare(env, ['logs', 'deployment/streams', '-c', 'side', '--tail=1'], SHARED_LOG),
    ]);
    const several = { ...SHARED_LOG, normalise: [sortedLines] };
    const all = await compare(env, ['logs', pod, '--all-containers', '--prefix', '--tail=1'], several);
    assert.equal(all.api.stdout.split('\n').length, 2);
    const selected = await compare(env, ['logs', '-l', 'app=streams', '--all-containers', '--prefix', '--timestamps', '--tail=1'], several);
    assert.equal(selected.api.stdout.split('\n').length, 4);
    const previous = await compare(env, ['logs', pod, '-c', 'app', '--previous'], { code: 1 });
    assert.match(previous.api.stderr, /BadRequest/);
    const unknown = await compare(env, ['logs', pod, '-c', 'nope'], { code: 1 });
    assert.match(unknown.api.stderr, /container nope is not valid for pod/);
    const tooMany = await compare(env, ['logs', '-f', '-l', 'app=streams', '--all-containers', '--max-log-requests=1'], { code: 1 });
    assert.match(tooMany.api.stderr, /you are attempting to follow 4 log streams, but maximum allowed concurrency is 1/);
  });

  it('compat - logs -f of one container, and of every container of several pods', async (t) => {
    const marker = `compat-follow-${env.run}`;
    const one = await StreamPair.start(t, env, ['logs', '-f', pod, '-c', 'app']);
    const many = await StreamPair.start(t, env, ['logs', '-f', '-l', 'app=streams', '--all-containers', '--prefix', '--tail=0']);
    await warmUp(one, marker);
    await warmUp(many, marker);
    for (const n of [1, 2, 3]) await writePodLogLine(`${marker} line ${n}`);
    await writePodLogLine(`${marker} end`);
    const ended = (s: SideStream): boolean => (s.stdout.match(new RegExp(`${marker} end`, 'g')) ?? []).length >= (s === one.api || s === one.hub ? 1 : 4);
    await one.waitBoth('the end line', ended);
    await many.waitBoth('the end line from each container', ended);
    // The single follow printed the whole file up to the end line alike; the
    // others read 4 streams in parallel, so their lines are compared sorted.
    const single = await one.compare({ normalise: [upToLast(`${marker} end`)] });
    assert.match(single.api.stdout, new RegExp(`${marker} line 1\\n${marker} line 2\\n${marker} line 3\\n${marker} end\\n$`));
    const merged = await many.compare({ normalise: [linesMatching(new RegExp(`${marker} (line|end)`)), sortedLines] });
    assert.equal(merged.api.stdout.split('\n').length, 16, 'four lines from each of four containers');
  });

  it('compat - exec with stdin, stderr and an exit code, in another container, and refused', async () => {
    const input = randomBytes(1024 * 1024).toString('base64');
    const piped = await compare(env, ['exec', '-i', pod, '-c', 'app', '--', 'sh', '-c', 'sha256sum; echo to-stderr >&2; exit 3'], { input, code: 3 });
    assert.equal(piped.api.stdout, `${sha256(input)}  -\n`);
    assert.equal(piped.api.stderr, 'to-stderr\ncommand terminated with exit code 3\n');
    const split = await compare(env, ['exec', pod, '--', 'sh', '-c', 'echo out; echo err >&2']);
    assert.deepEqual([split.api.stdout, split.api.stderr], ['out\n', 'Defaulted container "app" out of: app, side\nerr\n']);
    const side = await compare(env, ['exec', pod, '-c', 'side', '--', 'printenv', 'IN_KWOK']);
    assert.equal(side.api.stdout, '1\n');
    await compare(env, ['exec', 'deployment/streams', '-c', 'app', '--', 'true']);
    const missing = await compare(env, ['exec', pod, '-c', 'nope', '--', 'true'], { code: 1 });
    assert.match(missing.api.stderr, /container nope not found|container nope is not valid/);
    await compare(env, ['exec', pod, '-c', 'app', '--', 'sh', '-c', 'exit 42'], { code: 42 });
    // kubectl speaks WebSocket (v5.channel.k8s.io) first; SPDY/3.1 is its fallback, forced here.
    const spdy = await compare(env, ['exec', '-i', pod, '-c', 'app', '--', 'sh', '-c', 'sha256sum; exit 4'], { input, code: 4, env: { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: 'false' } });
    assert.equal(spdy.api.stdout, `${sha256(input)}  -\n`);
  });

  it('compat - exec -it on a terminal: a TTY of the terminal\'s size, and typed input, over WebSocket and SPDY', async (t) => {
    // The terminal size travels in a resize message after the command has
    // started: the command waits (up to 10 s) until it has one. kwok loses a
    // TTY command's last output when it exits at once (straight to the API
    // server as through the hub), so the command waits for a last line that
    // ends it, and what it printed before that is compared.
    const script = 'test -t 0 && echo stdin-is-a-tty; i=0; while [ "$(stty size)" = "0 0" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; '
      + 'stty size; echo ready; read line; echo "got:$line"; read last';
    for (const websockets of ['true', 'false']) {
      const pair = await StreamPair.start(t, env, ['exec', '-it', pod, '-c', 'app', '--', 'sh', '-c', script], {
        terminal: { columns: 91, rows: 27 }, env: { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: websockets },
      });
      const type = (text: string): void => { for (const stream of [pair.api, pair.hub]) stream.child.stdin?.write(text); };
      await pair.waitBoth('the prompt', (s) => s.stdout.includes('ready'));
      type('typed line\r');
      await pair.waitBoth('the answer', (s) => s.stdout.includes('got:typed line'));
      type('bye\r');
      const { api } = await pair.compare({ untilExit: true, normalise: [upToLast('got:typed line')] });
      assert.equal(api.stdout, 'stdin-is-a-tty\r\n27 91\r\nready\r\ntyped line\r\ngot:typed line\r\n', `websockets=${websockets}`);
    }
  });

  it('compat - attach streams what the container writes, over WebSocket and SPDY', async (t) => {
    for (const websockets of ['true', 'false']) {
      const marker = `compat-attach-${env.run}-${websockets}`;
      const pair = await StreamPair.start(t, env, ['attach', pod, '-c', 'app'], { env: { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: websockets } });
      await warmUp(pair, marker);
      for (const n of [1, 2, 3]) await writePodLogLine(`${marker} line ${n}`);
      await pair.waitBoth('the last line', (s) => s.stdout.includes(`${marker} line 3`));
      const { api } = await pair.compare({ normalise: [linesMatching(new RegExp(`${marker} line`))] });
      assert.equal(api.stdout, `${marker} line 1\n${marker} line 2\n${marker} line 3`, `websockets=${websockets}`);
    }
  });

  it('compat - port-forward of several ports to a service, and of a port the pod does not serve', async (t) => {
    await echoServer(t);
    // Over WebSocket (v2.portforward.k8s.io, kubectl's first choice) and over SPDY/3.1, forced.
    for (const websockets of ['true', 'false']) {
      const working = await StreamPair.start(t, env, ['port-forward', 'service/streams', ':80', ':8081'], { env: { KUBECTL_PORT_FORWARD_WEBSOCKETS: websockets } });
      await working.waitBoth('both ports to listen', (s) => forwardedPorts(s).length === 2);
      for (const stream of [working.api, working.hub]) {
        for (const [i, port] of forwardedPorts(stream).entries()) {
          const text = `ping-${i}`;
          assert.equal(await exchange(port, text, `pong:${text}`.length), `pong:${text}`, `port ${i} on the ${stream.side.name} side`);
        }
      }
      const served = await working.compare({ normalise: [localPorts] });
      assert.match(served.api.stdout, /Forwarding from 127\.0\.0\.1:<port> -> 8080\n[\s\S]*Forwarding from 127\.0\.0\.1:<port> -> 8080/);
      assert.equal(served.api.stdout.match(/Handling connection for <port>/g)?.length, 2);
    }
    // kwok forwards only port 8080: the error for another comes back the same way, and ends port-forward.
    const refused = await StreamPair.start(t, env, ['port-forward', `pod/${pod}`, ':9090']);
    await refused.waitBoth('the port to listen', (s) => forwardedPorts(s).length === 1);
    for (const stream of [refused.api, refused.hub]) {
      const client = connect(forwardedPorts(stream)[0] ?? 0, '127.0.0.1');
      client.on('error', () => undefined);
      client.write('ping');
    }
    const failed = await refused.compare({ untilExit: true, code: 1, normalise: [localPorts, klog] });
    assert.match(failed.api.stderr, /no forward found for port 9090[\s\S]*error: lost connection to pod/);
  });

  it('compat - cp of a large file and a directory, both ways', async (t) => {
    // kwok runs exec on this host, so the pod's filesystem is this host's:
    // each side copies to a directory of its own.
    const dir = testTempDir(t, 'uplink-compat-cp-');
    const big = randomBytes(8 * 1024 * 1024);
    mkdirSync(join(dir, 'tree', 'sub'), { recursive: true });
    writeFileSync(join(dir, 'big.bin'), big);
    writeFileSync(join(dir, 'tree', 'a.txt'), 'a\n');
    writeFileSync(join(dir, 'tree', 'sub', 'b.txt'), 'b\n');
    // The directories' names end in the sides' twin endings, so kubectl's output names them alike.
    const remote = (side: Side): string => join(dir, `remote-${env.run}-${side.name}`);
    const local = (side: Side): string => join(dir, `local-${env.run}-${side.name}`);
    for (const side of [env.api, env.hub]) {
      mkdirSync(remote(side));
      mkdirSync(local(side));
    }
    await compare(env, (side) => ['cp', '-c', 'app', join(dir, 'big.bin'), `${pod}:${remote(side)}/big.bin`], { timeoutMs: 300_000 });
    await compare(env, (side) => ['cp', '-c', 'app', join(dir, 'tree'), `${pod}:${remote(side)}/tree`]);
    // kubectl prints the remote tar's stderr from a goroutine it does not wait
    // for: it exits once the archive has been read, with the line, part of it, or none.
    const note = "tar: Removing leading `/' from member names\n";
    const download = { normalise: [(text: string): string => (note.startsWith(text) ? '' : text)], timeoutMs: 300_000 };
    await compare(env, (side) => ['cp', '-c', 'app', `${pod}:${remote(side)}/big.bin`, join(local(side), 'big.bin')], download);
    await compare(env, (side) => ['cp', '-c', 'app', `${pod}:${remote(side)}/tree`, join(local(side), 'tree')], download);
    for (const side of [env.api, env.hub]) {
      assert.equal(sha256(readFileSync(join(remote(side), 'big.bin'))), sha256(big), `upload on the ${side.name} side`);
      assert.equal(sha256(readFileSync(join(local(side), 'big.bin'))), sha256(big), `download on the ${side.name} side`);
      assert.equal(readFileSync(join(local(side), 'tree', 'sub', 'b.txt'), 'utf8'), 'b\n');
    }
  });
});
