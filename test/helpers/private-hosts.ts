// Name resolution for one child process, where a forward proxy cannot stand
// in for DNS: `kubectl proxy` dials the API server itself for upgrades (exec,
// attach, port-forward; k8s.io/apimachinery pkg/util/proxy DialURL), ignoring
// HTTPS_PROXY and the kubeconfig's proxy-url. The child runs in a mount
// namespace of its own where /etc/hosts is a bind mount of a copy with extra
// lines; the machine's /etc/hosts is not touched and no other process sees
// the copy. Needs root or unprivileged user namespaces (`unshare`).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { runProcess } from '../../src/util/run-process.ts';
import { testTempDir } from './cluster.ts';

const HOSTS_FILE = '/etc/hosts';

/** `unshare` flags for a private mount namespace, mapping this user to root in a user namespace when it is not root. */
function unshareFlags(): string[] {
  return [...(process.getuid?.() === 0 ? [] : ['--map-root-user']), '--mount', '--propagation', 'private'];
}

/**
 * The command and arguments that run `command args` with `names` resolving to
 * 127.0.0.1. Throws, saying why, when this machine cannot make a private
 * mount namespace.
 */
export async function withPrivateHosts(t: TestContext, names: string[], command: string, args: string[]): Promise<{ command: string; args: string[] }> {
  const file = join(testTempDir(t, 'uplink-hosts-'), 'hosts');
  writeFileSync(file, `${readFileSync(HOSTS_FILE, 'utf8').trimEnd()}\n127.0.0.1 ${names.join(' ')}\n`);
  const wrapped = (inner: string[]): string[] => [...unshareFlags(), 'sh', '-c', `mount --bind "$0" ${HOSTS_FILE} && exec "$@"`, file, ...inner];
  const probe = await runProcess('unshare', wrapped(['true']), { timeoutMs: 30_000 }).catch((error: unknown) => ({ code: -1, stderr: String(error) }));
  if (probe.code !== 0) {
    throw new Error(`this test needs a private mount namespace (unshare ${unshareFlags().join(' ')}, as root or with user namespaces) to give one process a hosts file: ${probe.stderr.trim()}`);
  }
  return { command: 'unshare', args: wrapped([command, ...args]) };
}
