// Public surface of the agent's Helm engine (docs/addons.md, "How the agent
// applies add-ons"): the health of a release's objects and the bounded helm
// runner with its error classification.
export {
  aggregateHealth, assessHealth, HEALTH_SEVERITY,
  type Health, type HealthOptions, type HealthStatus, type MissingObject, type ObjectHealth, type ReleaseHealth,
} from './health.ts';
export { classifyHelmError, type HelmFailure, type HelmFailureCode } from './helm-errors.ts';
export {
  HelmError, HelmRunner, DEFAULT_HELM_TIMEOUT_MS, HELM_READ_TIMEOUT_MS,
  type HelmCommandOptions, type HelmListEntry, type HelmReleaseStatus, type HelmRevision, type HelmRunnerOptions,
} from './helm-runner.ts';
export { DesiredAddons, receiveDesiredAddons, serveDesiredAddons, type ReplaceOutcome } from './desired-addons.ts';
export { DesiredAddonsError, parseDesiredAddonSet } from './desired-set.ts';
export {
  DESIRED_ADDONS_SECRET, desiredAddonsFileFor, FileDesiredAddonsStore, SecretDesiredAddonsStore, type DesiredAddonsStore,
} from './desired-store.ts';
export {
  DEFAULT_READ_CONCURRENCY, DISCOVERY_TTL_MS, KindNotServedError, KindResolver, MAX_RELEASE_OBJECTS_READ, ReleaseManifestError,
  parseManifest, readReleaseHealth,
  type KindLocation, type KindResolverOptions, type Limiter, type ReadReleaseHealthOptions, type ReleaseKube, type ReleaseObjectRef,
} from './release-objects.ts';
export {
  ChartSourceError, ChartSources, DEFAULT_GIT_USERNAME,
  type ChartSource, type ChartSourceFailure, type ChartSourceOptions, type GitTrees, type ResolvedChart,
} from './chart-source.ts';
export { AddonOperationError } from './engine-entry.ts';
export {
  AddonEngine, DEFAULT_READ_WORKERS, DEFAULT_SWEEP_INTERVAL_MS, DEFAULT_WRITE_WORKERS,
  type AddonEngineOptions, type ReleaseObjects, type ResolveChart,
} from './engine.ts';
export { RELEASE_LABELS, specDigest } from './release-plan.ts';
export { isSopsEncrypted, SopsDecrypter, SopsError, type SopsFailureReason } from './sops.ts';
export { SyncWindowError, WINDOW_SEARCH_DAYS, windowState, type WindowState } from './sync-window.ts';
