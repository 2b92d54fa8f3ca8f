// /api/v1/kubectl: where kubectl reaches a cluster through this hub, so
// `uplink kubeconfig` can write either form without the user knowing the
// hub's settings. Any authenticated user may read it.
import type { FastifyInstance } from 'fastify';
import { KUBE_PATH_PREFIX } from '../kube/proxy.ts';

/** The kubectl endpoint's two forms. */
export interface KubectlEndpointView {
  /** The path form: `<hub URL><pathPrefix><cluster>`. */
  pathPrefix: string;
  /**
   * The host form, `<scheme>://<cluster>.<domain>[:<port>]` with the API
   * server's own paths; null when the hub has no kube domain. Scheme and port
   * are the public URL's (port null: the scheme's default).
   */
  hostRouting: { domain: string; scheme: 'https' | 'http'; port: number | null } | null;
}

export interface KubectlEndpointOptions {
  kubeDomain: string | undefined;
  /** The hub's public URL, known once it listens. */
  publicUrl: () => string;
}

/** The view for a hub with these settings. */
export function kubectlEndpointView(options: KubectlEndpointOptions): KubectlEndpointView {
  if (options.kubeDomain === undefined) return { pathPrefix: KUBE_PATH_PREFIX, hostRouting: null };
  const url = new URL(options.publicUrl());
  return {
    pathPrefix: KUBE_PATH_PREFIX,
    hostRouting: { domain: options.kubeDomain, scheme: url.protocol === 'http:' ? 'http' : 'https', port: url.port === '' ? null : Number(url.port) },
  };
}

export function registerKubectlEndpointRoute(app: FastifyInstance, options: KubectlEndpointOptions): void {
  app.get('/api/v1/kubectl', (): KubectlEndpointView => kubectlEndpointView(options));
}
