// The host form of the kubectl endpoint: with a kube domain configured
// (`--kube-domain kube.example.com`), a request whose Host is
// `<cluster>.kube.example.com` goes to that cluster with the path exactly as
// the API server's, so every client handles the kubeconfig (kubectl proxy and
// tools that drop or mishandle a server path prefix). Reading the Host header
// only selects a cluster; the token still decides whether the caller may use
// it, as with the path form.
import { X509Certificate } from 'node:crypto';
import { DNS_LABEL_PATTERN } from '../../domain/kube-names.ts';
import { ConfigError } from '../../util/settings.ts';

/**
 * Characters of a Host header read: a DNS name is at most 253, plus a port.
 * A longer header is judged by its tail (a name inside the kube domain ends
 * with it) and is never a cluster host.
 */
export const MAX_HOST_CHARS = 253 + ':65535'.length;
/** A cluster name (or id): one DNS label, as cluster names are. */
const CLUSTER_LABEL = new RegExp(DNS_LABEL_PATTERN);
const PORT = /^[0-9]{0,5}$/;

/** What a Host header says about the kube domain. */
export type ClusterHost =
  /** `<label>.<domain>`, the label a valid cluster name or id. */
  | { kind: 'cluster'; label: string }
  /** Inside the domain, but not a cluster host: answered 400 before the token is looked at. */
  | { kind: 'invalid'; reason: string };

/**
 * Reads a Host header against the kube domain: undefined when it is not
 * inside the domain (the hub's own host, the bare domain, an IP literal, no
 * header), so the hub serves it. The port is ignored, case does not matter
 * and one trailing dot is allowed, as in DNS. Never throws.
 */
export function clusterHostOf(host: string | undefined, domain: string): ClusterHost | undefined {
  if (host === undefined || host === '' || host.startsWith('[')) return undefined;
  const text = host.length > MAX_HOST_CHARS ? host.slice(-MAX_HOST_CHARS) : host;
  const colon = text.lastIndexOf(':');
  const port = colon === -1 ? '' : text.slice(colon + 1);
  const name = (colon === -1 ? text : text.slice(0, colon)).toLowerCase().replace(/\.$/, '');
  if (!name.endsWith(`.${domain}`)) return undefined;
  const label = name.slice(0, -(domain.length + 1));
  if (host.length > MAX_HOST_CHARS) return { kind: 'invalid', reason: `the Host header is longer than ${MAX_HOST_CHARS} characters` };
  if (!PORT.test(port)) return { kind: 'invalid', reason: 'the Host header has a malformed port' };
  if (!CLUSTER_LABEL.test(label)) {
    return { kind: 'invalid', reason: `the host name is not <cluster>.${domain}: a cluster name is one DNS label (a-z, 0-9, '-', at most 63)` };
  }
  return { kind: 'cluster', label };
}

/**
 * Refuses a public URL whose host is inside the kube domain: that name would
 * select a cluster, and the hub's own routes (the agent endpoint, the API,
 * the dashboard) could not be reached there.
 */
export function checkKubeDomain(settings: { kubeDomain?: string | undefined; publicUrl?: string | undefined }): void {
  if (settings.kubeDomain === undefined || settings.publicUrl === undefined) return;
  const { host } = new URL(settings.publicUrl);
  if (clusterHostOf(host, settings.kubeDomain) !== undefined) {
    throw new ConfigError(
      `--public-url ${settings.publicUrl} is inside --kube-domain ${settings.kubeDomain}: that host would select a cluster, not the hub. `
      + 'Give the kube domain a name the hub\'s host is not under (hub.example.com with kube.example.com, say)',
    );
  }
}

/**
 * Whether a server certificate (PEM) covers the hosts of the kube domain,
 * checked as a TLS client checks `<cluster>.<domain>`; undefined when it
 * cannot be read (the TLS server then refuses it with its own error). An
 * operator's certificate that does not is worth a warning at start.
 */
export function certificateCoversKubeDomain(certPem: string, domain: string): boolean | undefined {
  try {
    return new X509Certificate(certPem).checkHost(`cluster.${domain}`) !== undefined;
  } catch {
    return undefined;
  }
}
