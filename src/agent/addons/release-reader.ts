// Reading an add-on's Helm release for the engine: its current revision,
// labels and history (two helm processes at once), its manifest, and the
// health of its objects, each through the engine's bounded pools. The
// manifest is read again only when the revision changed.
import type { AddonHealth } from '../../link/addons.ts';
import { MAX_STATUS_REVISIONS } from '../../link/addons.ts';
import type { WorkerPool } from '../../util/worker-pool.ts';
import { isReleaseNotFound, toRelease, type Entry } from './engine-entry.ts';
import type { HelmRunner } from './helm-runner.ts';
import { RELEASE_LABELS } from './release-plan.ts';

/** While a release is not healthy yet, its health is read again this often… */
const PROGRESSING_REFRESH_MS = 5_000;
/** …for this long after its last operation; then at the sweep interval. */
const PROGRESSING_WINDOW_MS = 3 * 60_000;

/** Reads a release's objects and judges their health (release-objects.ts). */
export interface ReleaseObjects<Refs> {
  parse(manifest: string, namespace: string): Refs;
  health(refs: Refs, options: { namespace: string; strict: boolean; signal: AbortSignal; run: <T>(job: () => Promise<T>) => Promise<T> }): Promise<AddonHealth>;
}

export interface ReleaseReaderOptions<Refs> {
  helm: HelmRunner;
  /** Helm reads (history, metadata, manifest). */
  reads: WorkerPool;
  /** The objects' GETs of a health check. */
  objectReads: WorkerPool;
  objects: ReleaseObjects<Refs>;
  signal: AbortSignal;
  now: () => number;
}

export class ReleaseReader<Refs> {
  private readonly options: ReleaseReaderOptions<Refs>;

  constructor(options: ReleaseReaderOptions<Refs>) {
    this.options = options;
  }

  /** Reads the release's current revision and labels into the entry; no release leaves `release` null. */
  async read(entry: Entry<Refs>): Promise<void> {
    const { helm, reads, signal } = this.options;
    const { name, spec } = entry.desired;
    // The desired namespace: a release the add-on left in another one is the reconcile loop's to clean up.
    const namespace = spec.namespace;
    // Both at once: each is a helm process of its own, and the release is read before and after every operation.
    const [metaRead, historyRead] = await Promise.allSettled([
      reads.run(() => helm.metadata(name, namespace, signal)),
      reads.run(() => helm.history(name, namespace, MAX_STATUS_REVISIONS, signal)),
    ]);
    if (metaRead.status === 'rejected') {
      if (!isReleaseNotFound(metaRead.reason)) throw metaRead.reason;
      entry.release = null;
      entry.releaseDigest = undefined;
      entry.history = [];
      return;
    }
    if (historyRead.status === 'rejected') throw historyRead.reason;
    const meta = metaRead.value;
    const history = historyRead.value;
    entry.history = history.map((r) => ({ ...r }));
    const current = history.find((r) => r.revision === meta.revision);
    entry.release = toRelease(meta, current?.description ?? '');
    entry.releaseDigest = meta.labels[RELEASE_LABELS.digest];
  }

  /** The current revision's manifest (`helm get manifest`). */
  manifest(entry: Entry<Refs>): Promise<string> {
    const namespace = entry.release?.namespace ?? entry.desired.spec.namespace;
    return this.options.reads.run(() => this.options.helm.manifest(entry.desired.name, namespace, undefined, this.options.signal));
  }

  /**
   * Reads the health of the release's objects into the entry, reading the
   * manifest again only when the revision changed. Returns the manifest when
   * it read it, and when to look again while a recent operation's objects
   * are not healthy yet.
   */
  async refresh(entry: Entry<Refs>): Promise<{ manifest?: string; recheckInMs?: number }> {
    const release = entry.release;
    if (release === null) {
      entry.health = null;
      entry.refs = undefined;
      return {};
    }
    let manifest: string | undefined;
    if (entry.refs?.revision !== release.revision) {
      manifest = await this.manifest(entry);
      entry.refs = { revision: release.revision, refs: this.options.objects.parse(manifest, release.namespace) };
    }
    entry.health = await this.options.objects.health(entry.refs.refs, {
      namespace: release.namespace, strict: entry.desired.spec.strictHealthCheck, signal: this.options.signal, run: (job) => this.options.objectReads.run(job),
    });
    const recheck = !entry.health.healthy && this.options.now() - entry.lastOperationAt < PROGRESSING_WINDOW_MS;
    return { ...(manifest === undefined ? {} : { manifest }), ...(recheck ? { recheckInMs: PROGRESSING_REFRESH_MS } : {}) };
  }
}
