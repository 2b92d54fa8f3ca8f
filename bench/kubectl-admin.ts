// The test cluster's admin client certificate, read from its kubeconfig, for
// benchmarks that put the API server directly next to the hub's path.
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { parse as parseYaml } from 'yaml';

interface KubeconfigFile {
  clusters: { cluster: { server: string; 'certificate-authority-data': string } }[];
  users: { user: { 'client-certificate-data': string; 'client-key-data': string } }[];
}

/** The API server's URL and a keep-alive HTTPS agent that authenticates as the kubeconfig's (first) user. */
export function adminAgent(kubeconfig: string, maxSockets: number): { server: string; agent: https.Agent } {
  const config = parseYaml(readFileSync(kubeconfig, 'utf8')) as KubeconfigFile;
  const cluster = config.clusters[0]?.cluster;
  const user = config.users[0]?.user;
  if (!cluster || !user) throw new Error('unexpected admin kubeconfig');
  const decode = (s: string): string => Buffer.from(s, 'base64').toString();
  const agent = new https.Agent({
    keepAlive: true, maxSockets, ca: decode(cluster['certificate-authority-data']),
    cert: decode(user['client-certificate-data']), key: decode(user['client-key-data']),
  });
  return { server: cluster.server, agent };
}
