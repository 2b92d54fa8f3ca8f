// Public surface of the agent's Helm engine (DESIGN section 5). So far: the
// health of a release's objects and the bounded helm runner with its error
// classification; sources, drift, prune, windows and the sweep come next.
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
  DESIRED_ADDONS_FILE, DESIRED_ADDONS_SECRET, FileDesiredAddonsStore, SecretDesiredAddonsStore, type DesiredAddonsStore,
} from './desired-store.ts';
