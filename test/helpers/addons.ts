// Add-ons through a real hub, for the add-on e2e tests: the API and CLI
// calls they make, and waits on the status the agent reports.
import assert from 'node:assert/strict';
import type { AddonStatus } from '../../src/link/addons.ts';
import { kubectlJson } from './cluster.ts';
import { hubRequest } from './resources.ts';
import { eventually, uplink, type HubHandle } from './uplink.ts';

/** An install or upgrade of the webapp on kwok takes a second or two; this leaves room for a loaded machine. */
export const OPERATION_MS = 60_000;

export interface AddonView {
  name: string;
  generation: number;
  status: AddonStatus | null;
}

export class AddonHub {
  readonly hub: HubHandle;

  constructor(hub: HubHandle) {
    this.hub = hub;
  }

  /** Runs the uplink CLI as the hub's admin; fails the test unless it exits 0. */
  async cli(args: string[]): Promise<string> {
    const result = await uplink(args, this.hub.cliConfig);
    assert.equal(result.code, 0, `uplink ${args.join(' ')}: ${result.stderr}${result.stdout}`);
    return result.stdout;
  }

  async put(cluster: string, name: string, spec: Record<string, unknown>): Promise<AddonView> {
    const { status, text } = await hubRequest(this.hub, 'PUT', `/api/v1/clusters/${cluster}/addons/${name}`, spec);
    assert.ok(status === 200 || status === 201, `PUT ${name}: ${status} ${text}`);
    return JSON.parse(text) as AddonView;
  }

  async get(cluster: string, name: string): Promise<AddonView> {
    const { status, text } = await hubRequest(this.hub, 'GET', `/api/v1/clusters/${cluster}/addons/${name}`);
    assert.equal(status, 200, text);
    return JSON.parse(text) as AddonView;
  }

  /** Waits until the hub reports a status of `name` that passes `check`, and returns it. */
  statusOf(cluster: string, name: string, what: string, check: (s: AddonStatus, view: AddonView) => boolean, timeoutMs = OPERATION_MS): Promise<AddonStatus> {
    return eventually(`${name}: ${what}`, timeoutMs, async () => {
      const view = await this.get(cluster, name);
      return view.status !== null && check(view.status, view) ? view.status : undefined;
    });
  }

  /** Deployed with the add-on's current generation, healthy, at `revision`. */
  deployedAt(cluster: string, name: string, revision: number): Promise<AddonStatus> {
    return this.statusOf(cluster, name, `deployed and healthy at revision ${revision}`, (s, view) => s.generation === view.generation
      && s.phase === 'Deployed' && s.release?.revision === revision && s.release.status === 'deployed' && s.health?.status === 'Healthy');
  }
}

/** The spec of the webapp example chart from the chart repository at `repo`. */
export function webappSpec(repo: string, namespace: string, values = '', extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { source: { repo: { url: repo, chart: 'webapp' } }, version: '0.1.0', namespace, values, ...extra };
}

export async function deploymentReplicas(namespace: string, name: string): Promise<number> {
  const deployment = await kubectlJson<{ spec: { replicas: number } }>(['get', 'deployment', name, '-n', namespace]);
  return deployment.spec.replicas;
}
