// The public surface of add-on specs, for the store, the API routes and the CLI.
export { checkDependencies, checkNoDependents, type DependencyGraph } from './dependencies.ts';
export { AddonSpecError } from './fields.ts';
export { KeyedQueue } from './keyed-queue.ts';
export type { IgnoreRule, IgnoreTarget, RetryPolicy, SyncPolicy, SyncWindow } from './policy.ts';
export type { ChartSource, GitSource, OciSource, RepoSource } from './source.ts';
export { checkAddonName, parseAddonSpec, type AddonSpec } from './spec.ts';
export { AddonPusher, desiredSetOf, type AddonPushOutcome } from './push.ts';
