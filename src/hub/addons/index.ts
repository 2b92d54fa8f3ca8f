// The public surface of add-ons on the hub (specs, delivery to agents, their
// statuses, manual operations), for the store, the API routes, the gateway and the CLI.
export { checkDependencies, checkNoDependents, type DependencyGraph } from './dependencies.ts';
export { AddonSpecError } from '../../domain/addon-spec/fields.ts';
export { KeyedQueue } from './keyed-queue.ts';
export type { IgnoreRule, IgnoreTarget, RetryPolicy, SyncPolicy, SyncWindow } from '../../domain/addon-spec/policy.ts';
export type { ChartSource, GitSource, OciSource, RepoSource } from '../../domain/addon-spec/source.ts';
export { checkAddonName, parseAddonSpec, type AddonSpec } from '../../domain/addon-spec/spec.ts';
export { AddonPusher, desiredSetOf, type AddonPushOutcome } from './push.ts';
export { AddonStatusError, MAX_STORED_STATUS_BYTES, parseAddonStatus } from './status.ts';
export { AddonStatusRecorder, type AddonStatusOutcome } from './status-recorder.ts';
export {
  ADDON_OPERATION_TIMEOUT_MS, checkSyncBody, forwardAddonOperation, operationOutcomeOf, parseRollbackBody,
  type AddonAction, type AddonOperationOutcome, type OperationLink,
} from './operations.ts';
