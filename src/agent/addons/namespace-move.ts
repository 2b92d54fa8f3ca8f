// An add-on moved to another namespace: the agent installs it in the new one
// (taking over the cluster-scoped objects the old release owned), and once
// that release runs the desired spec, removes the release left in the old
// namespace with helm itself, after marking the cluster-scoped objects the
// new release has adopted `keep` in the old release's stored manifest, so
// helm's uninstall leaves them.
import type { KubeClient } from '../kube.ts';
import type { HelmRunner } from './helm-runner.ts';
import { KindNotServedError, parseManifest, type KindResolver } from './release-objects.ts';
import { listReleaseRecords, markKeptInRecord, type ManifestIdentity } from './release-storage.ts';
import { uninstallArgs } from './release-plan.ts';

export interface RetireOptions {
  kube: KubeClient;
  resolver: KindResolver;
  helm: HelmRunner;
  name: string;
  /** Where the release was. */
  oldNamespace: string;
  /** The manifest of the release in its new namespace. */
  newManifest: string;
  helmTimeoutSeconds: number;
  /** The helm process's own limit. */
  timeoutMs: number;
  signal: AbortSignal;
}

/** The cluster-scoped objects `manifest` renders. */
async function clusterScoped(manifest: string, resolver: KindResolver): Promise<ManifestIdentity[]> {
  const identities: ManifestIdentity[] = [];
  for (const ref of parseManifest(manifest)) {
    try {
      if (!(await resolver.resolve(ref.apiVersion, ref.kind)).namespaced) identities.push({ kind: ref.kind, name: ref.name });
    } catch (error) {
      if (!(error instanceof KindNotServedError)) throw error;
    }
  }
  return identities;
}

/**
 * Removes release `name` from `oldNamespace`, keeping the cluster-scoped
 * objects the new release renders. Returns false when there was none.
 */
export async function retireMovedRelease(options: RetireOptions): Promise<boolean> {
  const records = await listReleaseRecords(options.kube, options.oldNamespace, options.name);
  const latest = records.at(-1);
  if (latest === undefined) return false;
  const keep = await clusterScoped(options.newManifest, options.resolver);
  if (keep.length > 0) await markKeptInRecord(options.kube, options.oldNamespace, latest.secret, keep);
  await options.helm.run(uninstallArgs(options.name, options.oldNamespace, options.helmTimeoutSeconds), { signal: options.signal, timeoutMs: options.timeoutMs });
  return true;
}
