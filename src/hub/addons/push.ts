// Pushes each linked cluster's desired add-ons to its agent: the whole set,
// deleted markers included, when the agent links and after every change
// (the push itself, coalescing and retries: ../desired-push.ts).
import { ADDON_PATHS, desiredSetGeneration, type DesiredAddonSet } from '../../link/addons.ts';
import {
  DESIRED_PUSH_RETRY_MAX_MS, DESIRED_PUSH_RETRY_MIN_MS, DESIRED_PUSH_TIMEOUT_MS, DesiredPusher, type DesiredPushOutcome, type DesiredPusherOptions,
} from '../desired-push.ts';
import type { AddonRecord } from '../store/index.ts';

/** How long one push may take before it counts as failed; stores on the agent may be a Secret write. */
export const ADDON_PUSH_TIMEOUT_MS = DESIRED_PUSH_TIMEOUT_MS;
/** Retry backoff of failed pushes while the agent stays linked. */
export const ADDON_PUSH_RETRY_MIN_MS = DESIRED_PUSH_RETRY_MIN_MS;
export const ADDON_PUSH_RETRY_MAX_MS = DESIRED_PUSH_RETRY_MAX_MS;

/** How a push ended: `refused` is a 4xx (a bad or stale set, not retried), `failed` is retried. */
export type AddonPushOutcome = DesiredPushOutcome;

export interface AddonPusherOptions extends Omit<DesiredPusherOptions<DesiredAddonSet>, 'what' | 'path' | 'read' | 'size'> {
  /** The cluster's add-on rows, deleted ones included. */
  listAddons: (clusterId: string) => Promise<AddonRecord[]>;
}

/** The wire form of a cluster's add-on rows. */
export function desiredSetOf(addons: readonly AddonRecord[]): DesiredAddonSet {
  const list = [...addons]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((a) => ({ name: a.name, generation: a.generation, deleted: a.deletedAt !== null, spec: a.spec }));
  return { generation: desiredSetGeneration(list), addons: list };
}

/** The desired add-ons' pusher: a DesiredPusher of each cluster's add-on rows. */
export class AddonPusher extends DesiredPusher<DesiredAddonSet> {
  constructor(options: AddonPusherOptions) {
    const { listAddons, ...rest } = options;
    super({
      ...rest, what: 'add-ons', path: ADDON_PATHS.desired,
      read: async (clusterId) => desiredSetOf(await listAddons(clusterId)),
      size: (set) => set.addons.length,
    });
  }
}
