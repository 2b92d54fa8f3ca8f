// The desired add-ons on the wire: what the hub tells an agent its cluster
// should run. The hub pushes the cluster's whole set (deleted markers
// included) when the agent links and after every change; the agent keeps
// the newest set it was given in its own namespace, so it still has it while
// the hub is unreachable and after a restart.
//
// The spec type is the hub's, imported as a type only: it is erased at
// runtime, so no hub code reaches the agent, and the two ends cannot drift.
import type { AddonSpec } from '../hub/addons/spec.ts';

/** Paths on the agent for desired add-ons. */
export const ADDON_PATHS = {
  /**
   * PUT DesiredAddonSet: replace the set the agent holds. Answers:
   * 204 once the set is durable (also for a set of the generation it holds);
   * 400 `{error: {code: 'DESIRED_ADDONS_INVALID', message}}` naming the bad field;
   * 413 when the body is over MAX_DESIRED_ADDONS_BYTES;
   * 409 `{error: {code: 'DESIRED_ADDONS_STALE', …}, generation}` when the
   * agent holds a newer set (the pushed one is ignored);
   * 500 when the set could not be stored (the hub retries).
   *
   * GET: the DesiredAddonSet the agent holds (200), or 404 when it holds none.
   */
  desired: '/v1/addons/desired',
} as const;

/** Largest desired set the agent reads; 500 add-ons with sizeable values fit. */
export const MAX_DESIRED_ADDONS_BYTES = 16 * 1024 * 1024;

/** The spec as the hub stores it, every default filled in. */
export type DesiredAddonSpec = AddonSpec;

/** One add-on of the set: its spec and where it is in its history. */
export interface DesiredAddon {
  /** The add-on's name, which is the Helm release name. */
  name: string;
  /** The add-on's own generation on the hub: 1 on creation, +1 per change, never back. */
  generation: number;
  /** True once deleted on the hub: the release is to be uninstalled. */
  deleted: boolean;
  spec: DesiredAddonSpec;
}

/**
 * A cluster's whole desired set. `generation` is the sum of the add-ons'
 * generations: every change (spec, delete, re-create) adds one to exactly one
 * add-on and the hub keeps deleted rows, so the sum goes up on every change
 * and never back, needs no counter of its own and survives hub restarts. (If
 * deleted rows are ever purged, the hub needs a per-cluster counter instead.)
 */
export interface DesiredAddonSet {
  generation: number;
  /** By name. */
  addons: DesiredAddon[];
}

/** The set-generation of a list of add-ons (see DesiredAddonSet). */
export function desiredSetGeneration(addons: readonly Pick<DesiredAddon, 'generation'>[]): number {
  return addons.reduce((sum, addon) => sum + addon.generation, 0);
}
