// The agent chart (charts/uplink-agent) rendered with the real helm, and the
// parts of what it renders that the chart tests read.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { helmOffline } from './chart-sources.ts';
import { createTestNamespace, kubectl, REPO_ROOT } from './cluster.ts';

export const CHART = join(REPO_ROOT, 'charts/uplink-agent');

export interface KubeObject { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> } }
export interface EnvVar { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }
export interface Volume { name: string; secret?: { secretName: string; items: { key: string; path: string }[] }; configMap?: { name: string }; emptyDir?: object }
export interface Container { env: EnvVar[]; args: string[]; volumeMounts: { name: string; mountPath: string }[]; securityContext: object }
export interface SpreadConstraint { maxSkew: number; topologyKey: string; whenUnsatisfiable: string; labelSelector: { matchLabels: Record<string, string> }; matchLabelKeys?: string[] }
export interface PodSpec {
  serviceAccountName: string; containers: Container[]; volumes: Volume[]; securityContext: object;
  topologySpreadConstraints?: SpreadConstraint[]; affinity?: { podAntiAffinity?: object }; terminationGracePeriodSeconds: number;
}
export interface Deployment extends KubeObject {
  spec: {
    replicas: number; strategy: { type: string; rollingUpdate?: { maxSurge: number; maxUnavailable: number } };
    selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
  };
}
export interface Budget extends KubeObject { spec: { maxUnavailable: number | string; unhealthyPodEvictionPolicy?: string; selector: { matchLabels: Record<string, string> } } }
export interface Rule { apiGroups: string[]; resources: string[]; resourceNames?: string[]; verbs: string[] }

/** `--set` flags for each `path=value`. */
export const sets = (values: string[]): string[] => values.flatMap((v) => ['--set', v]);

/** `helm template` of the chart; no cluster involved. */
export async function render(namespace: string, values: string[], extra: string[] = []): Promise<KubeObject[]> {
  const { stdout } = await helmOffline(['template', 'r', CHART, '-n', namespace, ...sets(values), ...extra]);
  return parseAllDocuments(stdout).map((d) => d.toJS() as KubeObject | null).filter((o) => o !== null);
}

export function deploymentOf(objects: KubeObject[]): Deployment {
  const deployment = objects.find((o) => o.kind === 'Deployment');
  assert.ok(deployment, 'the chart renders a Deployment');
  return deployment as Deployment;
}

export const envOf = (deployment: Deployment): EnvVar[] => deployment.spec.template.spec.containers[0]?.env ?? [];
export const envValue = (deployment: Deployment, name: string): string | undefined => envOf(deployment).find((e) => e.name === name)?.value;

/** The Role's rules on Leases, as [resourceNames, verbs]. */
export function leaseRules(objects: KubeObject[]): [string[], string[]][] {
  const role = objects.find((o) => o.kind === 'Role') as (KubeObject & { rules: Rule[] }) | undefined;
  return (role?.rules ?? []).filter((r) => r.apiGroups.includes('coordination.k8s.io')).map((r) => [r.resourceNames ?? [], r.verbs]);
}

/** A namespace that enforces, and warns of, the restricted Pod Security Standard. */
export async function restrictedNamespace(t: TestContext, prefix: string): Promise<string> {
  const namespace = await createTestNamespace(t, prefix);
  await kubectl(['label', 'namespace', namespace, 'pod-security.kubernetes.io/enforce=restricted', 'pod-security.kubernetes.io/warn=restricted']);
  return namespace;
}
